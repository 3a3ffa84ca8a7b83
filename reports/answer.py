"""The report's answer: at equal accuracy, is the bio-inspired network cheaper, level by level?

For each level, the cheapest bio-inspired configuration (network ``snn``) reaching the threshold
is set against the cheapest conventional one (network ``ann``) at that level; at chip level only
configurations whose whole inference runs on the device take part (a spiking network whose first
layer is computed on the host is named and left out). The sentences are generated from these
numbers, never written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neuropipe.core.records import Record
from neuropipe.reports.spike_ties import FIXED_EXCEEDS, TIES, is_spike_term, tie
from neuropipe.reports.uncertainty import wilson_interval

if TYPE_CHECKING:
    from neuropipe.reports.rows import ConfigRow, EstimateRow


@dataclass
class AnswerLine(Record):
    """One level of the answer: the cheapest of each side, the ratio, and what decides it.

    Attributes:
        level: The level.
        bio: ``run on target`` of the cheapest bio-inspired configuration ("": none).
        bio_accuracy: Its accuracy.
        bio_j: Its figure at this level.
        bio_cost_model: Cost model of that figure.
        conventional: ``run on target`` of the cheapest conventional configuration ("": none).
        conventional_accuracy: Its accuracy.
        conventional_j: Its figure at this level.
        conventional_cost_model: Cost model of that figure.
        ratio: ``bio_j / conventional_j`` (None: no pair).
        fact: What decides it (static power, neuron updates, spike rate vs break-even rate).
        reason: Why there is no pair ("" when there is one).
        excluded: Configurations left out at this level (inference not wholly on the device).
    """

    type_tag = "report-answer-line"
    level: str = ""
    bio: str = ""
    bio_accuracy: float | None = None
    bio_j: float | None = None
    bio_cost_model: str = ""
    conventional: str = ""
    conventional_accuracy: float | None = None
    conventional_j: float | None = None
    conventional_cost_model: str = ""
    ratio: float | None = None
    fact: str = ""
    reason: str = ""
    excluded: list[str] = field(default_factory=list)


@dataclass
class Answer(Record):
    """The answer section: sentences a researcher can quote, and the numbers behind them.

    Attributes:
        threshold: The equal-accuracy threshold (fraction).
        test: How equal accuracy is decided (see ``neuropipe.reports.uncertainty``).
        admitted: Configurations below the threshold admitted within their interval, in words.
        lines: One per level shown.
        sentences: The answer, in order.
    """

    type_tag = "report-answer"
    threshold: float = 0.0
    test: str = ""
    admitted: list[str] = field(default_factory=list)
    lines: list[AnswerLine] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)


def build_answer(configs: list[ConfigRow], threshold: float, levels: list[str]) -> Answer:
    """The answer at ``threshold`` for each of ``levels``."""
    from neuropipe.reports.comparison import cheapest, reaches, reaches_exactly
    from neuropipe.reports.uncertainty import TEST

    equal = [c for c in configs if reaches(c, threshold)]
    admitted = [_admitted(c) for c in equal if not reaches_exactly(c, threshold)]
    lines = []
    for level in levels:
        line = AnswerLine(level=level)
        whole = [c for c in equal if c.whole_at(level)]
        line.excluded = [c.label for c in equal if c not in whole and c.at_level(level)
                         and not c.conventional]
        bio = cheapest([c for c in whole if not c.conventional], level)
        conv = cheapest([c for c in whole if c.conventional], level)
        if bio is not None:
            line.bio, line.bio_accuracy = bio[0].label, bio[0].accuracy
            line.bio_j, line.bio_cost_model = bio[1].figure_j, bio[1].cost_model
        if conv is not None:
            line.conventional, line.conventional_accuracy = conv[0].label, conv[0].accuracy
            line.conventional_j, line.conventional_cost_model = (conv[1].figure_j,
                                                                 conv[1].cost_model)
        if bio is not None and conv is not None and conv[1].figure_j > 0:
            line.ratio = bio[1].figure_j / conv[1].figure_j
            line.fact = decisive_fact(bio[0], bio[1], conv[1].figure_j)
        else:
            line.reason = _no_pair(configs, equal, line, level)
        lines.append(line)
    return Answer(threshold=threshold, test=TEST, admitted=admitted, lines=lines,
                  sentences=_sentences(threshold, admitted, lines))


def decisive_fact(config: ConfigRow, estimate: EstimateRow, baseline_j: float) -> str:
    """The one fact that decides the comparison of ``config``'s figure with ``baseline_j``."""
    figure = estimate.figure_j
    if figure > 0 and estimate.static_j >= 0.5 * figure:
        return (f"static power is {estimate.static_j / figure:.0%} of its figure, whatever it "
                "computes")
    t = tie(config, estimate, baseline_j)
    fixed = {n: j for n, j in estimate.terms.items() if not is_spike_term(n)}
    if t.verdict == FIXED_EXCEEDS:
        from neuropipe.reports.comparison import joules_text as j

        top = max(fixed, key=fixed.__getitem__) if fixed else ""
        share = (f" ({top.replace('_', ' ')}: {fixed[top] / t.fixed_j:.0%} of them)"
                 if top and t.fixed_j > 0 else "")
        return (f"its terms that do not scale with spikes already cost {j(t.fixed_j)}{share}, "
                f"more than the conventional {j(baseline_j)}: no spike rate would tie")
    if t.verdict == TIES and t.tie_rate is not None and t.rate is not None:
        side = "below" if t.rate < t.tie_rate else "above"
        return (f"it fires {t.rate:.3g} spikes per synapse per inference, {side} the "
                f"break-even rate of {t.tie_rate:.3g}")
    if estimate.terms and figure > 0:
        name = max(estimate.terms, key=estimate.terms.__getitem__)
        return f"{name} is {estimate.terms[name] / figure:.0%} of its figure"
    return "no breakdown of its figure is recorded"


