"""A layered spiking network (self-recurrent layers allowed) in PyNN, for NEST or sPyNNaker.

This file is self-contained (numpy and PyNN only) so that it runs unchanged outside neuropipe:
the ``spinnaker`` target runs it in a child process, writes it beside ``deployment.json``, and a
hardware team runs it on ``pyNN.spiNNaker`` with a real board.

The network file (``network.npz``) holds, for each layer ``i``, its connections as lists
(``L{i}_pre``, ``L{i}_post``, ``L{i}_weight`` in mV, signed: split here into an excitatory and an
inhibitory projection, since sPyNNaker takes one sign per projection) and per-neuron
``IF_curr_delta`` parameters (``L{i}_tau_m`` ms, ``L{i}_v_rest``, ``L{i}_v_reset``,
``L{i}_v_thresh`` mV, ``L{i}_i_offset`` nA), plus ``meta`` (JSON) and the inputs of the samples:
``input_current`` (nA added to the first layer's ``i_offset``, one row per sample: the first
layer's synapses computed on the host for analogue input) or ``input_spikes`` (bool, sample x
step x input: a ``SpikeSourceArray`` feeds the first layer). A layer with a self-recurrent
synapse also has ``L{i}_rec_pre``, ``L{i}_rec_post``, ``L{i}_rec_weight``: a projection from the
layer's populations to themselves (1 ms delay, split by sign like the others).

Timing, at a 1 ms step: input spikes are presented for ``timesteps`` steps, an analogue input's
current for the whole run; every projection has a delay of 1 ms, and the network runs ``steps``
steps so that the last layer's window of ``timesteps`` steps ends inside the run. A spike
emitted in step ``t`` is stamped
``(t + 1)`` ms by NEST; step indices here are 0-based.

Usage::

    python pynn_network.py nest network.npz --samples 16 --out spikes.npz
    python pynn_network.py spinnaker network.npz --out placement.json   # virtual-board mapping
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np

FORMAT = "neuropipe-pynn-network"
FORMAT_VERSION = 1
CM_NF = 1.0  # membrane capacitance: i_offset (nA) x 1 ms / 1 nF = 1 mV
ROW_LIMIT = 256  # sPyNNaker: synapses of one sign from one neuron into one projection


def load(path: str) -> tuple[dict, dict]:
    """Read a network file: ``(meta, arrays)``."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    if meta.get("format") != FORMAT or meta.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a {FORMAT} file of version {FORMAT_VERSION}")
    return meta, arrays


def cell_parameters(arrays: dict, i: int, for_nest: bool) -> dict:
    """``IF_curr_delta`` parameters of layer ``i`` (per-neuron arrays).

    NEST's ``iaf_psc_delta`` spikes when ``V >= V_th``; the model spikes when ``v > v_thresh``:
    for NEST the threshold is the next double above it, which turns ``>=`` into ``>``.
    """
    v_thresh = arrays[f"L{i}_v_thresh"].astype(np.float64)
    if for_nest:
        v_thresh = np.nextafter(v_thresh, np.inf)
    return dict(tau_m=arrays[f"L{i}_tau_m"], cm=CM_NF, v_rest=arrays[f"L{i}_v_rest"],
                v_reset=arrays[f"L{i}_v_reset"], v_thresh=v_thresh, tau_refrac=0.0,
                i_offset=arrays[f"L{i}_i_offset"])


class Group:
    """One layer as Populations of at most ``ROW_LIMIT`` neurons each (sPyNNaker's row limit).

    sPyNNaker refuses a synaptic row longer than 256 (one neuron's synapses of one sign into
    one population), and mis-indexes a ``FromListConnector`` into a ``PopulationView``: a
    layer of more neurons becomes several populations, labelled ``name[lo:hi]``.
    """

    def __init__(self, sim, label: str, size: int, celltype_for) -> None:
        self.label, self.size, self.blocks = label, size, []
        for lo in range(0, size, ROW_LIMIT):
            hi = min(lo + ROW_LIMIT, size)
            name = label if (lo, hi) == (0, size) else f"{label}[{lo}:{hi}]"
            self.blocks.append((lo, hi, sim.Population(hi - lo, celltype_for(lo, hi),
                                                       label=name)))

    def set(self, **values) -> None:
        """Set per-neuron parameters (arrays over the whole layer, or scalars)."""
        for lo, hi, pop in self.blocks:
            pop.set(**{k: (np.asarray(v)[lo:hi].tolist() if np.ndim(v) else v)
                       for k, v in values.items()})

    def initialize(self, **values) -> None:
        """Set initial values (scalars) of every block."""
        for _, _, pop in self.blocks:
            pop.initialize(**values)

    def record(self, what: str) -> None:
        """Record ``what`` in every block."""
        for _, _, pop in self.blocks:
            pop.record(what)


