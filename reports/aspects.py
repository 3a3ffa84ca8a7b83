"""The report's aspects view: what each bio-inspired aspect costs or saves against its plain form.

An aspect is one way a compared configuration departs from its model family's plain settings:

- ``spike code``: a spiking model fed poisson, rate or latency spikes (plain: constant input);
- ``sparse activity``: trained with ``--rate-penalty`` > 0 (plain: the same model, penalty 0);
- ``recurrence``: a recurrent reservoir with a closed-form readout (``lsm``);
- ``local learning``: weights learned by a local rule (``stdp``);
- ``forward-only learning``: learned without a backward pass (``forward-forward``);
- ``sparse coding``: a learned dictionary inferred by a spiking LCA (``lca``);
- ``modularity``: a hidden layer split into modules (``--modules`` > 1; plain: dense).

The plain counterpart is the configuration on the same target of the family's plain model
(``snn-mlp`` for spiking models, ``mlp`` for conventional ones; the same model for a rate
penalty or modules) with constant input, no rate penalty, backprop and one module; the most
accurate one when several are compared. For each aspect row: the energy ratio to it at every
level both have a figure at (the figure ``ConfigRow.at_level`` picks, without terms costed at
another level, as the equal-accuracy view counts it: a host first layer is apart), and the
accuracy difference. The rows only read what the deployment records hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neuropipe.core.records import Record
from neuropipe.core.spike_codes import SPIKE_ENCODINGS

if TYPE_CHECKING:  # the comparison module builds this view into its report record
    from neuropipe.reports.rows import ConfigRow

SPIKE_CODE = "spike code"
SPARSE = "sparse activity"
RECURRENCE = "recurrence"
LOCAL = "local learning"
FORWARD_ONLY = "forward-only learning"
MODULARITY = "modularity"
SPARSE_CODING = "sparse coding"
# The plain model of each family (by the trained model's kind).
PLAIN_MODEL = {"snn": "snn-mlp", "ann": "mlp"}
# Models whose very design is an aspect: model name -> (aspect, setting).
MODEL_ASPECTS = {"lsm": (RECURRENCE, "lsm (reservoir, ridge readout)"),
                 "stdp": (LOCAL, "stdp (Diehl & Cook)"),
                 "ff": (FORWARD_ONLY, "forward-forward (Hinton 2022)"),
                 "lca": (SPARSE_CODING, "lca (spiking LCA)")}


@dataclass
class AspectRow(Record):
    """One configuration with an aspect, against its plain counterpart on the same target.

    Attributes:
        aspect: The aspect (``spike code``, ``sparse activity``...).
        setting: Its setting (``latency``, ``rate penalty 0.1``, ``lsm``...).
        run: Run label.
        model: Model name.
        target: Target name.
        accuracy: Accuracy on the target.
        input_spikes: Input spikes per inference (0: analogue input, or not recorded).
        synops: Synaptic events per inference on the device.
        plain_run: Run of the plain counterpart (None: none compared on this target).
        plain_accuracy: Its accuracy.
        plain_input_spikes: Its input spikes per inference.
        plain_synops: Its synaptic events per inference.
        accuracy_diff: ``accuracy - plain_accuracy`` (None without a counterpart).
        ratios: Level -> energy per inference over the counterpart's at that level.
        cost_models: Level -> ``cost model / counterpart's cost model`` of the ratio.
        comment: Why a figure is missing.
    """

    type_tag = "report-aspect"
    aspect: str = ""
    setting: str = ""
    run: str = ""
    model: str = ""
    target: str = ""
    accuracy: float = 0.0
    input_spikes: float = 0.0
    synops: float = 0.0
    plain_run: str | None = None
    plain_accuracy: float | None = None
    plain_input_spikes: float | None = None
    plain_synops: float | None = None
    accuracy_diff: float | None = None
    ratios: dict[str, float] = field(default_factory=dict)
    cost_models: dict[str, str] = field(default_factory=dict)
    comment: str = ""


def aspects_of(c: ConfigRow) -> list[tuple[str, str]]:
    """The aspects ``c`` has, each with its setting (empty: a plain configuration)."""
    found = []
    if c.model in MODEL_ASPECTS:
        found.append(MODEL_ASPECTS[c.model])
    elif c.learning == "forward-forward":
        found.append((FORWARD_ONLY, c.learning))
    if c.kind == "snn" and c.encoding in SPIKE_ENCODINGS and c.model not in MODEL_ASPECTS:
        found.append((SPIKE_CODE, c.encoding))
    if c.rate_penalty > 0:
        found.append((SPARSE, f"rate penalty {c.rate_penalty:g}"))
    if c.modules > 1:
        found.append((MODULARITY, f"{c.modules} modules"))
    return found


def is_plain(c: ConfigRow, encodings: tuple[str, ...] = ("constant", "analogue", "")) -> bool:
    """Whether ``c`` has its model's plain settings (constant input, no penalty, backprop...)."""
    return (c.encoding in encodings and c.rate_penalty == 0 and c.modules <= 1
            and c.learning in ("backprop", ""))


