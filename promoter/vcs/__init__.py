"""Adapters for the version-control tools promoter drives: git (and, beside it, dvc)."""
