"""Deployment targets: one module per backend, all consuming the same NIR graph.

Backends import their SDKs (Lava, NVML, ...) inside their own modules, never here, so that a
missing or broken SDK cannot break ``neuropipe --help``.
"""
