"""The Guild-merge: plan the copies from a run into the project, then apply them."""
