"""The ``spinnaker`` and ``spinnaker2`` targets: PyNN network, sPyNNaker placement, NEST reference.

Nothing here imports PyNN, sPyNNaker or NEST at import time: they run in child processes
(``pynn_network.py``), so a missing or broken toolchain never breaks the CLI.
"""
