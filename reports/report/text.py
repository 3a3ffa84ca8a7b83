"""The report's tables and sections as text, shared by the Markdown and HTML renderers.

Every energy cell names its level; a figure whose terms span levels says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neuropipe.reports.comparison import (
    ALWAYS,
    IS_BASELINE,
    NEVER,
    NO_BASELINE,
    OVERTAKEN,
    PAYS_BACK,
    BreakEven,
    ConfigRow,
    EnergyReport,
    joules_text,
)

TITLE = "Energy report"
HEADLINE = "answer.png"
SPIKE_PLOT = "spike_rate.png"
SPIKE_TITLE = "Where spikes pay"


ASPECTS_TITLE = "Aspects: each bio-inspired aspect against its plain counterpart"


@dataclass
class Table:
    """A table to render: a title, column headers, rows of cells, and notes under it.

    Attributes:
        title: Section title.
        headers: Column headers.
        rows: Cells, as text.
        intro: Paragraphs before the table.
        notes: Paragraphs after it.
    """

    title: str
    headers: list[str]
    rows: list[list[str]]
    intro: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def joules(value: float | None) -> str:
    """An energy with a readable unit (pJ to kJ); ``n/a`` for None."""
    if value is None:
        return "n/a"
    if value == 0:
        return "0 J"
    return joules_text(value)


def count(value: float | None) -> str:
    """A count with thousands separators; ``n/a`` for None."""
    return "n/a" if value is None else f"{value:,.0f}"


def seconds(value: float | None) -> str:
    """A duration in ms or s; ``unknown`` for None."""
    if value is None:
        return "unknown"
    return f"{value * 1e3:.3g} ms" if value < 1 else f"{value:.3g} s"


def inferences(n: float) -> str:
    """A number of inferences, rounded up to a whole one."""
    whole = int(-(-n // 1))
    return f"{whole:,}" if whole < 1e7 else f"{whole:.3g}"


def level_cell(config: ConfigRow, level: str) -> str:
    """The figure at ``level`` with its cost model, and the range over cost models there."""
    e = config.at_level(level)
    if e is None:
        return "—"
    text = f"{joules(e.figure_j)} ({e.cost_model}{', default' if e.default else ''}"
    if e.off_level_j:
        text += "; host work apart"
    low, high, n = config.range_at(level)
    if n > 1:
        text += f"; range {joules(low)}–{joules(high)} over {n} models"
    return text + ")"


def ops_cell(config: ConfigRow) -> str:
    """Operations per inference: conventional ops on host targets, else events and MACs."""
    if config.ops:
        dense = " + ".join(f"{count(v)} {k.removeprefix('dense_').upper()[:-1]}s"
                           for k, v in config.ops.items() if k.startswith("dense_") and v)
        effective = " + ".join(f"{count(v)} {k.removeprefix('effective_').upper()[:-1]}s"
                               for k, v in config.ops.items() if k.startswith("effective_") and v)
        return (f"dense {dense or '0'}; effective {effective or '0'}; "
                f"{count(config.neuron_updates)} neuron updates")
    graded = f"{count(config.graded_events)} graded events + " if config.graded_events else ""
    return (f"{graded}{count(config.synops)} synops + {count(config.host_macs)} host MACs; "
            f"{count(config.neuron_updates)} neuron updates")


def host_cell(config: ConfigRow) -> str:
    """Work done on the host at another level than the figure's (a host first layer)."""
    parts = [f"{joules(e.off_level_j)} ({', '.join(e.off_level_terms)}; "
             f"{'/'.join(e.other_levels)} level, beside {e.cost_model})"
             for e in config.estimates if e.off_level_j > 0]
    return "; ".join(dict.fromkeys(parts)) or "—"


def training_cell(config: ConfigRow) -> str:
    """Training energy × PUE (what break-even uses), CO2e and method of the run's training."""
    t = config.training
    return f"{training_energy(config)}, {t.co2e_kg:.3g} kg CO2e, {t.method}"


def training_energy(config: ConfigRow) -> str:
    """The one way training energy is shown everywhere: joules × PUE, labelled."""
    t = config.training
    return f"{joules(t.joules_pue)} incl. PUE ({joules(t.joules)} at the plug × PUE {t.pue:g})"


