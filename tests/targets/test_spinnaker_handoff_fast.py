"""The SpiNNaker handoff hook (``targets/spinnaker/handoff.py``) by hand, fast, without NEST.

A two-layer chain of 3 inputs, 2 + 2 IF neurons and 2 samples, deployed as ``network_file``
writes it; the reference the hook builds from it (inputs, host layer, encoding record, the fast
path's output raster) is worked out by hand below, and so is every refusal of a deployed
network file that is not the one the chain gives. Then the hook's file handling: the bundle's
network file, the script and placement copies, the resources read from ``placement.json``, the
script's command line and its output file.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from neuropipe.core.errors import RunDirError
from neuropipe.targets.chain import Chain, Layer, Neuron
from neuropipe.targets.handoff.encoding import InputEncoding
from neuropipe.targets.spinnaker import handoff, network, pynn_network
from neuropipe.targets.spinnaker import target as spin_target

IF_P30 = 60_000 * -math.expm1(-1 / 60_000)  # 0.9999917 mV per nA over 1 ms (IF, tau_m 60 s)


def dense(w, b, neuron, name):
    w = np.asarray(w, dtype=float)
    return Layer(name, "dense", w, np.asarray(b, dtype=float), (w.shape[1],), (w.shape[0],),
                 neuron, neuron_name=f"{name}_n")


def tiny_chain():
    # L0 (on the host for analogue input): IF, r 2 (gain 2), threshold 1.8, bias [0.35, 0].
    # L1: IF, r 1, threshold 0.5, weights (post, pre) [[1, 0], [0.4, 1]], no bias.
    l0 = dense([[1.0, 0.0, 0.5], [0.25, -1.0, 0.0]], [0.35, 0.0],
               Neuron("if", 1.0, 2.0, 0.0, 1.8), "fc0")
    l1 = dense([[1.0, 0.0], [0.4, 1.0]], [0.0, 0.0], Neuron("if", 1.0, 1.0, 0.0, 0.5), "fc1")
    return Chain(input_shape=(3,), layers=[l0, l1])


X = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]], dtype=np.float32)
LABELS = np.array([1, 0])
T, STEPS = 3, 4  # constant input: one delayed projection (L0 -> L1), so 3 + 1 steps

# The fast path by hand (IF: v += 2 (W x + b) per step on L0, less a leak of 1.7e-5 of v):
# sample 0: W x = [1.25, 0.25]; L0 n0 gets 2 (1.25 + 0.35) = 3.2 > 1.8 every step; L0 n1
# gets 0.5 a step: 0.5, 1.0, 1.5, 2.0 (less 4e-5) > 1.8 at step 3. L1 adds L0's spikes of the
# step before: steps 1-3 get [1, 0] -> n0 1 > 0.5 (spikes 1, 2, 3), n1 0.4, 0.8 (spike at 2),
# 0.4. Sample 1: W x = [0, -1]; L0 n0 0.7 a step: 0.7, 1.4, 2.1 > 1.8 at step 2, n1 never;
# L1 gets [1, 0] at step 3 only: n0 spikes at 3, n1 reaches 0.4.
FAST = np.array([[[0, 0], [1, 0], [1, 1], [1, 0]],
                 [[0, 0], [0, 0], [0, 0], [1, 0]]], dtype=bool)  # (sample, step, neuron)


def deployed(tmp_path, chain=None, encoding="constant", x=None, change=None):
    """A deployment's network.npz (in run/targets/spinnaker/) for other samples than X."""
    chain = chain or tiny_chain()
    x = np.array([[0.2, 0.4, 0.6]]) if x is None else x
    spikes = None if encoding == "constant" else np.ones((T, len(x), 3), dtype=bool)
    meta, arrays = network.network_file(chain, T, encoding, STEPS, x, spikes)
    if change:
        change(meta, arrays)
    path = tmp_path / "run" / "targets" / "spinnaker" / "network.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    network.write_network(str(path), meta, arrays)
    return path


def reference(path, encoding="constant", seed=7, x=X, chain=None):
    return handoff.spinnaker_reference(chain or tiny_chain(), path, x, LABELS, encoding, T,
                                       STEPS, seed, "mnist-test")


# spinnaker_reference: analogue input ---------------------------------------------------------

