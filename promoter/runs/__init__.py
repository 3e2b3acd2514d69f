"""Where runs come from: the run-store interface, its registry and one package per store."""