def plain_counterpart(c: ConfigRow, aspect: str, configs: list[ConfigRow]) -> ConfigRow | None:
    """The most accurate plain configuration of ``c``'s family on ``c``'s target."""
    if aspect in (SPARSE, MODULARITY, SPIKE_CODE) and c.model not in MODEL_ASPECTS:
        model = c.model
    else:
        model = PLAIN_MODEL.get(c.kind, c.model)
    encodings = ("constant", "analogue", "")
    if c.kind == "ann" and c.encoding not in encodings:  # e.g. sdnn: meets mlp run that way
        encodings = (c.encoding,)
    pool = [p for p in configs if p.target == c.target and p.model == model
            and is_plain(p, encodings) and p is not c]
    return max(pool, key=lambda p: p.accuracy, default=None)


def aspect_rows(configs: list[ConfigRow]) -> list[AspectRow]:
    """Every aspect present among ``configs``, against its plain counterpart, per target."""
    rows = []
    for c in configs:
        for aspect, setting in aspects_of(c):
            base = plain_counterpart(c, aspect, configs)
            row = AspectRow(aspect=aspect, setting=setting, run=c.run, model=c.model,
                            target=c.target, accuracy=c.accuracy, input_spikes=c.input_spikes,
                            synops=c.synops)
            if base is None:
                row.comment = (f"no plain counterpart ({_plain_name(c, aspect)}) compared on "
                               f"{c.target}")
                rows.append(row)
                continue
            row.plain_run, row.plain_accuracy = base.run, base.accuracy
            row.plain_input_spikes, row.plain_synops = base.input_spikes, base.synops
            row.accuracy_diff = c.accuracy - base.accuracy
            off_level = False
            for level in c.levels:
                mine, theirs = c.at_level(level), base.at_level(level)
                if mine is None or theirs is None or theirs.figure_j <= 0:
                    continue
                row.ratios[level] = mine.figure_j / theirs.figure_j
                row.cost_models[level] = f"{mine.cost_model} / {theirs.cost_model}"
                off_level |= mine.off_level_j > 0 or theirs.off_level_j > 0
            if not row.ratios:
                row.comment = "no level at which both have a figure"
            elif off_level:
                row.comment = ("work done on the host at another level (a first layer fed "
                               "analogue pixels) is left out of the ratio at that level")
            rows.append(row)
    order = [SPIKE_CODE, SPARSE, MODULARITY, RECURRENCE, LOCAL, FORWARD_ONLY, SPARSE_CODING]
    return sorted(rows, key=lambda r: (order.index(r.aspect) if r.aspect in order else 99,
                                       r.target, r.setting, r.run))


def _plain_name(c: ConfigRow, aspect: str) -> str:
    model = c.model if aspect in (SPARSE, MODULARITY, SPIKE_CODE) and \
        c.model not in MODEL_ASPECTS else PLAIN_MODEL.get(c.kind, c.model)
    return f"{model}, constant input, no rate penalty, backprop"