def build(sim, meta: dict, arrays: dict, for_nest: bool, input_spike_times=None) -> list:
    """Create the populations and projections; returns the layers as ``Group``s, input first.

    Args:
        sim: ``pyNN.nest`` or ``pyNN.spiNNaker``, after ``sim.setup``.
        meta: The network's metadata.
        arrays: The network's arrays.
        for_nest: Adjust the threshold for NEST's ``>=`` (see ``cell_parameters``) and keep
            inhibitory weights negative, as NEST's delta synapses need.
        input_spike_times: Spike times (ms) per input for ``spikes`` input, else None.
    """
    source = None
    if meta["input"] == "spikes":
        times = input_spike_times or [[] for _ in range(meta["input_size"])]
        def sources(lo: int, hi: int):
            block = times[lo:hi]
            if not for_nest and not any(block):
                # sPyNNaker 1!7.4.1 fails (IndexError) on a SpikeSourceArray without any
                # spike: give it one, after the end of the run, so none is ever sent.
                block = [[float(meta["steps"] + INPUT_OFFSET_MS + 10)]] + block[1:]
            return sim.SpikeSourceArray(spike_times=block)

        source = Group(sim, "input", meta["input_size"], sources)
    neurons = []
    for i, layer in enumerate(meta["layers"]):
        params = cell_parameters(arrays, i, for_nest)

        def cells(lo: int, hi: int, params: dict = params):
            return sim.IF_curr_delta(**{k: (v[lo:hi].tolist() if isinstance(v, np.ndarray)
                                            else v) for k, v in params.items()})

        group = Group(sim, layer["name"], layer["size"], cells)
        group.initialize(v=0.0)
        neurons.append(group)
    for i, post_group in enumerate(neurons):
        pre_group = source if i == 0 else neurons[i - 1]
        if pre_group is not None:  # else the first layer's synapses run on the host (i_offset)
            project(sim, pre_group, post_group, arrays[f"L{i}_pre"], arrays[f"L{i}_post"],
                    arrays[f"L{i}_weight"], for_nest)
        if f"L{i}_rec_pre" in arrays:  # a self-recurrent synapse: the layer onto itself
            project(sim, post_group, post_group, arrays[f"L{i}_rec_pre"],
                    arrays[f"L{i}_rec_post"], arrays[f"L{i}_rec_weight"], for_nest)
    return ([source] if source is not None else []) + neurons


def project(sim, pre_group: Group, post_group: Group, pre: np.ndarray, post: np.ndarray,
            weight: np.ndarray, for_nest: bool) -> None:
    """Connect two groups (or a group to itself) with 1 ms static synapses, split by sign.

    Every pair of blocks with synapses between them gets one excitatory and one inhibitory
    projection. NEST's delta synapses add the weight as given, so inhibitory weights stay
    negative; sPyNNaker takes their absolute value and the receptor the sign.
    """
    for pre_lo, pre_hi, pre_pop in pre_group.blocks:
        for post_lo, post_hi, post_pop in post_group.blocks:
            block = (pre >= pre_lo) & (pre < pre_hi) & (post >= post_lo) & (post < post_hi)
            for sign, receptor in ((1, "excitatory"), (-1, "inhibitory")):
                keep = block & (sign * weight > 0)
                if not keep.any():
                    continue
                value = weight[keep] if for_nest else np.abs(weight[keep])
                conn = np.column_stack([pre[keep] - pre_lo, post[keep] - post_lo, value,
                                        np.ones(int(keep.sum()))])
                sim.Projection(pre_pop, post_pop, sim.FromListConnector(
                    conn, column_names=["weight", "delay"]),
                    synapse_type=sim.StaticSynapse(), receptor_type=receptor,
                    label=f"{pre_pop.label}->{post_pop.label}-{receptor[:3]}")


def spike_times(raster: np.ndarray) -> list:
    """Spike times (ms) per input for a bool raster ``(steps, inputs)``.

    An input spike of step t is stamped ``t + 1`` ms, as NEST stamps a neuron's spike of step t,
    so that it reaches the first layer one step later, like every other projection. NEST
    refuses spikes at or before ``min_delay`` after the start, so the whole presentation is
    shifted by ``INPUT_OFFSET_MS``; ``run_nest`` removes the shift from the recorded spikes.
    """
    return [[float(t + 1 + INPUT_OFFSET_MS) for t in np.flatnonzero(raster[:, j])]
            for j in range(raster.shape[1])]


INPUT_OFFSET_MS = 2
# A new i_offset acts from the step after the one it is set in: the biases are switched on one
# step before the first step of the presentation (checked spike for spike against the fast path).
LEAD_IN_SHIFT = 1


