"""The ``asic`` target: one hypothetical 45 nm digital accelerator for ANNs and SNNs alike."""
