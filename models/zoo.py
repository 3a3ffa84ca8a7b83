"""The registry of model names: what ``neuropipe train MODEL`` accepts and how each is built."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from neuropipe.core.errors import InputError, ModelError
from neuropipe.models import ann, forward_forward, lca, lsm, snn, stdp
from neuropipe.models.encoding import ENCODINGS
from neuropipe.models.modular import MAX_MODULES


@dataclass(frozen=True)
class ModelOptions:
    """Options that shape a model (spiking ones only use the spiking fields).

    Attributes:
        timesteps: Simulation steps per sample.
        encoding: Input encoding (``constant`` or ``poisson``).
        neuron: Neuron model (``lif`` or ``cuba``).
        hidden: Hidden width of models that have one (None: the model's ``default_hidden``).
        modules: Modules the hidden layer is split into (models with ``modular``; 1: dense).
        tau_mem: Membrane time constant in steps (models with ``default_tau``; None: theirs).
        channels: Output channels of the two convolutions (models with ``default_channels``;
            None: the model's).
        batch_norm: Batch norm after each convolution in training, folded into the
            convolution at export (models with ``default_channels``).
    """

    timesteps: int = 16
    encoding: str = "constant"
    neuron: str = "lif"
    hidden: int | None = None
    modules: int = 1
    tau_mem: float | None = None
    channels: tuple[int, int] | None = None
    batch_norm: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """One registered model.

    Attributes:
        name: The CLI name.
        kind: ``ann`` (conventional) or ``snn`` (spiking).
        description: One line for help and reports.
        build: Builds a fresh, untrained module from options.
        default_lr: Peak learning rate used when ``--lr`` is not given (found by sweeps).
        default_hidden: Hidden width when ``--hidden`` is not given; None for models whose
            width ``--hidden`` does not set.
        learning: ``backprop`` (Adam on a loss through ``training.train_epoch``) or a local
            rule the model runs itself (``ridge``, ``stdp``: see ``LocalLearner``).
        default_timesteps: Steps per sample when ``--timesteps`` is not given.
        default_encoding: Input encoding when ``--encoding`` is not given.
        encodings: The encodings the model accepts.
        modular: Whether ``--modules`` splits its hidden layer.
        default_tau: Membrane time constant in steps when ``--tau-mem`` is not given; None for
            models whose time constant ``--tau-mem`` does not set.
        default_shift: Training augmentation ``--shift`` when it is not given (pixels).
        default_channels: Output channels of the two convolutions when ``--channels`` is not
            given; None for models without the option.
    """

    name: str
    kind: str
    description: str
    build: Callable[[ModelOptions], nn.Module]
    default_lr: float = 5e-3
    default_hidden: int | None = None
    learning: str = "backprop"
    default_timesteps: int = 16
    default_encoding: str = "constant"
    encodings: tuple[str, ...] = ("constant", "poisson")
    modular: bool = False
    default_tau: float | None = None
    default_shift: int = 0
    default_channels: tuple[int, int] | None = None

    @property
    def takes_rate_penalty(self) -> bool:
        """Whether ``--rate-penalty`` applies: surrogate-gradient spiking models only."""
        return self.kind == "snn" and self.learning == "backprop"

    def hidden(self, options: ModelOptions) -> int:
        """The hidden width ``options`` ask for, or this model's default."""
        if self.default_hidden is None:
            raise ValueError(f"model '{self.name}' has no hidden width")
        return options.hidden if options.hidden is not None else self.default_hidden

    def channels(self, options: ModelOptions) -> tuple[int, int]:
        """The convolutions' output channels ``options`` ask for, or this model's default."""
        if self.default_channels is None:
            raise ValueError(f"model '{self.name}' has no channels option")
        return options.channels if options.channels is not None else self.default_channels

    def tau(self, options: ModelOptions) -> float:
        """The membrane time constant ``options`` ask for, or this model's default."""
        if self.default_tau is None:
            raise ValueError(f"model '{self.name}' has no membrane time constant option")
        return options.tau_mem if options.tau_mem is not None else self.default_tau


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("mlp", "ann", "784-256-10 MLP, ReLU",
                  lambda o: ann.build_mlp(MODELS["mlp"].hidden(o)), default_hidden=256),
        ModelSpec("cnn", "ann", "2 strided conv + 2 linear, ReLU", lambda o: ann.build_cnn()),
        ModelSpec("snn-mlp", "snn", "784-512-10 LIF network, surrogate gradients (norse)",
                  lambda o: snn.build_snn_mlp(o.timesteps, o.encoding, o.neuron,
                                              MODELS["snn-mlp"].hidden(o), modules=o.modules,
                                              tau_mem=MODELS["snn-mlp"].tau(o)),
                  1e-2, default_hidden=512, encodings=ENCODINGS, modular=True, default_tau=5.0),
        ModelSpec("snn-cnn", "snn", "2 strided conv + 2 linear LIF layers, surrogate gradients",
                  lambda o: snn.build_snn_cnn(o.timesteps, o.encoding, o.neuron,
                                              channels=MODELS["snn-cnn"].channels(o),
                                              hidden=MODELS["snn-cnn"].hidden(o),
                                              tau_mem=MODELS["snn-cnn"].tau(o),
                                              batch_norm=o.batch_norm),
                  encodings=ENCODINGS, default_timesteps=8, default_tau=2.0, default_shift=1,
                  default_hidden=128, default_channels=(16, 32)),
        ModelSpec("lsm", "snn", "liquid state machine: 2000 fixed random recurrent LIF, "
                  "ridge readout", lambda o: lsm.LiquidStateMachine(o.timesteps, o.encoding),
                  learning="ridge", encodings=ENCODINGS),
        ModelSpec("stdp", "snn", "Diehl & Cook (2015): 400 LIF, adaptive thresholds, lateral "
                  "inhibition, unsupervised STDP, labelled-group votes",
                  lambda o: stdp.DiehlCook(o.timesteps, o.encoding), learning="stdp",
                  default_timesteps=96, default_encoding="poisson", encodings=("poisson",)),
        ModelSpec("ff", "ann", f"{forward_forward.LAYERS} ReLU layers learned by Forward-Forward "
                  "(Hinton 2022), label in the image, and a closed-form linear readout",
                  lambda o: forward_forward.ForwardForward(MODELS["ff"].hidden(o),
                                                           forward_forward.LAYERS),
                  default_hidden=forward_forward.HIDDEN, learning="forward-forward"),
        ModelSpec("lca", "snn", "sparse coding: a learned dictionary (400 atoms), spiking LCA "
                  "inference (lateral inhibition), ridge readout",
                  lambda o: lca.SparseCoding(o.timesteps, o.encoding, MODELS["lca"].hidden(o)),
                  default_hidden=400, learning="sparse-coding", default_timesteps=32,
                  encodings=ENCODINGS),
    )
}


