"""``targets/spinnaker/pynn_network.py`` in this process, on networks of a few neurons, by hand.

The script's reader (``load``), its ``IF_curr_delta`` parameters, the input spike times, the NEST
run (pyNN.nest, ``iaf_psc_delta`` on the grid: about 1 s to import, then milliseconds per run)
with analogue and spike input, self-recurrence, layers of more than 256 neurons split into
blocks, the command line's ``nest`` branch, the sPyNNaker form of ``build`` (checked on
pyNN.nest's connections, without sPyNNaker) and ``configure_spinnaker``'s files. Every raster is
worked out step by step in the comments: a spike of step t reaches the next layer at t + 1.
IF neurons here have tau_m = 60,000 ms: a leak of 1.7e-5 of v per step, far below every margin.
"""

import json
import logging
import os
import shutil
import tempfile
import time

import numpy as np
import pytest

from neuropipe.targets.spinnaker import pynn_network as pn

IF = 60_000.0


def layer(arrays, i, n, thresh, i_offset, reset=None, pre=(), post=(), weight=(), tau=None,
          rest=None):
    arrays[f"L{i}_tau_m"] = np.full(n, IF) if tau is None else np.asarray(tau, dtype=float)
    arrays[f"L{i}_v_rest"] = np.zeros(n) if rest is None else np.asarray(rest, dtype=float)
    arrays[f"L{i}_v_reset"] = np.zeros(n) if reset is None else np.asarray(reset, dtype=float)
    arrays[f"L{i}_v_thresh"] = np.asarray(thresh, dtype=float)
    arrays[f"L{i}_i_offset"] = np.asarray(i_offset, dtype=float)
    arrays[f"L{i}_pre"] = np.asarray(pre, dtype=np.int64)
    arrays[f"L{i}_post"] = np.asarray(post, dtype=np.int64)
    arrays[f"L{i}_weight"] = np.asarray(weight, dtype=float)


def meta_of(kind, input_size, steps, sizes):
    return {"format": pn.FORMAT, "version": pn.FORMAT_VERSION, "input": kind,
            "input_size": input_size, "steps": steps, "timesteps": steps - 1,
            "layers": [{"name": name, "size": n} for name, n in sizes]}


def current_network():
    """3 + 2 IF neurons, analogue input, a signed L0 -> L1 projection and L1 onto itself."""
    arrays = {}
    # L0: thresholds [1, 1, 2], n2 resets to -1, a bias of 0.3 nA on n0 (1 nA = 1 mV a step).
    layer(arrays, 0, 3, [1.0, 1.0, 2.0], [0.3, 0.0, 0.0], reset=[0.0, 0.0, -1.0])
    # L1: thresholds 0.5, bias -0.05 on n1; L0 -> L1 (pre, post, mV): (0, 0) 0.6, (2, 0) -0.4,
    # (1, 1) 0.7, (2, 1) 0.2; L1 -> L1: (1, 0) 0.45.
    layer(arrays, 1, 2, [0.5, 0.5], [0.0, -0.05], pre=[0, 2, 1, 2], post=[0, 0, 1, 1],
          weight=[0.6, -0.4, 0.7, 0.2])
    arrays["L1_rec_pre"], arrays["L1_rec_post"] = np.array([1]), np.array([0])
    arrays["L1_rec_weight"] = np.array([0.45])
    # The host's current of 3 samples (the last is never run below).
    arrays["input_current"] = np.array([[0.45, 0.4, 1.1], [0.0, 0.55, 0.9], [5.0, 5.0, 5.0]])
    return meta_of("current", 4, 5, [("fc0", 3), ("fc1", 2)]), arrays


def spikes(raster):
    return sorted(map(tuple, np.argwhere(raster).tolist()))