@contextlib.contextmanager
def quiet():
    """Swallow what the simulators print to stdout and stderr (banners, progress bars)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def run_nest(meta: dict, arrays: dict, samples: int, progress: bool = False) -> dict:
    """Run the first ``samples`` inputs in NEST; spike rasters per layer (bool, sample x step x n).

    The neuron model is NEST's grid-based ``iaf_psc_delta`` (``spike_precision="on_grid"``).
    Between samples the drive is switched off, NEST flushes and resets, and every membrane is
    set back to 0.
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    warnings.filterwarnings("ignore")
    with quiet():
        import pyNN.nest as sim

        # PyNN 0.13 maps no initial value of IF_curr_delta to NEST's V_m: without this, 'v'
        # is ignored with a warning and membranes start at -70 mV after every reset.
        sim.IF_curr_delta.variable_map = {"v": "V_m"}
        sim.IF_curr_delta.scale_factors = {"v": 1}
        sim.setup(timestep=1.0, min_delay=1.0, t_flush=100.0, spike_precision="on_grid")
        sim.nest.set_verbosity("M_ERROR")
    steps = meta["steps"]
    spikes_in = meta["input"] == "spikes"
    offset = INPUT_OFFSET_MS if spikes_in else 0
    started = time.perf_counter()
    with quiet():
        groups = build(sim, meta, arrays, for_nest=True)
        for group in groups:
            group.record("spikes")
    build_s = time.perf_counter() - started
    layers = groups[1:] if spikes_in else groups
    static = [arrays[f"L{i}_i_offset"] for i in range(len(meta["layers"]))]
    rasters = [np.zeros((samples, steps, g.size), dtype=bool) for g in layers]
    started = time.perf_counter()
    for k in range(samples):
        with quiet():
            if k > 0:
                for group in layers:  # no drive while NEST flushes: nothing left in flight
                    group.set(i_offset=0.0)
                sim.reset()
                for i, group in enumerate(layers):
                    group.set(i_offset=static[i])
                    group.initialize(v=0.0)
            if spikes_in:
                times = spike_times(arrays["input_spikes"][k])
                for lo, hi, pop in groups[0].blocks:
                    pop.set(spike_times=[sim.Sequence(t) for t in times[lo:hi]])
                for group in layers:  # no bias during the lead-in before the first input
                    group.set(i_offset=0.0)
                sim.run(offset - LEAD_IN_SHIFT)
                for i, group in enumerate(layers):
                    group.set(i_offset=static[i])
                sim.run(steps + LEAD_IN_SHIFT)
            else:
                layers[0].set(i_offset=static[0] + arrays["input_current"][k])
                sim.run(steps)
        for i, group in enumerate(layers):
            for lo, _, pop in group.blocks:
                segment = pop.get_data("spikes", clear=True).segments[-1]
                origin = float(segment.t_start) if segment.t_start is not None else 0.0
                for j, train in enumerate(segment.spiketrains):
                    for t in np.asarray(train.magnitude) - origin:
                        step = int(round(t)) - 1 - offset  # NEST stamps step t at (t + 1) ms
                        if 0 <= step < steps:
                            rasters[i][k, step, lo + j] = True
        if progress:
            print(f"sample {k + 1}/{samples}", file=sys.stderr, flush=True)
    per_sample_s = (time.perf_counter() - started) / max(samples, 1)
    with quiet():
        sim.end()
    return {"rasters": rasters, "build_s": build_s, "per_sample_s": per_sample_s}


SPINNAKER_CFG = """[Machine]
version = 5
virtual_board = True

[Mode]
mode = Production

[Reports]
default_report_file_path = {reports}
display_algorithm_timings = False
max_reports_kept = 1

[Logging]
instantiate = False
default = error
"""


def configure_spinnaker(folder: str, virtual: bool = True) -> None:
    """Point sPyNNaker at a config in ``folder``; its reports and logs go there too.

    sPyNNaker refuses to start without a user config (and writes a template into ``$HOME``):
    ``XDG_CONFIG_HOME`` makes it read ``folder/.spynnaker.cfg`` instead.
    """
    cfg = SPINNAKER_CFG.format(reports=os.path.join(folder, "reports"))
    if not virtual:
        cfg = cfg.replace("virtual_board = True", "virtual_board = False")
    os.makedirs(os.path.join(folder, "reports"), exist_ok=True)
    with open(os.path.join(folder, ".spynnaker.cfg"), "w", encoding="utf-8") as fh:
        fh.write(cfg)
    os.environ["XDG_CONFIG_HOME"] = folder
    os.environ.setdefault("MPLCONFIGDIR", os.path.join(folder, "mpl"))
    for name in ("spinn_utilities", "spinn_machine", "spinnman", "pacman", "spalloc",
                 "spinn_front_end_common", "spynnaker", "pyNN"):
        logging.getLogger(name).setLevel(logging.ERROR)