def network_word(config: ConfigRow) -> str:
    """``conventional (ANN)`` or ``bio-inspired (SNN)``, with the input encoding if known."""
    word = "conventional (ANN)" if config.conventional else "bio-inspired (SNN)"
    return word + (f", {config.encoding} input" if config.encoding else "")


def levels_section(report: EnergyReport) -> list[str]:
    """What each level shown means (from ``core.levels``), to read before the tables."""
    from neuropipe.core.levels import LEVEL_DEFINITIONS

    return [f"{lv}: {LEVEL_DEFINITIONS.get(lv, 'a level this neuropipe does not define')}"
            for lv in (report.levels or report.comparison.levels)]


def configs_table(report: EnergyReport) -> Table:
    """One row per model x target, an energy column per level."""
    levels = report.levels or report.comparison.levels
    headers = ["run (model, kind)", "target", "network on the device", "accuracy (reference)",
               "ops / inference",
               *[f"energy / inference, {lv} level" for lv in levels],
               "host work apart (other level)", "time / inference",
               "training energy incl. PUE"]
    rows = []
    for c in report.comparison.configs:
        ref = f" ({c.reference_accuracy:.2%})" if c.reference_accuracy is not None else ""
        who = f"{c.run} ({c.kind})" if c.run == c.model else f"{c.run} ({c.model}, {c.kind})"
        rows.append([who, c.target, network_word(c), f"{c.accuracy:.2%}{ref}",
                     ops_cell(c),
                     *[level_cell(c, lv) for lv in levels], host_cell(c), seconds(c.latency_s),
                     training_cell(c)])
    notes = [f"missing: {m.run} on {m.target}" for m in report.comparison.missing]
    return Table("Every model on every target", headers, rows, notes=notes, intro=[
        f"{len(report.comparison.configs)} configurations of {len(report.comparison.runs)} runs "
        f"on {report.comparison.dataset}. Energy per inference is given per level (arithmetic, "
        "chip, system, measured); figures at different levels are different quantities and are "
        "never compared. A level's column holds figures at that level only: work done on the "
        "host for a device (a first layer fed analogue pixels, costed at system level) is in "
        "its own column, never summed into a chip figure. Each cell names the cost model "
        "('default' marks the deployment's headline estimate) and, where several cost models "
        "give a figure at that level, their range."])


def selection_table(report: EnergyReport) -> Table:
    """The equal-accuracy view: cheapest per target, level and side, against its baseline."""
    rows = []
    for s in report.selection:
        if s.run is None:
            rows.append([s.target, s.level, s.side, "—", "—", "—", "—", "—", "—", "—",
                         s.comment])
            continue
        baseline = (f"{s.baseline_run} on {s.baseline_target} ({s.baseline_basis})"
                    if s.baseline_run else "—")
        ratio = f"{s.ratio:.3g}×" if s.ratio is not None else "—"
        mark = " (admitted within the 95% interval)" if s.admitted else ""
        rows.append([s.target, s.level, s.side, s.run, f"{s.accuracy:.2%}{mark}",
                     f"{joules(s.energy_j)} ({s.cost_model})",
                     joules(s.host_j) if s.host_j else "—", baseline,
                     f"{joules(s.baseline_energy_j)} ({s.baseline_cost_model})"
                     if s.baseline_run else "—", ratio, s.comment])
    return Table(
        f"Equal accuracy: cheapest configuration reaching {report.threshold:.2%}",
        ["target", "level", "side", "cheapest run", "accuracy",
         "energy / inference (this level only)", "host work apart (other level)",
         "conventional baseline (why)", "baseline energy / inference (same level)",
         "ratio to baseline", "comment"], rows,
        intro=[f"Threshold {report.threshold:.2%} ({report.threshold_source}); "
               f"{report.accuracy_test}. For each target, each level at which it has figures "
               "and each side (bio-inspired: a spiking network on the device; conventional: an "
               "ANN), the configuration reaching the threshold with the lowest energy per "
               "inference. Its conventional baseline at the same level is the ANN on the same "
               "target where one reaches the threshold (an SNN on Loihi against the ANN run "
               "there as a sigma-delta network, an SNN on the ASIC against the ANN on the same "
               "silicon), else the cheapest conventional figure at that level on another target "
               "(named). Only ANNs are baselines. A ratio below 1 means cheaper than the "
               "baseline."])


