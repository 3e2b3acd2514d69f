"""Forges: where promotion pull requests are opened (local files, GitHub, GitLab)."""
