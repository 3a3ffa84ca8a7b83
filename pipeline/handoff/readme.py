"""The bundle's ``README.md``, written for the hardware team from the run's actual values."""

from __future__ import annotations

from neuropipe.pipeline.handoff.encoding import InputEncoding
from neuropipe.pipeline.handoff.manifest import CHECKSUMS, MANIFEST, Manifest


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


def _how_to_run(manifest: Manifest, e: InputEncoding) -> list[str]:
    if manifest.target == "loihi":
        bias = e.chip_input == "bias"
        load_input = (
            ["# first-layer neurons get the host-computed input as their bias:",
             "neuron = net.layers[0].neuron",
             "mant = inputs['bias_mant'][k]  # flattened C-H-W; Lava wants (W, H, C) for conv",
             "neuron.bias_mant.init = mant.reshape(neuron.bias_mant.shape)",
             f"neuron.bias_exp.init = np.full(neuron.bias_exp.shape, "
             f"{e.constants.get('bias_exp')})"] if bias else
            ["# (inputs, steps); a convolutional first layer wants (W, H, C, steps)",
             "source = RingBuffer(data=inputs['spikes'][k].T.astype(np.int32))",
             "source.s_out.connect(net.inp)"])
        return [
            "Load the network with lava-dl's netx and run it with Lava (lava-nc 0.10, lava-dl "
            "0.6; `run_lava.py` in this folder does all of this):", "",
            "```python", "import numpy as np",
            "from lava.lib.dl import netx",
            "from lava.magma.core.run_conditions import RunSteps",
            "from lava.magma.core.run_configs import Loihi2SimCfg, Loihi2HwCfg",
            "from lava.proc.io.sink import RingBuffer as Sink",
            "from lava.proc.io.source import RingBuffer",
            "inputs = np.load('reference/inputs.npz')", "k = 0  # sample",
            "net = netx.hdf5.Network(net_config='model.net'"
            + (f", input_message_bits={e.constants.get('input_message_bits')}"
               if e.chip_input == "graded spikes" else "")
            + ")  # a fresh network per sample",
            f"sink = Sink(shape=net.out.shape, buffer={e.steps})",
            "net.out.connect(sink.a_in)", *load_input,
            f"net.run(condition=RunSteps(num_steps={e.steps}), "
            "run_cfg=Loihi2SimCfg(select_tag='fixed_pt'))",
            "spikes = sink.data.get().T  # (steps, classes)", "net.stop()", "```", "",
            "On Loihi 2 hardware use `run_cfg=Loihi2HwCfg()` (needs Intel's lava-loihi "
            "extension; Python ring buffers may need its embedded-I/O adapters there). "
            "`python run_lava.py model.net reference/inputs.npz --out spikes.npz [--hardware]` "
            "runs every reference sample and saves `output_spikes` (sample x step x class).",
            "This bundle was checked in Lava's bit-accurate simulation only: it was not run on "
            "Loihi hardware."]
    current = e.chip_input == "current"
    sample = (["groups[0].set(i_offset=arrays['L0_i_offset'] + arrays['input_current'][k])",
               f"sim.run({e.steps})"] if current else
              ["# input spikes of sample k: pn.spike_times(arrays['input_spikes'][k]) (ms),",
               "# passed to pn.build(..., input_spike_times=...); see run_nest for the timing",
               f"sim.run({e.steps} + pn.INPUT_OFFSET_MS)"])
    return [
        "`pynn_network.py` (numpy and PyNN only) builds the network of `network.npz` on any "
        "PyNN backend. On NEST, as the reference was made:", "",
        "```sh", "python pynn_network.py nest network.npz --out spikes.npz  # L0, L1...: "
        "sample x step x neuron", "```", "",
        "On a SpiNNaker board (sPyNNaker 1!7.4.1, `pyNN.spiNNaker`):", "",
        "```python", "import numpy as np", "import pynn_network as pn",
        "pn.configure_spinnaker('/tmp/spinnaker', virtual=False)  # writes .spynnaker.cfg:",
        "# add your board's machine_name (or spalloc server) under [Machine] there",
        "import pyNN.spiNNaker as sim", "meta, arrays = pn.load('network.npz')",
        "sim.setup(timestep=1.0, min_delay=1.0)", "k = 0  # sample",
        "groups = pn.build(sim, meta, arrays, for_nest=False)  # input group first if spikes",
        "groups[-1].record('spikes')", *sample, "```", "",
        "`placement.json` is sPyNNaker's placement of this network on a virtual SpiNN-5 board "
        "(cores, chips, routes). This bundle was checked on NEST only: it was not run on a "
        "SpiNNaker board, whose spike times may be stamped one step apart from NEST's "
        "(compare per-class counts in the window, and the labels)."]


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
        "## How to run it", "", *_how_to_run(manifest, e), "",
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
