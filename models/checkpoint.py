"""Saving and loading weights and training checkpoints (``torch.load(weights_only=True)`` only)."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from neuropipe.core.errors import ModelError
from neuropipe.core.files import write_bytes_atomic
from neuropipe.core.rundir import RunDir
from neuropipe.models.records import TrainConfig
from neuropipe.models.zoo import ModelOptions, build_model


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` ``obj`` to ``path`` through a temporary file and a rename.

    The bytes are made in memory first: torch's own writer turns a full disk into a
    ``RuntimeError`` (``unexpected pos``), a plain write gives the ``OSError`` (ENOSPC) that
    names the destination.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def load_safely(path: Path) -> Any:
    """Load a torch file with ``weights_only=True`` (tensors and plain containers only).

    Raises:
        ModelError: If the file is missing, corrupt, or holds anything but weights.
    """
    if not path.is_file():
        raise ModelError(f"{path} is missing: train the model first ('neuropipe train')")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile,
            pickle.UnpicklingError) as e:
        # torch's own message suggests weights_only=False, which this project never does.
        raise ModelError(f"{path} is corrupt or not a weights-only checkpoint "
                         f"({type(e).__name__}); re-run training with --force") from e


def model_options(config: TrainConfig) -> ModelOptions:
    """The model-shaping options of a training configuration."""
    return ModelOptions(timesteps=config.timesteps, encoding=config.encoding,
                        neuron=config.neuron, hidden=config.hidden, modules=config.modules,
                        tau_mem=config.tau_mem,
                        channels=None if config.channels is None else tuple(config.channels),
                        batch_norm=config.batch_norm)


def load_trained(run: RunDir) -> tuple[nn.Module, TrainConfig]:
    """Rebuild the trained model of a run from ``config.json`` and ``model.pt``.

    Raises:
        RunDirError: If the configuration is missing or unreadable.
        ModelError: If the weights are missing, corrupt, or do not fit the model.
    """
    config = TrainConfig.read(run.config)
    model = build_model(config.model, model_options(config))
    state = load_safely(run.model)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise ModelError(f"{run.model} does not fit model '{config.model}': re-run training "
                         "with --force") from e
    model.eval()
    return model, config