def test_run_nest_with_analogue_input_by_hand():
    meta, arrays = current_network()
    result = pn.run_nest(meta, arrays, 2)
    l0, l1 = result["rasters"]
    assert l0.shape == (2, 5, 3) and l1.shape == (2, 5, 2) and l0.dtype == bool
    # L0, a step adding the bias plus the sample's current, from v = 0 in each sample:
    # sample 0: n0 0.75 a step: 0.75, 1.5 > 1 (step 1, reset 0), 0.75, 1.5 (step 3), 0.75;
    # n1 0.4: 0.4, 0.8, 1.2 (step 2), 0.4, 0.8; n2 1.1 against 2: 1.1, 2.2 (step 1, reset -1),
    # 0.1, 1.2, 2.3 (step 4).
    # sample 1: n0 0.3 (its bias): 0.3, 0.6, 0.9, 1.2 (step 3), 0.3; n1 0.55: 0.55, 1.1
    # (step 1), 0.55, 1.1 (step 3), 0.55; n2 0.9: 0.9, 1.8, 2.7 (step 2, reset -1), -0.1, 0.8.
    assert spikes(l0) == [(0, 1, 0), (0, 1, 2), (0, 2, 1), (0, 3, 0), (0, 4, 2),
                          (1, 1, 1), (1, 2, 2), (1, 3, 0), (1, 3, 1)]
    # L1 adds L0's spikes of the step before, and n0 L1 n1's of the step before (0.45):
    # sample 0: n0 step 2 0.6 - 0.4 (L0 n0, n2 of step 1) = 0.2, step 3 0.2 (n1 has no
    # synapse on n0), step 4 + 0.6 (L0 n0 of 3) + 0.45 (L1 n1 of 3) = 1.25 > 0.5: spike at 4.
    # n1 -0.05 a step: -0.05, -0.1, -0.1 + 0.2 - 0.05 = 0.05, 0.05 + 0.7 - 0.05 = 0.7 (spike,
    # step 3), -0.05.
    # sample 1: n1 -0.05, -0.05 + 0.7 - 0.05 = 0.6 (spike, step 2, from L0 n1 of 1), -0.05 + 0.2
    # = 0.15 (L0 n2 of 2), 0.15 + 0.7 - 0.05 = 0.8 (spike, step 4, L0 n1 of 3).
    # n0: step 3 -0.4 (L0 n2 of 2) + 0.45 (L1 n1 of 2) = 0.05, step 4 0.05 + 0.6 (L0 n0 of 3)
    # = 0.65 > 0.5: a spike at 4 that only the recurrent synapse gives.
    assert spikes(l1) == [(0, 3, 1), (0, 4, 0), (1, 2, 1), (1, 4, 0), (1, 4, 1)]
    assert result["build_s"] >= 0 and result["per_sample_s"] >= 0


def test_the_samples_start_again_from_zero_with_their_biases():
    # Sample 1 alone is what it is after sample 0: nothing carried over (membranes, biases,
    # spikes in flight); sample 2's huge current spikes every neuron of L0 every step.
    meta, arrays = current_network()
    alone = dict(arrays, input_current=arrays["input_current"][1:2])
    one = pn.run_nest(meta, alone, 1)["rasters"]
    both = pn.run_nest(meta, arrays, 3)["rasters"]
    assert spikes(one[0]) == [(0, 1, 1), (0, 2, 2), (0, 3, 0), (0, 3, 1)]
    for a, b in zip(one, both, strict=True):
        assert np.array_equal(a[0], b[1])
    assert both[0][2].all()


def spike_network():
    """Spike input: 3 inputs onto 2 IF neurons (threshold 1, bias 0.2 nA on n1)."""
    arrays = {}
    # (pre, post, mV): (0, 0) 0.6, (1, 0) 0.5, (2, 1) 1.2, (1, 1) -0.3.
    layer(arrays, 0, 2, [1.0, 1.0], [0.0, 0.2], pre=[0, 1, 2, 1], post=[0, 0, 1, 1],
          weight=[0.6, 0.5, 1.2, -0.3])
    raster = np.zeros((2, 3, 3), dtype=bool)  # sample x step x input
    raster[0, 0, 0] = raster[0, 1, 0] = raster[0, 1, 1] = raster[0, 2, 2] = True
    raster[1, 0, 2] = raster[1, 2, 0] = True
    arrays["input_spikes"] = raster
    return meta_of("spikes", 3, 4, [("fc0", 2)]), arrays


def test_run_nest_with_spike_input_by_hand():
    meta, arrays = spike_network()
    (l0,) = pn.run_nest(meta, arrays, 2)["rasters"]
    assert l0.shape == (2, 4, 2)
    # An input spike of step t arrives at step t + 1; the bias acts from step 0 (not in the
    # lead-in before it). Sample 0: n0 step 1 0.6 (input 0 of 0), step 2 + 0.6 + 0.5 = 1.7
    # (inputs 0, 1 of 1): spike at 2; n1 0.2, 0.4, 0.4 + 0.2 - 0.3 = 0.3, 0.3 + 0.2 + 1.2 = 1.7
    # (input 2 of 2): spike at 3. Sample 1: n0 0.6 at step 3 only; n1 0.2, 0.2 + 0.2 + 1.2 =
    # 1.6 (input 2 of 0): spike at 1, then 0.2, 0.4.
    assert spikes(l0) == [(0, 2, 0), (0, 3, 1), (1, 1, 1)]


