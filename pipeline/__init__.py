"""The CLI, the run directory, stage orchestration and the handoff bundle."""