def place_on_spinnaker(meta: dict, arrays: dict, neurons_per_core: int = 0) -> dict:
    """Map the network onto a virtual SpiNN-5 board with sPyNNaker; return its placement.

    A virtual board maps (partitioning, placement, routing tables) without hardware and records
    nothing: the result has cores, chips and routes per population, not spikes.
    """
    folder = tempfile.mkdtemp(prefix="neuropipe-spinnaker-")
    # sPyNNaker's own exit hooks still write into the folder: remove it after them (exit hooks
    # run last-registered first, and sPyNNaker registers its own when imported, below).
    atexit.register(shutil.rmtree, folder, True)
    configure_spinnaker(folder)
    os.chdir(folder)  # anything sPyNNaker still writes lands in the temporary folder
    started = time.perf_counter()
    with quiet():
        import pyNN.spiNNaker as sim
        from spinn_front_end_common.data import FecDataView

        sim.setup(timestep=1.0, min_delay=1.0)
        if neurons_per_core:
            sim.set_number_of_neurons_per_core(sim.IF_curr_delta, neurons_per_core)
        times = None
        if meta["input"] == "spikes":
            times = spike_times(arrays["input_spikes"][0]) if len(arrays["input_spikes"]) \
                else None
        groups = build(sim, meta, arrays, for_nest=False, input_spike_times=times)
        sim.run(meta["steps"])
    mapping_s = time.perf_counter() - started
    result = {"mapping_s": mapping_s, "populations": [], "routing_entries_per_chip": {}}
    machine = FecDataView.get_machine()
    routes = FecDataView.get_routing_table_by_partition()
    for group in groups:
        cores = []
        for lo, _, pop in group.blocks:
            app_vertex = pop._vertex  # noqa: SLF001 - the public API has no placement accessor
            partitions = list(FecDataView.get_outgoing_edge_partitions_starting_at_vertex(
                app_vertex))
            for vertex in app_vertex.machine_vertices:
                where = FecDataView.get_placement_of_vertex(vertex)
                chips = set()
                for partition in partitions:
                    chips |= _route_chips(vertex, partition.identifier, (where.x, where.y),
                                          routes, machine)
                cores.append({"lo_atom": lo + int(vertex.vertex_slice.lo_atom),
                              "hi_atom": lo + int(vertex.vertex_slice.hi_atom),
                              "x": int(where.x), "y": int(where.y), "p": int(where.p),
                              "route_chips": len(chips)})
        cores.sort(key=lambda c: c["lo_atom"])
        result["populations"].append({"label": group.label, "size": int(group.size),
                                      "blocks": len(group.blocks), "cores": cores})
    for table in FecDataView.get_uncompressed().routing_tables:
        result["routing_entries_per_chip"][f"{table.x},{table.y}"] = int(
            table.number_of_entries)
    result["machine_chips"] = int(machine.n_chips)
    with quiet():
        sim.end()
    return result


def _route_chips(vertex, partition_id: str, start: tuple, routes, machine) -> set:
    """Chips a multicast packet from ``vertex`` passes (source chip included)."""
    seen, queue = set(), [start]
    while queue:
        xy = queue.pop()
        if xy in seen:
            continue
        entry = routes.get_entry_on_coords_for_edge(vertex, partition_id, *xy)
        if entry is None:
            entry = routes.get_entry_on_coords_for_edge(vertex.app_vertex, partition_id, *xy)
        if entry is None:
            continue
        seen.add(xy)
        queue.extend(machine.xy_over_link(*xy, link) for link in entry.link_ids)
    return seen


def main(argv: list | None = None) -> int:
    """Command line: ``nest`` runs samples and saves rasters; ``spinnaker`` maps and saves JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("simulator", choices=("nest", "spinnaker"))
    parser.add_argument("network", help="network.npz written by neuropipe")
    parser.add_argument("--samples", type=int, default=None, help="samples to run (nest)")
    parser.add_argument("--neurons-per-core", type=int, default=0)
    parser.add_argument("--out", required=True, help="spikes .npz (nest) or placement .json")
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    meta, arrays = load(args.network)
    if args.simulator == "nest":
        available = len(arrays.get("input_spikes", arrays.get("input_current", [])))
        samples = available if args.samples is None else min(args.samples, available)
        result = run_nest(meta, arrays, samples)
        tmp = out + ".tmp.npz"
        np.savez(tmp, build_s=result["build_s"], per_sample_s=result["per_sample_s"],
                 **{f"L{i}": r for i, r in enumerate(result["rasters"])})
        os.replace(tmp, out)
    else:
        result = place_on_spinnaker(meta, arrays, args.neurons_per_core)
        tmp = out + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=1)
        os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