def test_a_membrane_at_its_threshold_does_not_spike_and_recurrence_keeps_its_sign():
    # Input 0 spikes at steps 0 and 1 onto 2 IF neurons, threshold 1: (0, 0) 1.0, (0, 1) 1.5;
    # recurrent (1 -> 0) -1.2. n0 at step 1: v = 1.0 exactly (from 0, a delta synapse adds
    # its weight as it is), not above 1: no spike (NEST spikes at V >= V_th, hence the
    # threshold one double higher). n1: 1.5 at step 1 (spike), 1.5 again at 2 (spike). n0 at
    # step 2: 1.0 less the leak + 1.0 - 1.2 (n1's spike of step 1) = 0.79998; at 3, -1.2 (n1's
    # spike of 2): never a spike. (Were the inhibitory weight +1.2, n0 would spike at 2.)
    arrays = {}
    layer(arrays, 0, 2, [1.0, 1.0], [0.0, 0.0], pre=[0, 0], post=[0, 1], weight=[1.0, 1.5])
    arrays["L0_rec_pre"], arrays["L0_rec_post"] = np.array([1]), np.array([0])
    arrays["L0_rec_weight"] = np.array([-1.2])
    arrays["input_spikes"] = np.array([[[True], [True]]])
    (l0,) = pn.run_nest(meta_of("spikes", 1, 4, [("fc0", 2)]), arrays, 1)["rasters"]
    assert spikes(l0) == [(0, 1, 1), (0, 2, 1)]


def test_a_layer_of_300_neurons_runs_as_two_blocks():
    # L0 (analogue input): 300 IF neurons, threshold 1; only n0 (1.5 a step: every step),
    # n255 (0.6: steps 1, 3), n256 (0.4: step 2) and n299 (1.2: every step) are driven.
    # L1: (255 -> 0) 0.6, (256 -> 1) 0.7, (299 -> 1) -0.3, (0 -> 0) 0.1, threshold 0.5:
    # n0: step 1 0.1, step 2 0.1 + 0.1 + 0.6 = 0.8 (spike), step 3 0.1, step 4 0.2 + 0.6 = 0.8
    # (spike); n1: -0.3 a step from step 1: -0.3, -0.6, -0.9 + 0.7 = -0.2 at 3, -0.5 at 4.
    arrays = {}
    current = np.zeros(300)
    current[[0, 255, 256, 299]] = [1.5, 0.6, 0.4, 1.2]
    layer(arrays, 0, 300, np.ones(300), np.zeros(300))
    layer(arrays, 1, 2, [0.5, 0.5], [0.0, 0.0], pre=[255, 256, 299, 0], post=[0, 1, 1, 0],
          weight=[0.6, 0.7, -0.3, 0.1])
    arrays["input_current"] = current[None]
    l0, l1 = pn.run_nest(meta_of("current", 784, 5, [("fc0", 300), ("fc1", 2)]), arrays,
                         1)["rasters"]
    assert sorted((t, j) for _, t, j in spikes(l0)) == sorted(
        [(t, 0) for t in range(5)] + [(t, 299) for t in range(5)]
        + [(1, 255), (3, 255), (2, 256)])
    assert spikes(l1) == [(0, 2, 0), (0, 4, 0)]


