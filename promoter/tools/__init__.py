"""Thin wrappers of external command-line tools: git, dvc and the scratch worktree."""
