"""Stage functions: each orchestrates one verb over the run directory and stays short."""