def test_the_reference_of_analogue_input_by_hand(tmp_path):
    path = deployed(tmp_path)
    ref = reference(path)
    assert ref.fast_output.dtype == bool and ref.fast_output.shape == (2, 4, 2)
    assert ref.fast_output.tolist() == FAST.tolist()
    assert ref.fast_output.flags["C_CONTIGUOUS"]
    # inputs.npz: the images as float32, the labels, the steps, the first layer's current
    # gain W x / p30 (bias left out: it is in i_offset): [2.5, 0.5] and [0, -2] / 0.9999917.
    assert sorted(ref.inputs) == ["images", "input_current", "labels", "steps"]
    assert ref.inputs["images"].dtype == np.float32
    assert ref.inputs["images"].tolist() == X.tolist()
    assert ref.inputs["labels"].tolist() == [1, 0]
    assert ref.inputs["steps"].shape == () and int(ref.inputs["steps"]) == 4
    assert ref.inputs["input_current"] == pytest.approx(
        np.array([[2.5, 0.5], [0.0, -2.0]]) / IF_P30, rel=1e-12)
    # host_layer.npz: L0's float weights and bias, gain [2, 2], p30, and its shapes.
    h = ref.host_layer
    assert sorted(h) == ["bias", "gain", "in_shape", "out_shape", "p30", "weight"]
    assert h["weight"].tolist() == [[1.0, 0.0, 0.5], [0.25, -1.0, 0.0]]
    assert h["bias"].tolist() == [0.35, 0.0] and h["gain"].tolist() == [2.0, 2.0]
    assert h["p30"] == pytest.approx([IF_P30, IF_P30], rel=1e-12)
    assert h["in_shape"].tolist() == [3] and h["out_shape"].tolist() == [2]
    e = ref.encoding
    assert (e.target, e.dataset, e.encoding, e.timesteps, e.steps) == (
        "spinnaker", "mnist-test", "constant", 3, 4)
    assert (e.window_start, e.window_stop, e.classes, e.output_layer) == (1, 4, 2, "fc1_n")
    assert e.seed is None  # only Poisson input has a seed
    assert e.chip_input == "current" and e.chip_input_rule == handoff.SPINNAKER_CURRENT_RULE
    assert e.host_layer == "host_layer.npz"
    assert e.constants == {"cm_nF": 1.0, "host_layer_kind": "dense"}
    assert e.step_duration == "1 ms of real time (PyNN timestep 1.0 ms)"
    assert (ref.simulator, ref.fast_simulator) == (handoff.SIMULATOR, handoff.FAST)


def test_the_bundles_network_is_the_deployed_one_with_the_reference_inputs(tmp_path):
    # The deployment's own metadata is kept (its mapping text too, which may be older), and
    # every array but the inputs, whose one sample [0.2, 0.4, 0.6] becomes X's two.
    def older_mapping(meta, arrays):
        meta["mapping"] = "an older description"
    path = deployed(tmp_path, change=older_mapping)
    old_meta, old_arrays = pynn_network.load(str(path))
    meta, arrays = reference(path).network
    assert meta == old_meta and meta["mapping"] == "an older description"
    assert sorted(arrays) == sorted(old_arrays)
    for k in old_arrays:
        if k != "input_current":
            assert np.array_equal(arrays[k], old_arrays[k]), k
    assert old_arrays["input_current"].shape == (1, 2)
    assert arrays["input_current"] == pytest.approx(
        np.array([[2.5, 0.5], [0.0, -2.0]]) / IF_P30, rel=1e-12)


def test_flat_images_are_shaped_as_the_chain_takes_them(tmp_path):
    # A chain taking (1, 1, 3) images, given flat rows of 3: the same current, the images kept
    # as given (flat) in inputs.npz.
    chain = tiny_chain()
    chain.input_shape = (1, 1, 3)
    path = deployed(tmp_path, chain=chain, x=np.array([[[[0.2, 0.4, 0.6]]]]))
    ref = reference(path, chain=chain)
    assert ref.inputs["images"].shape == (2, 3)
    assert ref.fast_output.tolist() == FAST.tolist()
    assert ref.inputs["input_current"] == pytest.approx(
        np.array([[2.5, 0.5], [0.0, -2.0]]) / IF_P30, rel=1e-12)


# spinnaker_reference: spike input ------------------------------------------------------------