def test_a_layer_of_258_neurons_gets_its_synapses_in_each_block():
    # Spike input (inputs 0 at step 0, 1 at step 1) onto 258 IF neurons, threshold 1: blocks
    # [0:256] and [256:258]. Synapses (pre, post, mV): (0, 0) 1.5, (0, 255) 0.8, (1, 256)
    # -0.4, (0, 257) -0.4: the second block gets only inhibitory synapses. Biases 0.3 nA on
    # n255, 0.45 on n256 and n257.
    # n0: 1.5 at step 1 (input 0 of step 0): spike at 1.
    # n255: 0.3, 0.3 + 0.3 + 0.8 = 1.4 (spike, step 1), 0.3, 0.6.
    # n256: 0.45, 0.9, 0.9 + 0.45 - 0.4 = 0.95 (input 1 of step 1), 1.4: spike at 3.
    # n257: 0.45, 0.45 + 0.45 - 0.4 = 0.5 (input 0 of step 0), 0.95, 1.4: spike at 3.
    # Without the inhibitory synapses n256 and n257 would spike at 2.
    arrays = {}
    bias = np.zeros(258)
    bias[[255, 256, 257]] = [0.3, 0.45, 0.45]
    layer(arrays, 0, 258, np.ones(258), bias, pre=[0, 0, 1, 0], post=[0, 255, 256, 257],
          weight=[1.5, 0.8, -0.4, -0.4])
    raster = np.zeros((1, 3, 2), dtype=bool)
    raster[0, 0, 0] = raster[0, 1, 1] = True
    arrays["input_spikes"] = raster
    (l0,) = pn.run_nest(meta_of("spikes", 2, 4, [("fc0", 258)]), arrays, 1)["rasters"]
    assert spikes(l0) == [(0, 1, 0), (0, 1, 255), (0, 3, 256), (0, 3, 257)]


def test_run_nest_times_itself_and_prints_progress_only_when_asked(capsys):
    meta, arrays = current_network()
    started = time.perf_counter()
    result = pn.run_nest(meta, arrays, 2)
    elapsed = time.perf_counter() - started
    # Building and the samples' runs are parts of the call.
    assert 0 < result["build_s"] < elapsed and 0 < 2 * result["per_sample_s"] < elapsed
    assert capsys.readouterr().err == ""
    pn.run_nest(meta, arrays, 2, progress=True)
    assert capsys.readouterr().err == "sample 1/2\nsample 2/2\n"