def modular_models() -> list[str]:
    """The models whose hidden layer ``--modules`` splits."""
    return [name for name, spec in MODELS.items() if spec.modular]


def encoding_models(encoding: str) -> list[str]:
    """The models that can be trained with input ``encoding``."""
    return [name for name, spec in MODELS.items() if encoding in spec.encodings]


def get_spec(name: str) -> ModelSpec:
    """Return the spec of model ``name``.

    Raises:
        ModelError: If the name is not registered; the message lists the models.
    """
    if name not in MODELS:
        raise ModelError(f"unknown model '{name}': choose one of {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, options: ModelOptions | None = None) -> nn.Module:
    """Build an untrained model by name, validating the options.

    Raises:
        ModelError: Unknown model.
        InputError: Invalid options.
    """
    spec = get_spec(name)
    options = options or ModelOptions()
    check_options(options)
    return spec.build(options)


def check_options(options: ModelOptions) -> None:
    """Validate model options.

    Raises:
        InputError: If a value is outside its allowed set; the message names it.
    """
    if options.timesteps < 1:
        raise InputError(f"--timesteps must be at least 1, got {options.timesteps}")
    if options.encoding not in ENCODINGS:
        raise InputError(f"unknown encoding '{options.encoding}': choose "
                         f"{', '.join(ENCODINGS)}")
    if options.modules < 1:
        raise InputError(f"--modules must be at least 1, got {options.modules}")
    if options.modules > MAX_MODULES:
        raise InputError(f"--modules must be at most {MAX_MODULES} (one band of image rows "
                         f"each), got {options.modules}")
    if options.tau_mem is not None and not options.tau_mem > 1:
        raise InputError(f"--tau-mem must be more than 1 step (a decay below 1 per step, which "
                         f"Loihi's 12-bit decay and NEST's exponential can carry), got "
                         f"{options.tau_mem}")
    if options.hidden is not None and options.hidden < 1:
        raise InputError(f"--hidden must be at least 1, got {options.hidden}")
    if options.channels is not None and (len(options.channels) != 2
                                         or min(options.channels) < 1):
        raise InputError(f"--channels takes two channel counts of at least 1 (e.g. 32,64), got "
                         f"{','.join(str(c) for c in options.channels)}")
    if options.neuron not in snn.NEURONS:
        raise InputError(f"unknown neuron model '{options.neuron}': choose one of "
                         f"{', '.join(snn.NEURONS)}")