def test_the_reference_of_rate_coded_spikes_by_hand(tmp_path):
    # Rate code: input i spikes at step t when floor((t + 1) x_i) > floor(t x_i): x = 1 every
    # step, x = 0.5 at step 1 only (floor 1 > floor 0.5), x = 0 never. Sample 0 [1, 0, 0.5]:
    # input 0 at 0, 1, 2, input 2 at 1; sample 1 [0, 1, 0]: input 1 at 0, 1, 2.
    # Both layers are on the chip (depth 2: 3 + 2 = 5 steps would be the run; STEPS = 4 here).
    # L0 (gain 2, bias [0.35, 0] each step): sample 0, n0 gets 2 (W s + 0.35): step 0 nothing
    # arrives (1 ms delay) -> 0.7; step 1 input 0 -> 2 (1 + 0.35) = 2.7, 0.7 + 2.7 > 1.8 spike;
    # step 2 inputs 0 and 2 -> 2 (1.5 + 0.35) = 3.7 spike; step 3 input 0 -> 2.7 spike.
    # n1 gets 2 (0.25 s0): 0, 0.5, 1.0, 1.5 (less the leak) -> no spike.
    # L1 (gain 1): n0 gets L0 n0's spikes of steps 1, 2 at steps 2, 3 -> spikes at 2, 3;
    # n1 gets 0.4 at steps 2 and 3: 0.4, then 0.8 > 0.5, a spike at 3.
    # Sample 1: L0 n0 gets 0.7 a step (input 1 has weight 0): 0.7, 1.4, 2.1 > 1.8 at step 2;
    # n1 gets -2 from step 1: never. L1 n0 spikes at 3 (L0 n0's spike of 2), n1 0.4: none.
    path = deployed(tmp_path, encoding="rate")
    ref = reference(path, encoding="rate")
    assert ref.fast_output.tolist() == [[[0, 0], [0, 0], [1, 0], [1, 1]],
                                        [[0, 0], [0, 0], [0, 0], [1, 0]]]
    assert sorted(ref.inputs) == ["images", "input_spikes", "labels", "steps"]
    assert np.argwhere(ref.inputs["input_spikes"]).tolist() == [
        [0, 0, 0], [0, 1, 0], [0, 1, 2], [0, 2, 0], [1, 0, 1], [1, 1, 1], [1, 2, 1]]
    assert ref.host_layer is None
    e = ref.encoding
    assert e.chip_input == "spikes" and e.chip_input_rule == handoff.SPINNAKER_SPIKES_RULE
    assert e.host_layer == "" and e.constants == {} and e.seed is None
    assert e.step_duration == "1 ms of real time (PyNN timestep 1.0 ms)"
    meta, arrays = ref.network
    assert meta["input"] == "spikes" and "input_current" not in arrays
    assert np.array_equal(arrays["input_spikes"], ref.inputs["input_spikes"])


def test_poisson_spikes_are_drawn_with_the_given_seed(tmp_path):
    # The rule of encoding.json: u = default_rng(seed).random((timesteps, N, inputs)), spike
    # where u < x; stored sample-first. Seeds 7 and 8 give other spikes.
    path = deployed(tmp_path, encoding="poisson")
    x = np.array([[0.5, 0.5, 0.5], [0.3, 0.6, 0.9]], dtype=np.float32)
    for seed in (7, 8):
        u = np.random.default_rng(seed).random((T, 2, 3))
        ref = reference(path, encoding="poisson", seed=seed, x=x)
        assert ref.inputs["input_spikes"].tolist() == (u < x[None]).transpose(1, 0, 2).tolist()
        assert ref.encoding.seed == seed and ref.encoding.encoding == "poisson"
    u7, u8 = (np.random.default_rng(s).random((T, 2, 3)) < x[None] for s in (7, 8))
    assert not np.array_equal(u7, u8)


# spinnaker_reference: a deployed network that is not what the chain gives --------------------

def refused(path, words, encoding="constant"):
    with pytest.raises(RunDirError) as info:
        reference(path, encoding=encoding)
    message = str(info.value)
    assert words in message, message
    run = path.parent.parent.parent
    assert message.endswith(f": re-deploy with 'neuropipe convert {run} --target spinnaker "
                            "--force'"), message
    return message


def test_a_changed_array_is_named(tmp_path):
    def change(meta, arrays):
        arrays["L1_weight"] = arrays["L1_weight"] * 2
    path = deployed(tmp_path, change=change)
    message = refused(path, "arrays L1_weight differ")
    assert message.startswith(f"{path} is not the network the deployment's model.nir gives (")


def test_only_the_first_three_changed_arrays_are_named_in_order(tmp_path):
    def change(meta, arrays):
        for k in ("L1_v_thresh", "L0_pre", "L1_tau_m", "L0_weight"):
            arrays[k] = arrays[k] + 1
    refused(deployed(tmp_path, change=change), "(arrays L0_pre, L0_weight, L1_tau_m differ)")


