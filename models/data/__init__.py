"""Datasets: reading IDX files, the packaged MNIST, and resolving which source to use."""