def verdict(row: BreakEven) -> str:
    """What break-even means for this row, in words (equal training energies said so)."""
    same = row.baseline_training_j is not None and row.training_j == row.baseline_training_j
    if row.verdict == PAYS_BACK:
        return (f"costs more to train; pays back after {inferences(row.n or 0)} inferences")
    if row.verdict == OVERTAKEN:
        return (f"cheaper to train but dearer per inference: cheaper for the first "
                f"{inferences(row.n or 0)} inferences, the baseline after that")
    if row.verdict == ALWAYS:
        if same:
            return ("same training energy (same run), no dearer per inference: never costs "
                    "more")
        return "cheaper (or equal) to train and per inference: never costs more"
    if row.verdict == NEVER:
        if same:
            return ("same training energy (same run), dearer per inference: costs more from "
                    "the first inference")
        return "costs more to train and no less per inference: never pays back"
    if row.verdict == IS_BASELINE:
        return "the baseline"
    return "no conventional baseline at this level: not compared"


def break_even_table(report: EnergyReport) -> Table:
    """Training plus N inferences of each selected configuration against the baseline."""
    rows = []
    for b in report.break_even:
        base = f"{b.baseline_run} on {b.baseline_target}" if b.baseline_run else "—"
        rows.append([f"{b.run} on {b.target}", b.level, joules(b.training_j),
                     f"{joules(b.inference_j)} ({b.cost_model})", base,
                     joules(b.baseline_training_j) if b.baseline_run else "—",
                     joules(b.baseline_inference_j) if b.baseline_run else "—",
                     inferences(b.n) if b.n is not None else "—", verdict(b)])
    no_base = [b for b in report.break_even if b.verdict == NO_BASELINE]
    notes = (["Where there is no conventional baseline at a level, the lines training + N × "
              "inference are still drawn in the break-even plot and written to JSON and CSV."]
             if no_base else [])
    return Table(
        "Break-even: training energy plus N inferences", [
            "configuration", "level", "training energy incl. PUE", "energy / inference",
            "baseline", "baseline training", "baseline energy / inference",
            "break-even N", "verdict"], rows,
        intro=["Total energy after N inferences = training energy + N × energy per inference. "
               "Training energy is shown the same way everywhere: the run's energy.json energy × "
               "PUE ('incl. PUE'), in joules (measured or estimated: see the training table); "
               "inference energy is the figure at the row's level. A configuration that costs "
               "more to train but less per inference "
               "pays back after N = (training − baseline training) / (baseline inference − "
               "inference) inferences. Only figures at the same level are set against each "
               "other."], notes=notes)


def training_table(report: EnergyReport) -> Table:
    """Training energy per run, with its method."""
    seen: dict[str, ConfigRow] = {}
    for c in report.comparison.configs:
        seen.setdefault(c.run, c)
    rows = []
    for run, c in seen.items():
        t = c.training
        rows.append([run, c.model, joules(t.joules_pue), joules(t.joules), f"{t.pue:g}",
                     f"{t.kwh_pue:.3g}", f"{t.co2e_kg:.3g}",
                     ", ".join(f"{k}: {v}" for k, v in t.methods.items()) or "unknown"])
    leaves = sorted({x for c in seen.values() for x in c.training.leaves_out})
    return Table("Training energy (from each run's energy.json)",
                 ["run", "model", "training energy incl. PUE", "at the plug (before PUE)", "PUE",
                  "kWh × PUE", "kg CO2e", "method by component"], rows,
                 notes=["Training figures leave out: " + "; ".join(leaves)] if leaves else [])


def training_choice_table(report: EnergyReport) -> Table:
    """Training energy per run at its best accuracy, against the cheapest backprop run."""
    rows = []
    for r in report.training_choice:
        reached = "yes" if r.reaches else "no"
        ratio = f"{r.ratio:.3g}×" if r.ratio is not None else "—"
        rows.append([r.run, r.model, r.learning, f"{r.accuracy:.2%} on {r.target}", reached,
                     f"{joules(r.training_j)} ({r.method})", r.baseline_run or "—", ratio])
    base = next((r.baseline_run for r in report.training_choice if r.baseline_run), None)
    return Table(
        f"Training energy at equal accuracy ({report.threshold:.2%}): how each run learned",
        ["run", "model", "learning", "best accuracy (target)", "reaches threshold",
         "training energy incl. PUE (method)", "cheapest backprop run reaching it",
         "ratio to it"], rows,
        intro=["Each run's training energy (kWh × PUE, in joules) next to its best accuracy on "
               "any target. Runs that learn without backpropagation (STDP, a closed-form "
               "readout) are set against the backprop run (conventional or surrogate-gradient) "
               "that reaches the same threshold with the least training energy; a ratio below "
               "1 means cheaper to train at that accuracy. Runs below the threshold get no "
               "ratio: at equal accuracy they are not in the comparison."
               + ("" if base else " No backprop run reaches the threshold, so no ratio is "
                  "given.")])


