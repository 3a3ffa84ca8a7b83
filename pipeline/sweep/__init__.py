"""``neuropipe sweep``: the accuracy-energy frontier of model families, searched on Ray Tune.

``spec`` reads the TOML spec, ``trial`` makes one ordinary run directory (train, then convert to
each target), ``search`` runs the trials on Ray with a multi-objective Optuna search,
``pareto`` takes the front per target and ``output`` writes the tables, the plot and the energy
report. Only ``search`` imports Ray, and only when a sweep runs.
"""
