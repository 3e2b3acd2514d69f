"""MLflow runs as a run store: a tracking server over HTTP, or a local ``mlruns/`` or
``sqlite:`` store. ``mlflow`` is imported only when a config says ``source.type: mlflow``."""