def test_an_array_missing_or_extra_in_the_deployment(tmp_path):
    def drop(meta, arrays):
        del arrays["L1_post"]
    refused(deployed(tmp_path / "a", change=drop), "(arrays L1_post differ)")

    def extra(meta, arrays):
        arrays["L1_rec_pre"] = np.array([0])
    refused(deployed(tmp_path / "b", change=extra), "(arrays L1_rec_pre differ)")


def test_the_inputs_of_the_other_encoding_are_not_ignored(tmp_path):
    # A deployment with analogue input has input_current, which the network of rate spikes
    # lacks (its own inputs, input_spikes, are left out of the comparison); the meta differs
    # too, but the arrays are named first.
    path = deployed(tmp_path, encoding="constant")
    refused(path, "(arrays input_current differ)", encoding="rate")


def test_changed_metadata_is_refused_but_not_the_mapping_text(tmp_path):
    def change(meta, arrays):
        meta["steps"] = 5
    refused(deployed(tmp_path / "a", change=change), "(its metadata differs)")

    def rename(meta, arrays):
        meta["layers"][1]["name"] = "fc9"
    refused(deployed(tmp_path / "b", change=rename), "(its metadata differs)")


@pytest.mark.parametrize("damage, kind", [
    (lambda p: p.write_bytes(b""), "EOFError"),
    (lambda p: p.write_bytes(b"PK\x03\x04 not a zip at all"), "BadZipFile"),
    (lambda p: (p.unlink(), p.mkdir()), "IsADirectoryError"),
    (lambda p: np.savez(p, L0_pre=np.arange(2)), "KeyError"),
    (lambda p: np.savez(p, meta=np.array(json.dumps({"format": "x", "version": 1}))),
     "ValueError"),
])
def test_a_damaged_network_file_is_named(tmp_path, damage, kind):
    path = deployed(tmp_path)
    damage(path)
    refused(path, f"{path} is damaged ({kind}: ")


# The hook's files ----------------------------------------------------------------------------

def test_the_hooks_names_and_its_script():
    hook = handoff.SpiNNakerHandoff()
    assert (hook.target, hook.short_name, hook.deployed, hook.script) == (
        "spinnaker", "NEST", "network.npz", "pynn_network.py")
    assert hook.bundle_files == ("model.nir", "network.npz", "pynn_network.py", "placement.json")
    assert hook.resources_file == "placement.json"
    assert hook.script_source == Path(pynn_network.__file__) == spin_target.SCRIPT
    assert isinstance(hook.script_source, Path)
    assert hook.check_deployment(None, Path("."), Path(".")) is None


def test_the_hook_passes_every_argument_on(tmp_path):
    # Through the hook, rate spikes with another dataset name: the same as the function.
    path = deployed(tmp_path, encoding="rate")
    ref = handoff.SpiNNakerHandoff().reference(tiny_chain(), path, X, LABELS, "rate", T, STEPS,
                                               5, "fashion")
    assert ref.fast_output.tolist()[0] == [[0, 0], [0, 0], [1, 0], [1, 1]]
    assert (ref.encoding.encoding, ref.encoding.timesteps, ref.encoding.steps,
            ref.encoding.dataset) == ("rate", 3, 4, "fashion")
    assert ref.inputs["labels"].tolist() == [1, 0]
    path = deployed(tmp_path / "p", encoding="poisson")
    ref = handoff.SpiNNakerHandoff().reference(tiny_chain(), path, X, LABELS, "poisson", T,
                                               STEPS, 5, "fashion")
    assert ref.encoding.seed == 5
    u = np.random.default_rng(5).random((T, 2, 3))
    assert ref.inputs["input_spikes"].tolist() == (u < X[None]).transpose(1, 0, 2).tolist()


