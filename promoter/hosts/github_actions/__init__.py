"""GitHub Actions: the docker action's inputs, event file, outputs and log commands."""
