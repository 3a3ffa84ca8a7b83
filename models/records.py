"""Records that training writes into a run directory: its configuration and its metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from neuropipe.core.records import Record


@dataclass
class TrainConfig(Record):
    """Everything that determines a training run (``config.json``).

    Attributes:
        model: Registered model name.
        dataset: ``mnist`` or ``fashion-mnist``.
        data_dir: IDX directory, or None for the default source.
        epochs: Epochs to train.
        batch_size: Samples per optimiser step.
        lr: Peak Adam learning rate of the one-cycle schedule (Smith & Topin 2019).
        label_smoothing: Label smoothing of the cross-entropy loss.
        timesteps: Steps per sample (spiking models).
        encoding: Input encoding of spiking models.
        neuron: Neuron model of spiking models.
        seed: Seed of initialisation, shuffling and input spikes.
        device: ``cpu`` or ``cuda``.
        limit_train: Use only the first N training samples (None: all).
        limit_test: Use only the first N test samples (None: all).
        hidden: Hidden width of mlp and snn-mlp (None: the model's default, 256 and 512).
        rate_penalty: Weight of the spike-rate term of surrogate-gradient spiking models: the
            loss gains ``rate_penalty`` times the mean spikes per neuron per step of the hidden
            layers (0: none).
        modules: Modules the hidden layer of snn-mlp is split into (1: dense; see
            ``models.modular``).
        tau_mem: Membrane time constant in steps of the LIF neurons of surrogate-gradient
            spiking models (None: not one of them). Configurations written before it existed
            had 5 for every model.
        shift: Training augmentation: each training image is moved by a random whole number
            of pixels in ``[-shift, shift]`` along each axis, new draws every epoch (0: none).
        channels: Output channels of snn-cnn's two convolutions (None: not snn-cnn, or a run
            saved before the option: the default 16 and 32).
        batch_norm: snn-cnn: batch norm after each convolution in training, folded into the
            convolution at export.
    """

    type_tag = "train-config"
    model: str = "mlp"
    dataset: str = "mnist"
    data_dir: str | None = None
    epochs: int = 1
    batch_size: int = 32
    lr: float = 5e-3
    label_smoothing: float = 0.1
    timesteps: int = 16
    encoding: str = "constant"
    neuron: str = "lif"
    seed: int = 0
    device: str = "cpu"
    limit_train: int | None = None
    limit_test: int | None = None
    hidden: int | None = None
    rate_penalty: float = 0.0
    modules: int = 1
    tau_mem: float | None = None
    shift: int = 0
    channels: list[int] | None = None
    batch_norm: bool = False

    # Fields added after configurations were first written, with the value that reproduces
    # what runs without them did: an older config.json still loads (and resumes) as it was.
    ADDED_LATER: ClassVar[dict[str, Any]] = {"hidden": None, "rate_penalty": 0.0,
                                             "modules": 1, "tau_mem": 5.0, "shift": 0,
                                             "channels": None, "batch_norm": False}

    def same_training(self, other: TrainConfig) -> list[str]:
        """Return the fields (other than ``epochs``) in which ``other`` differs from this one."""
        mine, theirs = self.to_dict(), other.to_dict()
        return [k for k in mine if k != "epochs" and mine[k] != theirs.get(k)]


@dataclass
class EpochMetrics(Record):
    """Figures of one epoch.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: Mean training loss.
        train_accuracy: Accuracy on the training batches seen (fraction).
        test_accuracy: Accuracy on the test set after the epoch (fraction).
        wall_time_s: Time of the training pass.
        samples_per_s: Training samples per second.
    """

    type_tag = "epoch-metrics"
    epoch: int = 0
    train_loss: float = 0.0
    train_accuracy: float = 0.0
    test_accuracy: float = 0.0
    wall_time_s: float = 0.0
    samples_per_s: float = 0.0


@dataclass
class TrainMetrics(Record):
    """Accuracy and speed of a training run (``metrics.json``); energy lives in ``energy.json``.

    Attributes:
        model: Model name.
        kind: ``ann`` or ``snn``.
        dataset: Dataset name and source.
        test_accuracy: Final test accuracy (fraction).
        train_samples: Training samples per epoch.
        test_samples: Test samples evaluated.
        parameters: Trainable parameters.
        wall_time_s: Total training time over all epochs (resumed sessions included).
        samples_per_s: Mean training throughput.
        epochs: Per-epoch figures.
        device: Device used.
        versions: Versions of torch and the modelling library.
        learning: How the weights were learned: ``backprop``, or the model's local rule
            (``stdp``, ``ridge``).
        figures: Figures a model states of itself on the test images (``lca``: dictionary
            size, active units per image, spikes per inference; see ``LocalLearner.figures``).
    """

    type_tag = "train-metrics"
    model: str = ""
    kind: str = ""
    dataset: str = ""
    test_accuracy: float = 0.0
    train_samples: int = 0
    test_samples: int = 0
    parameters: int = 0
    wall_time_s: float = 0.0
    samples_per_s: float = 0.0
    epochs: list[EpochMetrics] = field(default_factory=list)
    device: str = "cpu"
    versions: dict[str, str] = field(default_factory=dict)
    learning: str = "backprop"
    figures: dict[str, float] = field(default_factory=dict)

    # Added after metrics were first written: runs from before it all learned by backprop.
    ADDED_LATER: ClassVar[dict[str, Any]] = {"learning": "backprop", "figures": {}}
