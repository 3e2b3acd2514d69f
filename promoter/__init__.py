"""promoter: turn the best Guild AI training run into a reviewed pull request."""

__version__ = "0.1.0"
