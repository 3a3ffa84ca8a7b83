"""The bundle's ``README.md``, written for the hardware team from the run's actual values."""

from __future__ import annotations

from neuropipe.pipeline.handoff.encoding import InputEncoding
from neuropipe.pipeline.handoff.manifest import CHECKSUMS, MANIFEST, Manifest
from neuropipe.targets.registry import get_handoff


def _joules(j: float) -> str:
    for unit, factor in (("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if abs(j) >= factor:
            return f"{j / factor:.3g} {unit}"
    return f"{j:.3g} J"


def _files(manifest: Manifest) -> list[str]:
    rows = ["| file | bytes | what it is |", "|---|---:|---|"]
    rows += [f"| `{f.path}` | {f.bytes:,} | {f.role} |" for f in manifest.files]
    if not any(f.path == "README.md" for f in manifest.files):
        rows.append("| `README.md` | | this file |")
    rows.append(f"| `{MANIFEST}` | | versions, checksums, resources, accuracy, energy, footprint |")
    rows.append(f"| `{CHECKSUMS}` | | SHA-256 of every file, `sha256sum -c {CHECKSUMS}` |")
    return rows


def _encoding(e: InputEncoding) -> list[str]:
    lines = [
        f"- Input: one {e.dataset} image, shape {tuple(e.input_shape)}. {e.pixel_rule}.",
        f"- Encoding: `{e.encoding}`, presented for {e.timesteps} steps; each sample runs "
        f"{e.steps} steps ({e.step_duration}), from rest (all membranes 0).",
        f"- What the chip receives (`{e.chip_input}`): {e.chip_input_rule}.",
    ]
    if e.constants:
        lines.append("- Constants: " + ", ".join(f"{k} = {v}" for k, v in e.constants.items())
                     + ".")
    if e.spike_rule:
        seed = f"; seed {e.seed}" if e.seed is not None else ""
        lines.append(f"- Spikes of the reference inputs: {e.spike_rule}{seed}. The "
                     "spikes themselves are in `reference/inputs.npz`: no random-number "
                     "generator is needed to reproduce the reference.")
    lines.append(f"- Output: layer `{e.output_layer}`, {e.classes} neurons, one per class. "
                 f"Decoding: {e.decode}.")
    return lines


def _energy(manifest: Manifest) -> list[str]:
    rows = ["| cost model | level | energy per inference | device | host | citations |",
            "|---|---|---:|---:|---:|---|"]
    for e in manifest.energy:
        rows.append(f"| {e.cost_model}{' (default)' if e.default else ''} | {e.level} | "
                    f"{_joules(e.total_j)} | {_joules(e.dynamic_j + e.static_j)} | "
                    f"{_joules(e.host_j)} | {'; '.join(e.sources)} |")
    leaves = sorted({item for e in manifest.energy for item in e.leaves_out})
    if leaves:
        rows += ["", "These are estimates from published cost models, not measurements. They "
                 "leave out: " + "; ".join(leaves) + "."]
    return rows


def _footprint(manifest: Manifest) -> list[str]:
    fp = manifest.training_footprint
    if fp is None:
        return ["The run recorded no training energy."]
    by_method: dict[str, list[str]] = {}
    for component, method in fp.methods.items():
        by_method.setdefault(method, []).append(component)
    methods = "; ".join(f"{' and '.join(names)}: {method}" for method, names in by_method.items())
    return [f"Training took {fp.duration_s:.1f} s and {_joules(fp.energy_j)} ({methods}); "
            f"{fp.kwh_pue:.3g} kWh with PUE, {fp.co2e_kg:.3g} kg CO2e "
            f"({fp.constants.get('intensity_source', 'see manifest.json')})."]


def render(manifest: Manifest, e: InputEncoding) -> str:
    """The README of a bundle."""
    acc = manifest.expected_accuracy
    ref = manifest.reference
    res = manifest.resources
    correct = sum(p == y for p, y in zip(ref.predicted, ref.labels, strict=True))
    torch_acc = (f" (the trained model in PyTorch: {acc.reference_accuracy:.4f})"
                 if acc.reference_accuracy is not None else "")
    lines = [
        f"# {manifest.model} for {manifest.target}: hardware handoff bundle", "",
        f"Made by neuropipe {manifest.versions.get('neuropipe', '?')} on {manifest.created} "
        f"from run `{manifest.source_run}`. Everything needed is in this folder; nothing of "
        "neuropipe's training code is needed to run it.", "",
        "## Check the bundle first", "",
        "```sh", f"sha256sum -c {CHECKSUMS}            # every file, the manifest included",
        "neuropipe handoff verify .               # checksums + re-simulation of reference/",
        "```", "",
        "## Files", "", *_files(manifest), "",
        "## Input and output, exactly", "", *_encoding(e), "",
        "## How to run it", "", *get_handoff(manifest.target).how_to_run(e), "",
        "## Compare against `reference/`", "",
        f"`reference/inputs.npz` holds {ref.samples} test images (`images`, `labels`) and what "
        "the chip receives for each; `reference/expected.npz` holds the expected "
        "`output_spikes` (sample x step x class, every step of the run) and the `predicted` "
        f"classes ({correct} of {ref.samples} correct). They come from {ref.simulator}. "
        "A run on the chip reproduces the reference when every output spike matches; equal "
        f"predicted classes alone are a weaker check. {ref.fast_simulator.get('summary', '')}",
        "",
        "## Expected accuracy", "",
        f"{acc.accuracy:.4f} on {acc.samples:,} {manifest.dataset} test images on the simulated "
        f"target{torch_acc}; from {acc.simulator}.", "",
        "## Resources", "",
        f"{res.cores} cores on {res.chips} chip(s); {res.steps_per_sample} steps per sample; "
        f"{res.placement}.", "",
        "## Energy per inference (estimates)", "", *_energy(manifest), "",
        "## Training footprint", "", *_footprint(manifest), "",
    ]
    if manifest.notes:
        lines += ["## Notes", "", *[f"- {n}" for n in manifest.notes], ""]
    return "\n".join(lines)
