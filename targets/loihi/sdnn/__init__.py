"""Loihi 2 sigma-delta networks (SDNN): a conventional ANN run as itself with graded messages."""