def _admitted(config: ConfigRow) -> str:
    low, high = wilson_interval(config.accuracy, config.samples)
    return (f"{config.label} ({config.accuracy:.2%} on {config.samples:,} images, 95% interval "
            f"{low:.2%}–{high:.2%})")


def _no_pair(configs: list[ConfigRow], equal: list[ConfigRow], line: AnswerLine, level: str
             ) -> str:
    """Why ``level`` has no pair, in one line."""
    from neuropipe.reports.comparison import joules_text as j

    reasons = []
    if not line.bio:
        if line.excluded:
            hosts = [c for c in equal if c.label in line.excluded]
            parts = [f"{c.label}: {j(e.figure_j)} on the chip, {j(e.off_level_j)} for its "
                     f"first layer on the host" for c in hosts
                     if (e := c.at_level(level)) is not None]
            reasons.append(f"no bio-inspired inference runs wholly on a chip ({'; '.join(parts)})")
        elif any(not c.conventional and c.at_level(level) for c in configs):
            reasons.append(f"no bio-inspired configuration with a {level}-level figure reaches "
                           "equal accuracy")
        else:
            reasons.append(f"no bio-inspired configuration has a {level}-level figure")
    if not line.conventional:
        if any(c.conventional and c.at_level(level) for c in configs):
            reasons.append(f"no conventional configuration with a {level}-level figure reaches "
                           "equal accuracy")
        else:
            hint = (" (deploy the ANN on asic, or on loihi with --encoding sdnn)"
                    if level == "chip" else "")
            reasons.append(f"no conventional configuration has a {level}-level figure{hint}")
    if line.bio and line.conventional:  # both sides found: the conventional figure is 0 J
        reasons.append(f"the cheapest conventional configuration, {line.conventional}, has a "
                       f"{level}-level figure of 0 J: no ratio")
    return "; and ".join(reasons)


def _sentences(threshold: float, admitted: list[str], lines: list[AnswerLine]) -> list[str]:
    from neuropipe.reports.comparison import joules_text as j

    out = [f"Equal accuracy means at least {threshold:.2%} on the test images, or short of it "
           "by less than the Wilson 95% interval of the accuracy"
           + (f" (admitted so: {'; '.join(admitted)})." if admitted else
              " (no configuration needed that margin).")]
    for ln in lines:
        if ln.ratio is None:
            out.append(f"At {ln.level} level there is no pair: {ln.reason}.")
            continue
        word = "cheaper" if ln.ratio < 1 else "dearer" if ln.ratio > 1 else "the same"
        out.append(f"At {ln.level} level the cheapest bio-inspired configuration, {ln.bio} "
                   f"({ln.bio_accuracy:.2%}), uses {j(ln.bio_j or 0)} per inference against "
                   f"{j(ln.conventional_j or 0)} for the cheapest conventional one, "
                   f"{ln.conventional} ({ln.conventional_accuracy:.2%}): {ln.ratio:.3g}×, "
                   f"{word}; {ln.fact}.")
    cheaper = [ln.level for ln in lines if ln.ratio is not None and ln.ratio < 1]
    dearer = [ln.level for ln in lines if ln.ratio is not None and ln.ratio >= 1]
    if cheaper or dearer:
        out.append("So, at equal accuracy, the bio-inspired network is "
                   + "; ".join(part for part in (
                       f"cheaper at {_levels(cheaper)}" if cheaper else "",
                       f"not cheaper at {_levels(dearer)}" if dearer else "") if part) + ".")
    return out


def _levels(levels: list[str]) -> str:
    """``chip level``, ``arithmetic and system levels``..."""
    if len(levels) == 1:
        return f"{levels[0]} level"
    return f"{', '.join(levels[:-1])} and {levels[-1]} levels"