class Clock:
    """A clock that moves 1 s each time it is read."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("samples, per_sample", [(2, 0.5), (0, 1.0)])
def test_the_time_per_sample_is_the_runs_time_over_the_samples(monkeypatch, samples,
                                                               per_sample):
    # Read 4 times: before and after building (1 s), before and after the samples (1 s over
    # 2 samples: 0.5 s each; over none, the whole 1 s).
    monkeypatch.setattr(pn, "time", Clock())
    meta, arrays = current_network()
    result = pn.run_nest(meta, arrays, samples)
    assert (result["build_s"], result["per_sample_s"]) == (1.0, per_sample)
    assert result["rasters"][0].shape == (samples, 5, 3)


def _saved_and_run(tmp_path, network, samples):
    """``network`` written as ``network.npz`` and run by the command line on ``samples``."""
    meta, arrays = network
    path = tmp_path / "network.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    out = tmp_path / "spikes.npz"
    assert pn.main(["nest", str(path), "--samples", str(samples), "--out", str(out)]) == 0
    return path, out


def test_the_command_line_runs_nest_and_saves_each_layer(tmp_path):
    path, out = _saved_and_run(tmp_path, current_network(), 2)
    with np.load(out) as data:
        assert sorted(data.files) == ["L0", "L1", "build_s", "per_sample_s"]
        assert data["L0"].shape == (2, 5, 3) and data["L1"].shape == (2, 5, 2)
        assert spikes(data["L1"]) == [(0, 3, 1), (0, 4, 0), (1, 2, 1), (1, 4, 0), (1, 4, 1)]
        assert data["build_s"].dtype == data["per_sample_s"].dtype == np.float64
        assert data["build_s"] > 0 and data["per_sample_s"] > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["network.npz", "spikes.npz"]
    # Without --samples every sample of the file (3); more than it has: all of them.
    for extra in ([], ["--samples", "9"]):
        assert pn.main(["nest", str(path), "--out", str(out), *extra]) == 0
        with np.load(out) as data:
            assert data["L0"].shape == (3, 5, 3) and data["L0"][2].all()


@pytest.mark.parametrize("argv, said", [
    (["loihi", "n.npz", "--out", "o"], "invalid choice: 'loihi'"),
    (["nest", "n.npz"], "the following arguments are required: --out")])
def test_the_command_line_refuses_another_simulator_or_no_out(argv, said, capsys):
    # Exit 2 from argparse before anything is read (n.npz does not exist).
    with pytest.raises(SystemExit) as info:
        pn.main(argv)
    assert info.value.code == 2 and said in capsys.readouterr().err


def test_the_command_line_reads_a_spike_network(tmp_path):
    _, out = _saved_and_run(tmp_path, spike_network(), 1)
    with np.load(out) as data:
        assert sorted(data.files) == ["L0", "build_s", "per_sample_s"]
        assert spikes(data["L0"]) == [(0, 2, 0), (0, 3, 1)]


# load, cell_parameters, spike_times ---------------------------------------------------------

def test_load_reads_meta_and_arrays(tmp_path):
    meta, arrays = spike_network()
    path = tmp_path / "n.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    got_meta, got = pn.load(str(path))
    assert got_meta == meta and "meta" not in got and sorted(got) == sorted(arrays)
    assert got["L0_weight"].tolist() == [0.6, 0.5, 1.2, -0.3]


@pytest.mark.parametrize("change", [{"format": "other"}, {"version": 2}, {"format": None}])
def test_load_refuses_another_format_or_version(tmp_path, change):
    meta, arrays = spike_network()
    meta = {k: v for k, v in {**meta, **change}.items() if v is not None}
    path = tmp_path / "n.npz"
    np.savez(path, meta=np.array(json.dumps(meta)), **arrays)
    with pytest.raises(ValueError) as info:
        pn.load(str(path))
    assert str(info.value) == f"{path} is not a neuropipe-pynn-network file of version 1"


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "n.npz"
    np.savez(path, meta=np.array(json.dumps(spike_network()[0])),
             L0_pre=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        pn.load(str(path))


def test_cell_parameters_of_a_layer_for_nest_and_for_spinnaker():
    arrays = {}
    layer(arrays, 0, 2, [9.0, 9.0], [0.0, 0.0])
    layer(arrays, 1, 2, np.array([0.5, 1.25], dtype=np.float32), [0.1, -0.2], reset=[-0.3, 0.4],
          tau=[20.0, 5.0], rest=[0.7, -0.6])
    p = pn.cell_parameters(arrays, 1, for_nest=False)
    assert sorted(p) == ["cm", "i_offset", "tau_m", "tau_refrac", "v_reset", "v_rest",
                         "v_thresh"]
    assert p["cm"] == 1.0 and p["tau_refrac"] == 0.0
    assert p["tau_m"].tolist() == [20.0, 5.0] and p["v_rest"].tolist() == [0.7, -0.6]
    assert p["v_reset"].tolist() == [-0.3, 0.4] and p["i_offset"].tolist() == [0.1, -0.2]
    assert p["v_thresh"].dtype == np.float64 and p["v_thresh"].tolist() == [0.5, 1.25]
    # For NEST (V >= V_th) the next double above: 0.5 + 2^-53, 1.25 + 2^-52.
    q = pn.cell_parameters(arrays, 1, for_nest=True)
    assert q["v_thresh"].tolist() == [0.5 + 2.0 ** -53, 1.25 + 2.0 ** -52]
    assert all(np.array_equal(q[k], p[k]) for k in p if k != "v_thresh")


def test_spike_times_of_a_raster():
    # Step t is stamped t + 1 + 2 ms: input 0 at steps 0, 2 -> 3, 5 ms; input 2 at 1 -> 4 ms.
    raster = np.array([[1, 0, 0], [0, 0, 1], [1, 0, 0]], dtype=bool)
    times = pn.spike_times(raster)
    assert times == [[3.0, 5.0], [], [4.0]]
    assert all(isinstance(t, float) for t in times[0])


# build for sPyNNaker, on pyNN.nest's connections --------------------------------------------

def times_of(sequence):
    return np.asarray(sequence.value, dtype=float).ravel().tolist()


def test_build_for_spinnaker_splits_signs_into_positive_weights():
    meta, arrays = spike_network()
    with pn.quiet():
        import pyNN.nest as sim

        sim.setup(timestep=1.0, min_delay=1.0, spike_precision="on_grid")
    try:
        groups = pn.build(sim, meta, arrays, for_nest=False)
        assert [g.label for g in groups] == ["input", "fc0"]
        assert [(lo, hi, pop.label, pop.size) for g in groups for lo, hi, pop in g.blocks] == [
            (0, 3, "input", 3), (0, 2, "fc0", 2)]
        # No spike times given: an empty source would crash sPyNNaker, so input 0 gets one
        # after the run, at steps + 2 + 10 = 16 ms.
        assert [times_of(s) for s in groups[0].blocks[0][2].get("spike_times")] == [
            [16.0], [], []]
        pop = groups[1].blocks[0][2]
        # The threshold as given, not nudged up (that is NEST's).
        assert pop.get("v_thresh", simplify=False).tolist() == [1.0, 1.0]
        assert pop.get("tau_refrac", simplify=False).tolist() == [0.0, 0.0]
        got = sim.nest.GetConnections().get(["source", "target", "weight", "delay"])
        ids = {**{n: ("in", j) for j, n in enumerate(
                   groups[0].blocks[0][2].node_collection.tolist())},
               **{n: ("fc0", j) for j, n in enumerate(pop.node_collection.tolist())}}
        # Every synapse once, with a delay of 1 ms; -0.3 as 0.3 (sPyNNaker's inhibitory
        # projection takes the sign; NEST here cannot tell the receptors of a delta synapse).
        assert sorted((ids[s], ids[t], w, d) for s, t, w, d in zip(
            got["source"], got["target"], got["weight"], got["delay"], strict=True)) == [
            (("in", 0), ("fc0", 0), 0.6, 1.0), (("in", 1), ("fc0", 0), 0.5, 1.0),
            (("in", 1), ("fc0", 1), 0.3, 1.0), (("in", 2), ("fc0", 1), 1.2, 1.0)]
    finally:
        with pn.quiet():
            sim.end()


def test_build_for_spinnaker_gives_empty_sources_of_a_later_block_none():
    # 258 inputs: blocks [0:256] (input 3 spikes at 3 ms) and [256:258] (no spikes: its first
    # source gets the late spike at steps + 2 + 10 = 16 ms); a block with spikes keeps them.
    meta = meta_of("spikes", 258, 4, [("fc0", 1)])
    arrays = {}
    layer(arrays, 0, 1, [1.0], [0.0], pre=[3, 257], post=[0, 0], weight=[0.5, -0.5])
    times = [[] for _ in range(258)]
    times[3] = [3.0]
    with pn.quiet():
        import pyNN.nest as sim

        sim.setup(timestep=1.0, min_delay=1.0, spike_precision="on_grid")
    try:
        groups = pn.build(sim, meta, arrays, for_nest=False, input_spike_times=times)
        assert [(lo, hi, pop.label) for lo, hi, pop in groups[0].blocks] == [
            (0, 256, "input[0:256]"), (256, 258, "input[256:258]")]
        low = groups[0].blocks[0][2].get("spike_times")
        assert times_of(low[3]) == [3.0] and sum(len(times_of(s)) for s in low) == 1
        high = groups[0].blocks[1][2].get("spike_times")
        assert [times_of(s) for s in high] == [[16.0], []]
        got = sim.nest.GetConnections(target=groups[1].blocks[0][2].node_collection).get(
            ["weight"])
        assert sorted(got["weight"]) == [0.5, 0.5]
    finally:
        with pn.quiet():
            sim.end()


# configure_spinnaker -------------------------------------------------------------------------

def test_configure_spinnaker_writes_its_config_and_points_spinnaker_at_it(tmp_path,
                                                                          monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("MPLCONFIGDIR", raising=False)
    names = ("spinn_utilities", "spinn_machine", "spinnman", "pacman", "spalloc",
             "spinn_front_end_common", "spynnaker", "pyNN")
    for name in names:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    pn.configure_spinnaker(str(tmp_path / "a"))
    cfg = (tmp_path / "a" / ".spynnaker.cfg").read_text(encoding="utf-8")
    assert "virtual_board = True" in cfg and "version = 5" in cfg
    assert f"default_report_file_path = {tmp_path / 'a' / 'reports'}\n" in cfg
    assert (tmp_path / "a" / "reports").is_dir()
    assert os.environ["XDG_CONFIG_HOME"] == str(tmp_path / "a")
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "a" / "mpl")
    # Again in the same folder (a second run): the same file.
    pn.configure_spinnaker(str(tmp_path / "a"))
    assert (tmp_path / "a" / ".spynnaker.cfg").read_text(encoding="utf-8") == cfg
    assert [logging.getLogger(name).level for name in names] == [logging.ERROR] * 8
    # A real board; MPLCONFIGDIR already set is kept.
    pn.configure_spinnaker(str(tmp_path / "b"), virtual=False)
    cfg = (tmp_path / "b" / ".spynnaker.cfg").read_text(encoding="utf-8")
    assert "\nvirtual_board = False\n" in cfg and "virtual_board = True" not in cfg
    assert os.environ["XDG_CONFIG_HOME"] == str(tmp_path / "b")
    assert os.environ["MPLCONFIGDIR"] == str(tmp_path / "a" / "mpl")


# _route_chips, on a routing table written by hand (what sPyNNaker's mapping gives) ------------

class Entry:
    def __init__(self, *links):
        self.link_ids = links


class Routes:
    """Entries per (vertex, partition, x, y); sPyNNaker keys some by the application vertex."""

    def __init__(self, table):
        self.table = table

    def get_entry_on_coords_for_edge(self, vertex, partition_id, x, y):
        return self.table.get((vertex, partition_id, x, y))


class Machine:
    """Links 0 east (x + 1), 1 north (y + 1), 2 west (x - 1), 3 south (y - 1)."""

    def xy_over_link(self, x, y, link):
        return {0: (x + 1, y), 1: (x, y + 1), 2: (x - 1, y), 3: (x, y - 1)}[link]


class Vertex:
    app_vertex = "app"


def test_route_chips_follows_the_links_of_each_chips_entry():
    v = Vertex()
    # (0, 0) sends east to (1, 0), which sends north to (1, 1) and east to (2, 0); (2, 0) has
    # no entry for this partition (only another partition's: the packet leaves the route there)
    # and is popped first (last in); (1, 1) has an entry keyed by the application vertex only,
    # east to (2, 1), whose entry sends nowhere.
    routes = Routes({(v, "p", 0, 0): Entry(0), (v, "p", 1, 0): Entry(1, 0),
                     ("app", "p", 1, 1): Entry(0), (v, "p", 2, 1): Entry(),
                     (v, "q", 2, 0): Entry(1)})
    assert pn._route_chips(v, "p", (0, 0), routes, Machine()) == {
        (0, 0), (1, 0), (1, 1), (2, 1)}
    # A loop: (0, 0) east, (1, 0) north, (1, 1) west, (0, 1) north and south: (0, 0) again,
    # popped first and skipped, then (0, 2), which sends nowhere: 5 chips, each once.
    loop = Routes({(v, "p", 0, 0): Entry(0), (v, "p", 1, 0): Entry(1), (v, "p", 1, 1): Entry(2),
                   (v, "p", 0, 1): Entry(1, 3), (v, "p", 0, 2): Entry()})
    assert pn._route_chips(v, "p", (0, 0), loop, Machine()) == {
        (0, 0), (1, 0), (1, 1), (0, 1), (0, 2)}
    # No entry where the packet starts: no chip at all.
    assert pn._route_chips(v, "p", (5, 5), routes, Machine()) == set()


# place_on_spinnaker: sPyNNaker's mapping onto a virtual board, in this process (about 3 s) ---

def placed_network():
    # 3 inputs -> 300 neurons (two blocks: [0:256], [256:300]) -> 2 neurons.
    arrays = {}
    layer(arrays, 0, 300, np.ones(300), np.zeros(300), pre=[0, 1, 2], post=[0, 150, 299],
          weight=[0.5, -0.5, 0.7])
    layer(arrays, 1, 2, [1.0, 1.0], [0.0, 0.0], pre=[0, 299], post=[0, 1], weight=[0.5, 0.6])
    arrays["input_spikes"] = np.zeros((1, 3, 3), dtype=bool)
    return meta_of("spikes", 3, 4, [("fc0", 300), ("fc1", 2)]), arrays


def cores_of(population):
    return [(c["lo_atom"], c["hi_atom"], c["x"], c["y"], c["route_chips"])
            for c in population["cores"]]


class ExitHooks:
    """Records what the mapping leaves to run at exit (the removal of its temporary folder).

    Run at this process's exit, a later mapping's removal would come before sPyNNaker's own
    exit hook, which still writes into that folder; the folders are made in ``tmp_path`` here
    and left to pytest.
    """

    def __init__(self):
        self.calls = []

    def register(self, func, *args):
        self.calls.append((func, args))


@pytest.fixture
def spinnaker_env(tmp_path, monkeypatch):
    """sPyNNaker's settings (XDG_CONFIG_HOME...), working and temporary folders, restored after."""
    pytest.importorskip("spynnaker")
    for name in ("XDG_CONFIG_HOME", "MPLCONFIGDIR"):
        monkeypatch.setenv(name, str(tmp_path / "unused"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    hooks = ExitHooks()
    monkeypatch.setattr(pn, "atexit", hooks)
    return tmp_path, hooks


def only_folder(tmp_path):
    (folder,) = (tmp_path / "tmp").iterdir()
    return folder


def test_place_on_spinnaker_maps_each_block_onto_cores(spinnaker_env):
    # sPyNNaker's default of 256 neurons a core: fc0's blocks take a core each (0-255,
    # 256-299), the input and fc1 one each: 4 cores, all on chip (0, 0), so each route that
    # leaves a core passes 1 chip; fc1 sends nothing (0). One routing entry per core that
    # sends: 1 + 2 = 3.
    tmp_path, hooks = spinnaker_env
    meta, arrays = placed_network()
    started = time.perf_counter()
    result = pn.place_on_spinnaker(meta, arrays)
    elapsed = time.perf_counter() - started
    # Its temporary folder holds the config and the reports, and is removed at exit.
    folder = only_folder(tmp_path)
    assert folder.name.startswith("neuropipe-spinnaker-")
    assert (folder / ".spynnaker.cfg").is_file() and (folder / "reports").is_dir()
    assert os.getcwd() == str(folder)
    assert hooks.calls == [(shutil.rmtree, (str(folder), True))]
    assert [(p["label"], p["size"], p["blocks"]) for p in result["populations"]] == [
        ("input", 3, 1), ("fc0", 300, 2), ("fc1", 2, 1)]
    assert [cores_of(p) for p in result["populations"]] == [
        [(0, 2, 0, 0, 1)], [(0, 255, 0, 0, 1), (256, 299, 0, 0, 1)], [(0, 1, 0, 0, 0)]]
    cores = [c["p"] for p in result["populations"] for c in p["cores"]]
    assert len(set(cores)) == 4 and all(isinstance(p, int) for p in cores)
    assert result["routing_entries_per_chip"] == {"0,0": 3}
    assert result["machine_chips"] == 48  # one SpiNN-5 board
    assert 0 < result["mapping_s"] < elapsed


def test_the_command_line_maps_onto_spinnaker(spinnaker_env):
    # At most 100 neurons a core: fc0's first block of 256 takes 3 cores (0-99, 100-199,
    # 200-255), its second (256-299) one: 6 cores, 1 + 4 = 5 routing entries. Relative paths
    # are read from the folder it was started in (the mapping moves elsewhere).
    spinnaker_env, _ = spinnaker_env
    meta, arrays = placed_network()
    np.savez(spinnaker_env / "network.npz", meta=np.array(json.dumps(meta)), **arrays)
    assert pn.main(["spinnaker", "network.npz", "--out", "placement.json",
                    "--neurons-per-core", "100"]) == 0
    result = json.loads((spinnaker_env / "placement.json").read_text(encoding="utf-8"))
    assert [cores_of(p) for p in result["populations"]] == [
        [(0, 2, 0, 0, 1)],
        [(0, 99, 0, 0, 1), (100, 199, 0, 0, 1), (200, 255, 0, 0, 1), (256, 299, 0, 0, 1)],
        [(0, 1, 0, 0, 0)]]
    assert result["routing_entries_per_chip"] == {"0,0": 5}
    assert not (spinnaker_env / "placement.json.tmp").exists()
    # Analogue input (no input population), without --neurons-per-core: sPyNNaker's 256 a
    # core, fc0 on 2 cores and fc1 on 1; 2 routing entries (started again from the same
    # folder: the mapping left this process in its temporary folder).
    os.chdir(spinnaker_env)
    del arrays["input_spikes"]
    np.savez(spinnaker_env / "network.npz", meta=np.array(json.dumps(dict(meta, input="current"))),
             input_current=np.zeros((1, 300)), **arrays)
    assert pn.main(["spinnaker", "network.npz", "--out", "placement.json"]) == 0
    result = json.loads((spinnaker_env / "placement.json").read_text(encoding="utf-8"))
    assert [(p["label"], cores_of(p)) for p in result["populations"]] == [
        ("fc0", [(0, 255, 0, 0, 1), (256, 299, 0, 0, 1)]), ("fc1", [(0, 1, 0, 0, 0)])]
    assert result["routing_entries_per_chip"] == {"0,0": 2}