def sparsity_table(report: EnergyReport) -> Table:
    """Spiking runs of one model at different rate penalties: accuracy against spikes."""
    rows = [[p.model, p.target, p.run, f"{p.rate_penalty:g}", f"{p.accuracy:.2%}",
             count(p.spikes), count(p.synops),
             f"{joules(p.energy_j)} ({p.cost_model}; {p.level})" if p.energy_j is not None
             else "n/a", joules(p.device_j)]
            for p in report.sparsity]
    return Table("Sparse codes: the rate-penalty trade-off",
                 ["model", "target", "run", "rate penalty", "accuracy", "spikes / inference",
                  "synops / inference", "energy / inference (default estimate; level)",
                  "of which the device"], rows,
                 intro=["Spiking runs of one model trained with different --rate-penalty "
                        "values (the loss gains the penalty times the mean spikes per neuron "
                        "and step): fewer spikes mean fewer synaptic operations, at some cost "
                        "in accuracy. Energies are each target's default estimate; compare "
                        "them within a target only. Spikes change the device's share; work "
                        "done on the host for the device (a first layer fed analogue pixels) "
                        "and dense host targets, which compute every synapse every step, do "
                        "not change with them."])


def aspects_table(report: EnergyReport) -> Table:
    """Each bio-inspired aspect present against its plain counterpart: energy ratio per level."""
    levels = [lv for lv in report.levels if any(lv in a.ratios for a in report.aspects)]
    rows = []
    for a in report.aspects:
        diff = (f"{a.accuracy_diff * 100:+.2f} pp" if a.accuracy_diff is not None else "—")
        plain = (f"{a.plain_run} ({a.plain_accuracy:.2%})" if a.plain_run is not None
                 else f"none: {a.comment}")
        spikes = (f"{count(a.input_spikes)} / {count(a.plain_input_spikes)}"
                  if a.plain_run is not None else count(a.input_spikes))
        rows.append([a.aspect, a.setting, f"{a.run} on {a.target}", f"{a.accuracy:.2%}", plain,
                     diff, spikes, *[f"{a.ratios[lv]:.3g}×" if lv in a.ratios else "—"
                                     for lv in levels],
                     a.comment if a.plain_run is not None else ""])
    return Table(ASPECTS_TITLE,
                 ["aspect", "setting", "configuration", "accuracy", "plain counterpart",
                  "accuracy difference", "input spikes / inference (vs plain)",
                  *[f"energy ratio, {lv}" for lv in levels], "note"], rows,
                 intro=["Each way a compared configuration departs from its family's plain form "
                        "(spike code, sparse activity, modularity, recurrence, local or forward-"
                        "only learning, sparse coding), set against the most accurate plain "
                        "configuration on the same target (snn-mlp for spiking models, mlp for "
                        "conventional ones, or the same model for a code, a rate penalty or "
                        "modules; constant input, no rate penalty, backprop, dense). The ratio "
                        "is the aspect's energy per inference over the plain one's at that level"
                        " (below 1: the aspect saves energy); the accuracy difference is in "
                        "percentage points on the same target."])


