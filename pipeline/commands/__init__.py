"""One module per CLI verb: each builds a typed config and calls a stage function."""
