"""The promotion pipeline: merge, plan, build the branch, store the model, record, verify."""
