"""Errors, atomic files, records and the run directory: what every other package may import.

``neuropipe.core`` imports none of ``pipeline``, ``models``, ``targets`` or ``reports``.
"""