def test_write_files_writes_the_network_and_copies_the_deployments_files(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty working folder: nothing but the paths given is read
    path = deployed(tmp_path)
    ref = reference(path)
    folder, root = path.parent, tmp_path / "bundle"
    root.mkdir()
    (folder / "pynn_network.py").write_text("# the deployment's own copy\n")
    (folder / "placement.json").write_text('{"placement": 1}')
    hook = handoff.SpiNNakerHandoff()
    hook.write_files(root, folder, ref)
    assert (root / "pynn_network.py").read_text() == "# the deployment's own copy\n"
    assert (root / "placement.json").read_text() == '{"placement": 1}'
    meta, arrays = pynn_network.load(str(root / "network.npz"))
    assert meta == ref.network[0]
    assert arrays["input_current"] == pytest.approx(
        np.array([[2.5, 0.5], [0.0, -2.0]]) / IF_P30, rel=1e-12)
    got = hook.read_network(root / "network.npz")
    assert sorted(got) == sorted(ref.network[1])
    assert all(np.array_equal(got[k], ref.network[1][k]) for k in got)


def test_resources_are_the_placements_cores_chips_and_boards(tmp_path):
    # 3 cores, two on chip (0, 0) and one on (1, 0): 2 chips; 50 machine chips over 48 per
    # SpiNN-5 board: 2 boards; 7 steps of 1 ms.
    def core(lo, hi, x):
        return {"lo_atom": lo, "hi_atom": hi, "x": x, "y": 0, "p": 1, "route_chips": 1}
    placement = {"machine_chips": 50, "routing_entries_per_chip": {"0,0": 2}, "mapping_s": 0.5,
                 "populations": [{"label": "fc0", "size": 3, "cores": [core(0, 1, 0),
                                                                     core(2, 2, 1)]},
                                 {"label": "fc1", "size": 2, "cores": [core(0, 1, 0)]}]}
    (tmp_path / "placement.json").write_text(json.dumps(placement), encoding="utf-8")
    r = handoff.SpiNNakerHandoff().resources(tmp_path, 7)
    assert (r.cores, r.chips, r.boards, r.steps_per_sample) == (3, 2, 2, 7)
    assert r.time_per_inference_s == pytest.approx(0.007)
    assert r.details["populations"] == [
        {"label": "fc0", "size": 3, "cores": 2, "chips": ["0,0", "1,0"]},
        {"label": "fc1", "size": 2, "cores": 1, "chips": ["0,0"]}]


def test_the_simulation_command_line(tmp_path):
    args, what = handoff.SpiNNakerHandoff().simulation(tmp_path / "b", 3, tmp_path / "o.npz")
    assert args == [str(tmp_path / "b" / "pynn_network.py"), "nest",
                    str(tmp_path / "b" / "network.npz"), "--samples", "3", "--out",
                    str(tmp_path / "o.npz")]
    assert what == "the NEST run of network.npz (pynn_network.py)"


def test_output_spikes_are_the_highest_layer_by_number_as_bool(tmp_path):
    # L10 is the last layer (10 > 2, though "L2" > "L10" as text); build_s and "Lx" are not
    # layers.
    out = tmp_path / "spikes.npz"
    np.savez(out, L0=np.zeros((1, 2, 3)), L2=np.ones((1, 2, 2)), Lx=np.ones((1, 2, 9)),
             L10=np.array([[[0, 2], [1, 0]]]), build_s=np.array(1.0))
    got = handoff.SpiNNakerHandoff().output_spikes(out)
    assert got.dtype == bool and got.tolist() == [[[False, True], [True, False]]]
    # Layers of one digit only (L0, L1), and a key "Lx5" that is no layer.
    np.savez(out, L0=np.ones((1, 2, 3)), L1=np.array([[[1, 0], [0, 0]]]), Lx5=np.ones(1))
    assert handoff.SpiNNakerHandoff().output_spikes(out).tolist() == [[[True, False],
                                                                       [False, False]]]


def _encoding(chip_input):
    return InputEncoding(target="spinnaker", chip_input=chip_input, steps=6, timesteps=4)


def test_how_to_run_gives_the_sample_lines_of_its_input():
    lines = handoff.SpiNNakerHandoff().how_to_run(_encoding("current"))
    assert "groups[0].set(i_offset=arrays['L0_i_offset'] + arrays['input_current'][k])" in lines
    assert "sim.run(6)" in lines and not any("INPUT_OFFSET_MS" in line for line in lines)
    assert [line for line in lines if line.startswith("```")] == [
        "```sh", "```", "```python", "```"]
    # The lines without a space (code, not words), where they stand: blank lines around the
    # shell block and after the python block, the fences, the output group's recording.
    bare = [(i, line) for i, line in enumerate(lines) if " " not in line]
    assert bare == [(1, ""), (2, "```sh"), (4, "```"), (5, ""), (7, ""), (8, "```python"),
                    (18, "groups[-1].record('spikes')"), (20, "sim.run(6)"), (21, "```"),
                    (22, "")]
    spikes = handoff.SpiNNakerHandoff().how_to_run(_encoding("spikes"))
    assert "sim.run(6 + pn.INPUT_OFFSET_MS)" in spikes and "sim.run(6)" not in spikes
    assert not any("input_current" in line for line in spikes)
    assert len(spikes) == len(lines) + 1  # three lines of spike input for two of current
    assert spikes[:19] == lines[:19] and spikes[22:] == lines[21:]