def answer_table(report: EnergyReport) -> Table:
    """The numbers behind the answer, one row per level."""
    rows = []
    for ln in report.answer.lines:
        if ln.ratio is None:
            rows.append([ln.level, ln.bio or "—", joules(ln.bio_j) if ln.bio else "—",
                         ln.conventional or "—",
                         joules(ln.conventional_j) if ln.conventional else "—", "—",
                         ln.reason])
            continue
        rows.append([ln.level, f"{ln.bio} ({ln.bio_accuracy:.2%})",
                     f"{joules(ln.bio_j)} ({ln.bio_cost_model})",
                     f"{ln.conventional} ({ln.conventional_accuracy:.2%})",
                     f"{joules(ln.conventional_j)} ({ln.conventional_cost_model})",
                     f"{ln.ratio:.3g}×", ln.fact])
    excluded = sorted({x for ln in report.answer.lines for x in ln.excluded})
    return Table("Answer", ["level", "cheapest bio-inspired", "energy / inference",
                            "cheapest conventional", "energy / inference", "ratio",
                            "what decides it"], rows,
                 intro=list(report.answer.sentences),
                 notes=[f"Left out of the chip-level answer, since part of the inference runs "
                        f"on the host (shown apart in the tables): {', '.join(excluded)}."]
                 if excluded else [])


def spike_table(report: EnergyReport) -> Table:
    """Where spikes pay: the spike rate at which each SNN configuration ties its baseline."""
    from neuropipe.reports.spike_ties import FIXED_EXCEEDS, TIES

    rows = []
    for t in report.spike_ties:
        rate = f"{t.rate:.3g}" if t.rate is not None else "unknown"
        if t.verdict == TIES:
            tie = (f"{t.tie_rate:.3g} ({count(t.tie_synops)} events)" if t.tie_rate is not None
                   else f"{count(t.tie_synops)} events")
        elif t.verdict == FIXED_EXCEEDS:
            tie = (f"none: the fixed terms alone ({joules(t.fixed_j)}) exceed the baseline")
        else:
            tie = "none: no term of the figure scales with spikes"
        who = f"{t.run} on {t.target}" + ("" if t.whole_on_device else
                                          " (chip part only: first layer on the host)")
        rows.append([who, t.level, f"{t.accuracy:.2%}",
                     count(t.synapses) if t.synapses else "not recorded",
                     count(t.synops), rate, f"{joules(t.energy_j)} ({t.cost_model})",
                     f"{joules(t.spike_j)} / {joules(t.fixed_j)}",
                     f"{t.baseline_run} on {t.baseline_target}: {joules(t.baseline_j)}", tie])
    return Table(
        "Where spikes pay: the spike rate that would tie the conventional baseline",
        ["configuration", "level", "accuracy", "deployed synapses", "synaptic events / inference",
         "spikes per synapse / inference (measured)", "energy / inference",
         "spike-driven / fixed", "conventional baseline (same level)",
         "spikes per synapse at which it ties"], rows,
        intro=["For each spiking configuration and each level with a conventional baseline: "
               "the terms that scale with spikes (synops, synops_*, spike_queue*, "
               "router_packets) are scaled linearly with the synaptic events per inference, the "
               "others (neuron updates, static power, graded input events) kept fixed. The "
               "figure at x spikes per synapse is fixed + spike-driven × x / measured rate; it "
               "ties the baseline B at x = measured rate × (B − fixed) / spike-driven. Below "
               "that rate the spiking network is cheaper."])


def tables(report: EnergyReport) -> list[Table]:
    """Every table of the report, in the order it shows them."""
    out = [selection_table(report), spike_table(report), break_even_table(report),
           configs_table(report), training_table(report), training_choice_table(report)]
    if report.sparsity:
        out.append(sparsity_table(report))
    if report.aspects:
        out.append(aspects_table(report))
    return out


def leaves_out_sections(report: EnergyReport) -> list[tuple[str, list[str]]]:
    """What each figure leaves out: per target and cost model (runs sharing it grouped)."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for c in report.comparison.configs:
        for e in c.estimates:
            key = (c.target, f"{e.cost_model} ({e.level_label})", tuple(e.leaves_out))
            groups.setdefault(key, []).append(c.run)
            if e.not_estimated:
                groups.setdefault((c.target, f"{e.cost_model}: named but not estimated",
                                   tuple(e.not_estimated)), []).append(c.run)
    return [(f"{target}, {model} — {', '.join(dict.fromkeys(runs))}", list(items))
            for (target, model, items), runs in groups.items() if items]


def notes(report: EnergyReport) -> list[str]:
    """Caveats of the whole report."""
    return [*report.comparison.notes,
            "Latency is the device's time per inference where the target knows it (SpiNNaker "
            "runs in real time); 'unknown' otherwise."]
