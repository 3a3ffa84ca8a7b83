"""``handoff verify`` on a tiny bundle: every check, fast enough for mutation testing.

The bundle is made by ``bundle._assemble`` (the code ``neuropipe handoff`` runs) from a 4-input,
3-neuron LIF layer and 3 images, without a training run or MNIST. The one thing replaced is the
Lava run of the bundle's script (``simulate.output_spikes``, seconds per sample): here it gives
the emulator's spikes, which Lava gives too (``test_handoff.py`` runs the real script on a
trained network and checks ``samples_identical`` is every sample). So these tests check what
verify does with the spikes a re-simulation gives, spike for spike; the slow tests check that
the script gives them.

The reference raster (sample x neuron x step, read-out window = all 6 steps) is pinned below;
the tamper tests name the sample, step and neuron they change.
"""

import hashlib
import json
import shutil
import tarfile

# Imported here, not in the tests, so that mutmut's fork server loads them once (a mutant's
# test run then costs its tests, not seconds of imports).
import h5py  # noqa: F401
import nir  # noqa: F401
import numpy as np
import pytest
import rich.progress  # noqa: F401

import neuropipe.models.nir_export  # noqa: F401
import neuropipe.pipeline.handoff.bundle  # noqa: F401
import neuropipe.pipeline.handoff.readme  # noqa: F401
import neuropipe.pipeline.handoff.verify  # noqa: F401
import neuropipe.targets.chain  # noqa: F401
import neuropipe.targets.loihi.emulator  # noqa: F401
import neuropipe.targets.loihi.handoff  # noqa: F401
import neuropipe.targets.loihi.netx_export  # noqa: F401
import neuropipe.targets.loihi.quantize  # noqa: F401
from neuropipe.pipeline.handoff import simulate
from neuropipe.pipeline.handoff.verify import BundleError, BundleMismatch, verify_bundle

# 3 samples x 3 neurons x 6 steps: what the emulator (and Lava) give for IMAGES.
RASTER = np.array([
    [[0, 1, 0, 1, 0, 1], [0, 0, 0, 0, 0, 0], [0, 0, 1, 0, 0, 1]],
    [[0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1], [0, 0, 1, 0, 0, 1]],
    [[0, 1, 0, 1, 0, 1], [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1]],
], dtype=bool).transpose(0, 2, 1)  # -> (sample, step, neuron), as expected.npz holds it
WEIGHT = 3.0 * np.array([[1.0, 0.5, 0.2, 0.1], [0.4, 0.4, 0.3, 0.0], [0.1, 0.2, 0.5, 0.6]])
IMAGES = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0.5, 0.5]], dtype=np.float64)
LABELS = np.array([0, 2, 1])
# Spikes per sample: 3 + 0 + 2, 2 + 2 + 2, 3 + 3 + 2; argmax of the counts (ties: lowest).
WINDOW_SPIKES = [5, 6, 8]
PREDICTED = [0, 0, 0]  # one of 3 correct (sample 0)


def write_graph(path, readout, metadata=None):

    n = 3
    nodes = {
        "input": nir.Input(input_type={"input": np.array([4])}),
        "fc": nir.Affine(weight=WEIGHT, bias=np.zeros(n)),
        "lif": nir.LIF(tau=np.full(n, 5.0), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n)),
    }
    edges = [("input", "fc"), ("fc", "lif")]
    if readout:  # class scores 2 c0 - c1 + 0.5, c1 - c2, c2 + 0.25
        nodes["readout"] = nir.Affine(weight=np.array([[2.0, -1, 0], [0, 1, -1], [0, 0, 1]]),
                                      bias=np.array([0.5, 0.0, 0.25]))
        edges += [("lif", "readout"), ("readout", "output")]
    else:
        edges += [("lif", "output")]
    nodes["output"] = nir.Output(output_type={"output": np.array([n])})
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {}))


def lava_stand_in(monkeypatch, spikes):
    """``simulate.output_spikes`` gives ``spikes`` (copied); returns the list of its calls."""
    calls = []

    def run(bundle, target, samples):
        calls.append((bundle, target, samples))
        return np.array(spikes[:samples], dtype=bool)

    monkeypatch.setattr(simulate, "output_spikes", run)
    return calls


def build(folder, monkeypatch, encoding="constant", readout=False, lava=None, seed=3,
          metadata=None, steps=6):
    """Deploy the tiny graph to Loihi (``model.nir``, ``model.net``) and bundle it."""
    from rich.progress import Progress

    from neuropipe.models.nir_export import read_nir
    from neuropipe.pipeline.handoff.bundle import HandoffConfig, _assemble
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.netx_export import write_netx
    from neuropipe.targets.loihi.quantize import quantize_chain
    from neuropipe.targets.records import DeploymentRecord, Provenance, Resources

    deployment, root = folder / "deployment", folder / "bundle"
    deployment.mkdir(parents=True)
    root.mkdir()
    write_graph(deployment / "model.nir", readout, metadata)
    graph = read_nir(deployment / "model.nir")
    write_netx(quantize_chain(to_chain(graph, float(graph.metadata.get("dt", 1.0))), encoding),
               deployment / "model.net")
    record = DeploymentRecord(
        target="loihi", accuracy=1 / 3, samples=3, timesteps=6,
        resources=Resources(cores=1, chips=1, steps_per_sample=steps, placement="an estimate"),
        provenance=Provenance(model="tiny", dataset="mnist", encoding=encoding,
                              versions={"neuropipe": "0.0"}),
        notes=["a deployment note"])
    config = HandoffConfig(run=folder, target="loihi", out=root, seed=seed)
    calls = lava_stand_in(monkeypatch, RASTER if lava is None else lava)
    progress = Progress(disable=True)
    _assemble(root, folder, deployment, record, config, IMAGES, LABELS, "mnist", [], progress)
    assert calls == [(root, "loihi", 3)]
    assert [(t.description, t.total, t.completed) for t in progress.tasks] == [
        ("handoff: reference inputs", 1, 1), ("handoff: Lava run of reference/", 1, 1)]
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        return build(tmp_path_factory.mktemp("tiny"), mp)


@pytest.fixture
def bundle(tiny, tmp_path, monkeypatch):
    """A copy of the tiny bundle to tamper with; the stand-in Lava gives RASTER."""
    lava_stand_in(monkeypatch, RASTER)
    return shutil.copytree(tiny, tmp_path / "bundle")


def reseal(root):
    """Recompute every checksum after a change, as someone covering their tracks would."""
    manifest = json.loads((root / "manifest.json").read_text())
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256((root / entry["path"]).read_bytes()).hexdigest()
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reseal_checksums(root, manifest)


def reseal_checksums(root, manifest):
    paths = sorted(["manifest.json", *(e["path"] for e in manifest["files"])])
    (root / "checksums.sha256").write_text("".join(
        f"{hashlib.sha256((root / p).read_bytes()).hexdigest()}  {p}\n" for p in paths))


def edit_manifest(root, change):
    manifest = json.loads((root / "manifest.json").read_text())
    change(manifest)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reseal(root)


def edit_npz(root, name, change):
    """Change the arrays of ``root/name`` in place (``change(arrays)``) and reseal."""
    with np.load(root / name) as data:
        arrays = dict(data)
    change(arrays)
    np.savez(root / name, **arrays)
    reseal(root)


def edit_encoding(root, **fields):
    """Set ``fields`` in ``root/encoding.json`` and reseal."""
    encoding = json.loads((root / "encoding.json").read_text())
    encoding.update(fields)
    (root / "encoding.json").write_text(json.dumps(encoding))
    reseal(root)


def refused(root, words, error=BundleMismatch):
    with pytest.raises(error) as e:
        verify_bundle(root)
    assert str(e.value) == words
    return e.value


def rewrite_expected(root, spikes, claim_agreement=False):
    """Put ``spikes`` into expected.npz and cover every track: classes, manifest, README,
    checksums; with ``claim_agreement`` also the fast simulator's agreement verify recomputes,
    so that only the re-simulation is left to tell."""
    from neuropipe.pipeline.handoff.encoding import InputEncoding, decode
    from neuropipe.pipeline.handoff.manifest import Manifest
    from neuropipe.pipeline.handoff.readme import render

    predicted = decode(spikes, 0, 6)
    np.savez(root / "reference" / "expected.npz", output_spikes=spikes, predicted=predicted,
             window=np.array([0, 6]))
    manifest = Manifest.read(root / "manifest.json")
    manifest.reference.predicted = predicted.tolist()
    manifest.reference.output_spikes = spikes.sum(axis=(1, 2)).tolist()
    if claim_agreement:
        same = sum(np.array_equal(a, b) for a, b in zip(spikes, RASTER, strict=True))
        manifest.reference.fast_simulator["samples_identical"] = int(same)
    shown = Manifest.from_dict(manifest.to_dict())
    shown.files = [f for f in shown.files if f.path != "README.md"]
    (root / "README.md").write_text(render(shown, InputEncoding.read(root / "encoding.json")))
    manifest.write(root / "manifest.json")
    reseal(root)


def test_the_tiny_bundle_is_what_the_raster_gives(tiny):
    """The pinned raster, and what the bundle records of it (by hand from RASTER)."""
    with np.load(tiny / "reference" / "expected.npz") as data:
        assert np.array_equal(data["output_spikes"], RASTER)
        assert data["predicted"].tolist() == PREDICTED and data["window"].tolist() == [0, 6]
    manifest = json.loads((tiny / "manifest.json").read_text())
    ref = manifest["reference"]
    assert (ref["samples"], ref["labels"], ref["predicted"], ref["output_spikes"]) == \
        (3, [0, 2, 1], PREDICTED, WINDOW_SPIKES)
    from neuropipe.targets.loihi.handoff import FAST, SIMULATOR

    assert ref["fast_simulator"] == {
        "simulator": FAST, "samples_identical": 3, "samples": 3,
        "summary": f"{FAST} gives the same output spikes on 3 of 3 reference inputs."}
    assert ref["simulator"] == SIMULATOR
    # sample 1 is the only one silent in no neuron... none is silent: no silence note.
    assert manifest["notes"] == ["a deployment note"]
    assert [f["path"] for f in manifest["files"]] == [
        "README.md", "encoding.json", "host_layer.npz", "model.net", "model.nir",
        "reference/expected.npz", "reference/inputs.npz", "run_lava.py"]
    for f in manifest["files"]:
        data = (tiny / f["path"]).read_bytes()
        assert f["sha256"] == hashlib.sha256(data).hexdigest() and f["bytes"] == len(data)
    assert manifest["files"][0]["role"] == "this bundle explained for the hardware team"
    lines = (tiny / "checksums.sha256").read_text().splitlines()
    assert [line[66:] for line in lines] == sorted(["manifest.json",
                                                    *(f["path"] for f in manifest["files"])])
    assert all(line[64:66] == "  " for line in lines)
    assert lines[3][:64] == hashlib.sha256((tiny / "manifest.json").read_bytes()).hexdigest()
    assert manifest["source_run"] == str(tiny.parent.resolve())
    assert manifest["expected_accuracy"]["samples"] == 3
    assert manifest["expected_accuracy"]["accuracy"] == 1 / 3
    assert manifest["deployed_with"] == {"neuropipe": "0.0"}
    assert manifest["resources"]["steps_per_sample"] == 6
    assert manifest["model"] == "tiny" and manifest["dataset"] == "mnist"
    assert manifest["training_footprint"] is None


def test_the_tiny_bundle_verifies(bundle, monkeypatch):
    from neuropipe.targets.loihi.handoff import SIMULATOR

    calls = lava_stand_in(monkeypatch, RASTER)
    result = verify_bundle(bundle)
    assert calls == [(bundle, "loihi", 3)]
    assert (result.target, result.model, result.files, result.samples, result.correct,
            result.output_spikes, result.simulator, result.fast_identical) == \
        ("loihi", "tiny", 9, 3, 1, 19, SIMULATOR, 3)
    assert 0 < result.seconds < 60


def test_a_readout_bundle_with_spike_input_verifies(tmp_path, monkeypatch):
    """Poisson input (spikes on the chip, no host layer) and a host readout."""
    from neuropipe.targets.handoff.encoding import decode
    from neuropipe.targets.loihi.handoff import loihi_reference

    # The stand-in gives what the emulator gives for this network's Poisson spikes.
    probe = build(tmp_path / "probe", monkeypatch, "poisson", readout=True, seed=0)
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain

    chain = to_chain(read_nir(probe / "model.nir"))
    spikes = loihi_reference(chain, probe / "model.net", IMAGES, LABELS, "poisson", 6, 6, 0,
                             "mnist").fast_output
    # Seed 0 is a seed (not "no seed"): verify draws the same spikes with it.
    root = build(tmp_path / "real", monkeypatch, "poisson", readout=True, lava=spikes, seed=0)
    encoding = json.loads((root / "encoding.json").read_text())
    assert (encoding["readout"], encoding["chip_input"], encoding["seed"]) == \
        ("readout.npz", "spikes", 0)
    names = [f["path"] for f in json.loads((root / "manifest.json").read_text())["files"]]
    assert "readout.npz" in names and "host_layer.npz" not in names
    counts = spikes.sum(axis=1)
    scores = counts @ np.array([[2.0, -1, 0], [0, 1, -1], [0, 0, 1]]).T + [0.5, 0.0, 0.25]
    assert decode(spikes, 0, 6, None).tolist() == np.argmax(counts, axis=1).tolist()
    with np.load(root / "reference" / "expected.npz") as data:
        assert data["predicted"].tolist() == np.argmax(scores, axis=1).tolist()
    lava_stand_in(monkeypatch, spikes)
    result = verify_bundle(root)
    assert (result.samples, result.fast_identical, result.output_spikes) == \
        (3, 3, int(spikes.sum()))
    # A readout whose bias was edited (and resealed) is not what model.nir gives.
    with np.load(root / "readout.npz") as data:
        arrays = dict(data)
    arrays["bias"] = arrays["bias"] + 1.0  # every score moves alike: predictions are kept
    np.savez(root / "readout.npz", **arrays)
    reseal(root)
    refused(root, "readout.npz: 'bias' is not what the bundle's model.nir and reference "
                  "images give")


# The re-simulation is compared spike for spike (the stand-in Lava gives other spikes).

def test_one_spike_shifted_by_one_step_in_the_resimulation(bundle, monkeypatch):
    got = RASTER.copy()
    got[2, 1, 1], got[2, 2, 1] = False, True  # sample 2, neuron 1: step 1 -> 2 (3 spikes kept)
    lava_stand_in(monkeypatch, got)
    refused(bundle, "sample 2 (label 1): output spikes differ from reference/expected.npz, "
                    "first at step 1, neuron 1 (8 spikes instead of 8; class 0, expected 0)")


def test_two_samples_swapped_in_the_resimulation(bundle, monkeypatch):
    lava_stand_in(monkeypatch, RASTER[[1, 0, 2]])
    refused(bundle, "sample 0 (label 0): output spikes differ from reference/expected.npz, "
                    "first at step 1, neuron 0 (6 spikes instead of 5; class 0, expected 0)")


def test_output_neurons_permuted_in_the_resimulation(bundle, monkeypatch):
    # Neurons 0 and 1 swapped: sample 0 now predicts 1 (counts 0, 3, 2); sample 1 and 2 keep
    # their spikes (1 is symmetric, 2 has equal trains), so only sample 0 differs.
    lava_stand_in(monkeypatch, RASTER[:, :, [1, 0, 2]])
    refused(bundle, "sample 0 (label 0): output spikes differ from reference/expected.npz, "
                    "first at step 1, neuron 0 (5 spikes instead of 5; class 1, expected 0)")


def test_spike_times_traded_between_two_neurons_in_the_resimulation(bundle, monkeypatch):
    # Sample 0: neuron 0 at step 1 and neuron 2 at step 2 trade: every count is kept.
    got = RASTER.copy()
    got[0, 1, 0], got[0, 2, 2], got[0, 2, 0], got[0, 1, 2] = False, False, True, True
    assert np.array_equal(got.sum(axis=1), RASTER.sum(axis=1))
    lava_stand_in(monkeypatch, got)
    refused(bundle, "sample 0 (label 0): output spikes differ from reference/expected.npz, "
                    "first at step 1, neuron 0 (5 spikes instead of 5; class 0, expected 0)")


def test_the_last_sample_and_step_are_compared_too(bundle, monkeypatch):
    got = RASTER.copy()
    got[2, 5, 2] = False
    lava_stand_in(monkeypatch, got)
    refused(bundle, "sample 2 (label 1): output spikes differ from reference/expected.npz, "
                    "first at step 5, neuron 2 (7 spikes instead of 8; class 0, expected 0)")


def test_a_resimulation_of_another_shape(bundle, monkeypatch):
    lava_stand_in(monkeypatch, RASTER[:, :5])
    refused(bundle, "the re-simulation gives output spikes of shape (3, 5, 3), "
                    "reference/expected.npz holds (3, 6, 3)")


def test_a_failed_resimulation_is_exit_2(bundle, monkeypatch):
    def fail(*args):
        raise simulate.SimulationError("the Lava run failed: boom")

    monkeypatch.setattr(simulate, "output_spikes", fail)
    refused(bundle, "cannot re-simulate the bundle's network: the Lava run failed: boom",
            BundleError)


# expected.npz rewritten with every track covered: classes, manifest, README, checksums.

def _shift(s):
    s[2, 1, 1], s[2, 2, 1] = False, True
    return s


def _swap(s):
    return s[[1, 0, 2]]


def _permute(s):
    return s[:, :, [1, 0, 2]]


def _trade(s):
    s[0, 1, 0], s[0, 2, 2], s[0, 2, 0], s[0, 1, 2] = False, False, True, True
    return s


@pytest.mark.parametrize("change, differ, first", [
    (_shift, 1, "sample 2 (label 1): output spikes differ from reference/expected.npz, first "
                "at step 1, neuron 1 (8 spikes instead of 8; class 0, expected 0)"),
    (_swap, 2, "sample 0 (label 0): output spikes differ from reference/expected.npz, first at "
               "step 1, neuron 0 (5 spikes instead of 6; class 0, expected 0)"),
    (_permute, 1, "sample 0 (label 0): output spikes differ from reference/expected.npz, first "
                  "at step 1, neuron 0 (5 spikes instead of 5; class 0, expected 1)"),
    (_trade, 1, "sample 0 (label 0): output spikes differ from reference/expected.npz, first "
                "at step 1, neuron 0 (5 spikes instead of 5; class 0, expected 0)"),
])
def test_tampered_expected_spikes_are_caught_twice(bundle, change, differ, first):
    """First by the fast simulator's agreement verify recomputes; with that claim rewritten
    too, by the re-simulation, spike for spike."""
    rewrite_expected(bundle, change(RASTER.copy()))
    refused(bundle, "manifest.json: the fast simulator is said to agree on 3 of 3 reference "
                    f"inputs; run again by verify it agrees on {3 - differ} of 3")
    rewrite_expected(bundle, change(RASTER.copy()), claim_agreement=True)
    refused(bundle, first)


@pytest.mark.parametrize("key, value, said", [
    ("samples_identical", 2, "2 of 3"), ("samples", 4, "3 of 4"), ("samples_identical", None,
                                                                   "None of 3")])
def test_a_manifest_that_lies_about_the_fast_path(bundle, key, value, said):
    def lie(m):
        m["reference"]["fast_simulator"][key] = value

    edit_manifest(bundle, lie)
    # The README quotes only the summary, so it still matches: the agreement itself tells.
    refused(bundle, f"manifest.json: the fast simulator is said to agree on {said} reference "
                    "inputs; run again by verify it agrees on 3 of 3")


def test_fast_path_output_of_another_shape_agrees_on_nothing(monkeypatch):
    from neuropipe.pipeline.handoff.manifest import Manifest
    from neuropipe.pipeline.handoff.verify import _fast_agreement

    manifest = Manifest()
    manifest.reference.fast_simulator = {"samples_identical": 0, "samples": 3}
    assert _fast_agreement(manifest, RASTER[:, :5], RASTER) == 0
    assert _fast_agreement(manifest, RASTER[:2], RASTER) == 0  # not zipped: fewer samples
    manifest.reference.fast_simulator = {"samples_identical": 2, "samples": 3}
    other = RASTER.copy()
    other[1, 0, 0] = True
    assert _fast_agreement(manifest, other, RASTER) == 2


# Checksums and the manifest's list of files.

def test_a_changed_file_is_caught_by_its_checksum(bundle):
    (bundle / "model.nir").write_bytes((bundle / "model.nir").read_bytes() + b"\0")
    refused(bundle, "model.nir: its SHA-256 differs from the manifest's: the file was changed "
                    "after the bundle was made")


def test_a_changed_checksum_is_caught(bundle):
    lines = (bundle / "checksums.sha256").read_text().splitlines(keepends=True)
    lines = [("0" * 64 + line[64:]) if line.endswith("model.net\n") else line for line in lines]
    (bundle / "checksums.sha256").write_text("".join(lines))
    refused(bundle, "model.net: manifest.json and checksums.sha256 give different SHA-256 "
                    "values: one of them was edited")


def test_a_changed_manifest_is_caught(bundle):
    text = (bundle / "manifest.json").read_text().replace('"model": "tiny"', '"model": "big"')
    (bundle / "manifest.json").write_text(text)
    refused(bundle, "manifest.json: its SHA-256 differs from checksums.sha256: the manifest was "
                    "changed after the bundle was made")


def test_checksums_without_the_manifest_or_with_an_extra_file(bundle):
    text = (bundle / "checksums.sha256").read_text()
    lines = text.splitlines(keepends=True)
    (bundle / "checksums.sha256").write_text("".join(
        line for line in lines if not line.endswith("manifest.json\n")))
    refused(bundle, "checksums.sha256 does not list manifest.json")
    (bundle / "checksums.sha256").write_text(text + "0" * 64 + "  *gone.txt\n\n")
    refused(bundle, "checksums.sha256 lists gone.txt, which the manifest does not")


@pytest.mark.parametrize("text, reason", [
    ("abc  model.nir\n", "line 1 is not '<sha256>  <path>'"),
    ("\n" + "0" * 64 + " model.nir\n", "line 2 is not '<sha256>  <path>'"),
    ("0" * 63 + "g  model.nir\n", "line 1 is not '<sha256>  <path>'"),
    ("0" * 63 + "A  model.nir\n", "line 1 is not '<sha256>  <path>'"),
    ("0" * 65 + "  model.nir\n", "line 1 is not '<sha256>  <path>'"),
])
def test_an_unreadable_checksum_file_is_exit_2(bundle, text, reason):
    (bundle / "checksums.sha256").write_text(text)
    refused(bundle, f"{bundle / 'checksums.sha256'} is not readable: {reason}", BundleError)


def test_parse_checksums_reads_sha256sum_output():
    from neuropipe.pipeline.handoff.manifest import parse_checksums

    a, b = "0123456789abcdef" * 4, "f" * 64
    assert parse_checksums(f"{a}  x.npz\n  \n{b}  *dir/y z.py\n") == {"x.npz": a,
                                                                       "dir/y z.py": b}


def test_an_unlisted_file_is_refused_before_anything_runs(bundle, monkeypatch):
    calls = lava_stand_in(monkeypatch, RASTER)
    (bundle / "numpy.py").write_text("raise SystemExit('ran')\n")
    refused(bundle, "numpy.py is in the bundle but not in its manifest: verify runs nothing "
                    "beside files it has checked; remove it, or ask for the bundle again")
    assert calls == []


def test_a_listed_file_verify_does_not_use_is_refused(bundle, monkeypatch):
    calls = lava_stand_in(monkeypatch, RASTER)
    (bundle / "numpy.py").write_text("raise SystemExit('ran')\n")

    def add(m):
        m["files"].append({"type": "handoff-file", "schema_version": 1, "path": "numpy.py",
                           "sha256": "", "bytes": 0, "role": ""})
    edit_manifest(bundle, add)
    refused(bundle, "numpy.py is in the manifest but verify does not use it for a loihi bundle "
                    "of this model: it was not checked")
    assert calls == []


def test_a_changed_script_is_never_run(bundle, monkeypatch):
    calls = lava_stand_in(monkeypatch, RASTER)
    (bundle / "run_lava.py").write_text("raise SystemExit('ran')\n")
    reseal(bundle)
    refused(bundle, "run_lava.py is not the script this neuropipe writes into bundles: verify "
                    "does not run code it has not checked; verify with the neuropipe version "
                    "the manifest names")
    assert calls == []


def test_a_symbolic_link_is_refused(bundle):
    (bundle / "README.md").unlink()
    (bundle / "README.md").symlink_to(bundle / "encoding.json")
    refused(bundle, "README.md is a symbolic link: a bundle holds plain files only")


@pytest.mark.parametrize("path", ["../README.md", "/README.md"])
def test_a_listed_file_outside_the_bundle(bundle, path):
    def outside(m):
        m["files"][0]["path"] = path
    manifest = json.loads((bundle / "manifest.json").read_text())
    outside(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (bundle / "checksums.sha256").write_text("".join(
        f"{hashlib.sha256((bundle / p).read_bytes()).hexdigest()}  {p}\n"
        for p in ["manifest.json"]))
    (bundle / "README.md").rename(bundle.parent / "README.md")
    refused(bundle, f"the bundle names a file outside itself: '{path}'", BundleError)


@pytest.mark.parametrize("name", ["reference/expected.npz", "run_lava.py", "encoding.json"])
def test_a_missing_file_or_one_the_manifest_omits(bundle, name):
    (bundle / name).unlink()
    refused(bundle, f"the bundle is incomplete: {name} missing", BundleError)

    def drop(m):
        m["files"] = [f for f in m["files"] if f["path"] != name]
    edit_manifest(bundle, drop)
    refused(bundle, f"the bundle is incomplete: {name} not in its manifest", BundleError)


def test_a_bundle_without_its_manifest_or_checksums(bundle):
    (bundle / "checksums.sha256").unlink()
    refused(bundle, f"{bundle} lacks checksums.sha256: the bundle is incomplete (make it again "
                    "with 'neuropipe handoff')", BundleError)
    (bundle / "manifest.json").unlink()
    refused(bundle, f"{bundle} lacks manifest.json: the bundle is incomplete (make it again "
                    "with 'neuropipe handoff')", BundleError)


def test_an_unknown_target(bundle):
    edit_manifest(bundle, lambda m: m.update(target="tpu"))
    refused(bundle, f"{bundle / 'manifest.json'} names an unknown target 'tpu'", BundleError)


# What reference/ and the manifest claim, and the files rebuilt from model.nir.

@pytest.mark.parametrize("field, value", [
    ("samples", 2), ("labels", [0, 2, 2]), ("predicted", [0, 0, 1]),
    ("output_spikes", [5, 6, 7])])
def test_every_claim_about_reference_is_checked(bundle, field, value):
    edit_manifest(bundle, lambda m: m["reference"].update({field: value}))
    refused(bundle, f"manifest.json: reference.{field} is not what reference/ holds")


def test_an_edited_readme_is_caught(bundle):
    text = (bundle / "README.md").read_text()
    (bundle / "README.md").write_text(text.replace("(1 of 3 correct)", "(3 of 3 correct)"))
    reseal(bundle)
    refused(bundle, "README.md is not the README this neuropipe writes for the bundle's "
                    "manifest: it was edited")


def test_a_predicted_class_that_the_spikes_do_not_give(bundle):
    edit_npz(bundle, "reference/expected.npz",
             lambda a: a.update(predicted=np.array([0, 0, 2])))
    refused(bundle, "reference/expected.npz: sample 2's predicted class 2 is not what its "
                    "spikes decode to (0)")


@pytest.mark.parametrize("change", [
    lambda a: a.update(output_spikes=a["output_spikes"].astype(np.int8)),
    lambda a: a.update(output_spikes=a["output_spikes"][0]),
    lambda a: a.update(predicted=a["predicted"][:, None]),
    lambda a: a.update(predicted=a["predicted"][:2]),
])
def test_reference_arrays_that_do_not_fit_together(bundle, change):
    edit_npz(bundle, "reference/expected.npz", change)
    refused(bundle, "reference/expected.npz: its arrays do not fit together or with "
                    "reference/inputs.npz")


def test_labels_that_do_not_fit_the_predictions(bundle):
    edit_npz(bundle, "reference/inputs.npz", lambda a: a.update(labels=a["labels"][:2]))
    refused(bundle, "reference/expected.npz: its arrays do not fit together or with "
                    "reference/inputs.npz")


@pytest.mark.parametrize("name, key", [
    ("reference/expected.npz", "output_spikes"), ("reference/expected.npz", "predicted"),
    ("reference/expected.npz", "window"), ("reference/inputs.npz", "labels"),
    ("reference/inputs.npz", "images")])
def test_a_missing_array_is_named(bundle, name, key):
    edit_npz(bundle, name, lambda a: a.pop(key))
    refused(bundle, f"{name} lacks the array '{key}'")


def test_a_window_that_is_not_the_encodings(bundle):
    edit_npz(bundle, "reference/expected.npz", lambda a: a.update(window=np.array([1, 6])))
    refused(bundle, "reference/expected.npz: its read-out window is not encoding.json's")


def test_an_encoding_that_names_another_readout_file(bundle):
    edit_encoding(bundle, readout="../readout.npz")
    refused(bundle, "encoding.json names an unexpected readout file '../readout.npz'")


def test_an_encoding_field_that_model_nir_does_not_give(bundle):
    edit_encoding(bundle, output_layer="lif2")
    refused(bundle, "encoding.json: 'output_layer' is not what the bundle's model.nir gives")


def test_a_damaged_encoding(bundle):
    (bundle / "encoding.json").write_text("{")
    reseal(bundle)
    with pytest.raises(BundleMismatch, match=r"^encoding.json is damaged: "):
        verify_bundle(bundle)


def test_inputs_that_are_not_what_the_images_give(bundle):
    edit_npz(bundle, "reference/inputs.npz", lambda a: a.update(bias_mant=a["bias_mant"] + 1))
    refused(bundle, "reference/inputs.npz: 'bias_mant' is not what the bundle's model.nir and "
                    "reference images give")
    edit_npz(bundle, "reference/inputs.npz",
             lambda a: a.update(extra=a.pop("bias_mant") - 1))  # back to its value, renamed
    refused(bundle, "reference/inputs.npz: the array 'bias_mant' is in only one of the "
                    "bundle's file and what its model.nir and reference images give")


@pytest.mark.parametrize("change", [
    lambda w: w * 1.01, lambda w: w.astype(np.float32), lambda w: w[:, :3]])
def test_a_host_layer_that_is_not_what_model_nir_gives(bundle, change):
    edit_npz(bundle, "host_layer.npz", lambda a: a.update(weight=change(a["weight"])))
    refused(bundle, "host_layer.npz: 'weight' is not what the bundle's model.nir and "
                    "reference images give")


def test_a_changed_network_file_is_not_what_model_nir_quantises_to(bundle):

    with h5py.File(bundle / "model.net", "r+") as f:
        f.attrs["input_bias_exp"] = int(f.attrs["input_bias_exp"]) + 1
    reseal(bundle)
    with pytest.raises(BundleMismatch) as e:
        verify_bundle(bundle)
    assert str(e.value).startswith(f"{bundle / 'model.net'} is not what the bundle's model.nir "
                                   "quantises to ('@input_bias_exp' differs)")
    assert "re-deploy" not in str(e.value)


def test_a_damaged_model_nir(bundle):
    (bundle / "model.nir").write_bytes(b"not hdf5")
    reseal(bundle)
    with pytest.raises(BundleMismatch, match=r"^model.nir is damaged or not a network this "):
        verify_bundle(bundle)


def test_a_damaged_npz_is_named(bundle):
    (bundle / "host_layer.npz").write_bytes(b"")
    reseal(bundle)
    with pytest.raises(BundleMismatch, match=r"^host_layer.npz is damaged \(not a readable "
                                             r".npz: .*\); its checksum was recomputed"):
        verify_bundle(bundle)


# Tarballs.

def test_a_tarball_of_the_bundle_verifies_and_leaves_nothing(bundle, tmp_path):
    path = tmp_path / "b.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(bundle, arcname="b")
    before = set(tmp_path.iterdir())
    assert verify_bundle(path).samples == 3
    flat = tmp_path / "flat.tar.gz"
    with tarfile.open(flat, "w:gz") as tar:
        for p in sorted(bundle.rglob("*")):
            tar.add(p, arcname=p.relative_to(bundle).as_posix(), recursive=False)
    assert verify_bundle(flat).samples == 3
    assert set(tmp_path.iterdir()) == before | {flat}


def test_a_tarball_without_a_manifest(tmp_path):
    path = tmp_path / "b.tar.gz"
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    (tmp_path / "x" / "manifest.json").write_text("{}")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tmp_path / "x", arcname="x")
        tar.add(tmp_path / "y", arcname="y")
    refused(path, f"{path} holds no manifest.json: it is not a handoff bundle or is "
                  "incomplete", BundleError)


@pytest.mark.parametrize("member", ["/abs.txt", "a/../../up.txt", "link"])
def test_unsafe_tarball_members_are_refused(tmp_path, member):
    import io

    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 2
            tar.addfile(info, io.BytesIO(b"hi"))
    refused(path, f"{path}: unsafe member '{member}' (absolute path, '..', link or device): "
                  "not extracted", BundleError)


def test_not_a_bundle_at_all(tmp_path):
    refused(tmp_path / "none", f"{tmp_path / 'none'} does not exist: pass a bundle folder or "
                                ".tar.gz made by 'neuropipe handoff'", BundleError)
    (tmp_path / "junk.tar.gz").write_bytes(bytes(range(256)) * 4)
    refused(tmp_path / "junk.tar.gz", f"{tmp_path / 'junk.tar.gz'} is not a readable bundle "
            "(.tar.gz): not a tar archive (plain, gzip, bzip2 or xz) or a truncated one",
            BundleError)


def test_a_resources_file_must_give_the_manifests_resources(tmp_path):
    """The hook's resources file (SpiNNaker's placement.json; Loihi has none), checked alone."""
    from types import SimpleNamespace

    from neuropipe.pipeline.handoff.manifest import Manifest
    from neuropipe.pipeline.handoff.verify import _check_resources
    from neuropipe.targets.records import Resources

    manifest = Manifest(resources=Resources(cores=4, chips=1, steps_per_sample=7))
    seen = []

    def hook(given):
        def resources(root, steps):
            seen.append((root, steps))
            if isinstance(given, Exception):
                raise given
            return given
        return SimpleNamespace(resources_file="placement.json", resources=resources)

    _check_resources(tmp_path, manifest, hook(Resources(cores=4, chips=1, steps_per_sample=7)))
    assert seen == [(tmp_path, 7)]
    with pytest.raises(BundleMismatch) as e:
        _check_resources(tmp_path, manifest, hook(Resources(cores=5, chips=2,
                                                            steps_per_sample=7)))
    assert str(e.value) == ("placement.json does not give the manifest's resources (cores, "
                            "chips, boards): 5 cores on 2 chip(s), the manifest says 4 on 1")
    with pytest.raises(BundleMismatch) as e:
        _check_resources(tmp_path, manifest, hook(Resources(cores=4, chips=1, boards=1,
                                                            steps_per_sample=7)))
    assert str(e.value).startswith("placement.json does not give the manifest's resources")
    for error in (KeyError("cores"), ValueError("bad"), TypeError("t"), AttributeError("a"),
                  OSError("o")):
        with pytest.raises(BundleMismatch) as e:
            _check_resources(tmp_path, manifest, hook(error))
        assert str(e.value) == f"placement.json is damaged: {type(error).__name__}: {error}"


def test_a_readme_that_is_not_utf8_is_refused_as_edited(bundle):
    (bundle / "README.md").write_bytes((bundle / "README.md").read_bytes() + b"\xff\xfe")
    reseal(bundle)
    refused(bundle, "README.md is not the README this neuropipe writes for the bundle's "
                    "manifest: it was edited")


def test_the_same_values_in_another_dtype_are_refused(bundle):
    """bias_mant is int32 on the chip; int64 holds the same numbers but is another file."""
    with np.load(bundle / "reference" / "inputs.npz") as data:
        arrays = dict(data)
    assert arrays["bias_mant"].dtype == np.int32
    arrays["bias_mant"] = arrays["bias_mant"].astype(np.int64)
    np.savez(bundle / "reference" / "inputs.npz", **arrays)
    reseal(bundle)
    refused(bundle, "reference/inputs.npz: 'bias_mant' is not what the bundle's model.nir and "
                    "reference images give")


def test_a_bare_graph_verifies_with_the_dt_of_its_metadata(tmp_path, monkeypatch):
    """dt = 0.5: tau = 5 is 10 steps, another decay than dt = 1 gives (and another model.net)."""
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.handoff import loihi_reference

    probe = build(tmp_path / "probe", monkeypatch, metadata={"dt": 0.5})
    graph = read_nir(probe / "model.nir")
    spikes = loihi_reference(to_chain(graph, 0.5), probe / "model.net", IMAGES, LABELS,
                             "constant", 6, 6, 0, "mnist").fast_output
    assert not np.array_equal(spikes, RASTER)
    root = build(tmp_path / "real", monkeypatch, lava=spikes, metadata={"dt": 0.5})
    lava_stand_in(monkeypatch, spikes)
    assert verify_bundle(root).fast_identical == 3


def test_images_the_network_cannot_take_are_named(bundle):
    edit_npz(bundle, "reference/inputs.npz",  # 5 pixels for a 4-input layer
             lambda a: a.update(images=np.zeros((3, 5), dtype=np.float32)))
    refused(bundle, "model.net does not fit model.nir or the reference inputs: images of shape "
                    "(3, 5) for a network of 4 inputs")  # not torch's RuntimeError


def test_verify_draws_its_progress_only_when_asked(bundle, capsys):
    verify_bundle(bundle)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    verify_bundle(bundle, show_progress=True)
    out = capsys.readouterr()
    drawn = out.out + out.err
    assert "verify: Lava run of reference/" in drawn and " 1/1 " in drawn  # one run, done


def test_the_class_named_is_the_readouts_over_the_window(tmp_path, monkeypatch):
    """7 steps, read-out window 1..6, a host readout: the message's class is W c + b of the
    window's counts. The re-simulated sample 0 is made so that each other reading differs:
    neuron 0 spikes at steps 1, 2 and neuron 2 at steps 0..4, so c = (2, 0, 4) in the window:
    scores 2*2 - 0 + 0.5 = 4.5, 0 - 4 = -4, 4 + 0.25 = 4.25 -> class 0; the plain argmax of
    the counts is 2, and counting step 0 too (2, 0, 5) gives 4.5 < 5.25 -> class 2."""
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.handoff import loihi_reference

    probe = build(tmp_path / "probe", monkeypatch, readout=True, steps=7)
    spikes = loihi_reference(to_chain(read_nir(probe / "model.nir")), probe / "model.net",
                             IMAGES, LABELS, "constant", 6, 7, 0, "mnist").fast_output
    root = build(tmp_path / "real", monkeypatch, readout=True, lava=spikes, steps=7)
    assert json.loads((root / "encoding.json").read_text())["window_start"] == 1
    with np.load(root / "reference" / "expected.npz") as data:
        predicted = int(data["predicted"][0])
    got = spikes.copy()
    got[0] = False
    got[0, [1, 2], 0] = True
    got[0, 0:5, 2] = True
    lava_stand_in(monkeypatch, got)
    with pytest.raises(BundleMismatch) as e:
        verify_bundle(root)
    assert str(e.value).startswith("sample 0 (label 0): output spikes differ from "
                                   "reference/expected.npz, first at step ")
    assert str(e.value).endswith(f"(7 spikes instead of {int(spikes[0].sum())}; class 0, "
                                 f"expected {predicted})")


def test_two_missing_files_are_both_named(bundle):
    (bundle / "model.nir").unlink()
    (bundle / "run_lava.py").unlink()
    refused(bundle, "the bundle is incomplete: model.nir, run_lava.py missing", BundleError)


def test_a_sealed_manifest_that_is_not_a_manifest_is_exit_2(bundle):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["type"] = "deployment"
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    reseal_checksums(bundle, manifest)
    with pytest.raises(BundleError) as e:
        verify_bundle(bundle)
    assert str(e.value).startswith(str(bundle / "manifest.json")) and "deployment" in str(e.value)


def test_a_bundle_of_crafted_spikes_records_the_readouts_classes_and_silence(tmp_path,
                                                                            monkeypatch):
    """Lava (stood in for) gives sample 0 of the class test above and a silent sample 1: the
    readout decides sample 0 (class 0, not the plain argmax 2), sample 1 is noted as silent,
    and the fast simulator is recorded as agreeing on 1 of 3 (first difference: sample 0)."""
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.handoff import loihi_reference

    probe = build(tmp_path / "probe", monkeypatch, readout=True, steps=7)
    spikes = loihi_reference(to_chain(read_nir(probe / "model.nir")), probe / "model.net",
                             IMAGES, LABELS, "constant", 6, 7, 0, "mnist").fast_output
    assert spikes[1].any()
    got = spikes.copy()
    got[0] = False
    got[0, [1, 2], 0] = True
    got[0, 0:5, 2] = True
    got[1] = False
    root = build(tmp_path / "crafted", monkeypatch, readout=True, lava=got, steps=7)
    with np.load(root / "reference" / "expected.npz") as data:
        assert data["predicted"][0] == 0
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["reference"]["fast_simulator"]["samples_identical"] == 1
    from neuropipe.targets.loihi.handoff import SIMULATOR

    lava = SIMULATOR.split(":")[0]
    assert manifest["notes"][:2] == [
        "1 of 3 reference inputs cause no output spikes in the read-out window: for them a "
        "chip that stays silent also matches; more training, or more --reference-inputs, makes "
        "the reference stronger",
        f"the fast simulator the accuracy comes from differs from {lava} on 2 of 3 reference "
        "inputs (first: sample 0)"]


def test_an_npz_with_pickled_objects_is_not_loaded(bundle):
    """Object arrays are pickles: code a bundle brings. np.load refuses them (allow_pickle)."""
    edit_npz(bundle, "host_layer.npz",
             lambda a: a.update(weight=np.array([{"a": 1}, {"b": 2}], dtype=object)))
    with pytest.raises(BundleMismatch) as e:
        verify_bundle(bundle)
    assert str(e.value).startswith("host_layer.npz is damaged (not a readable .npz: Object "
                                   "arrays cannot be loaded when allow_pickle=False)")


def test_a_poisson_bundle_verifies_with_its_own_seed(tmp_path, monkeypatch):
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.handoff import loihi_reference

    probe = build(tmp_path / "probe", monkeypatch, "poisson", seed=3)
    spikes = loihi_reference(to_chain(read_nir(probe / "model.nir")), probe / "model.net",
                             IMAGES, LABELS, "poisson", 6, 6, 3, "mnist").fast_output
    root = build(tmp_path / "real", monkeypatch, "poisson", lava=spikes, seed=3)
    lava_stand_in(monkeypatch, spikes)
    assert verify_bundle(root).fast_identical == 3


def test_a_readout_without_its_arrays_or_of_another_shape(tmp_path, monkeypatch):
    """readout.npz is read by the name encoding.json gives it; W of 2 columns cannot take the
    3 neurons' counts."""
    made = build(tmp_path / "made", monkeypatch, readout=True)
    lava_stand_in(monkeypatch, RASTER)
    for key in ("weight", "bias"):
        root = shutil.copytree(made, tmp_path / key)
        with np.load(root / "readout.npz") as data:
            arrays = dict(data)
        del arrays[key]
        np.savez(root / "readout.npz", **arrays)
        reseal(root)
        refused(root, f"readout.npz lacks the array '{key}'")
    root = shutil.copytree(made, tmp_path / "narrow")
    with np.load(root / "readout.npz") as data:
        arrays = dict(data)
    arrays["weight"] = arrays["weight"][:, :2]
    np.savez(root / "readout.npz", **arrays)
    reseal(root)
    with pytest.raises(BundleMismatch, match=r"^readout.npz: its shapes do not fit the output "
                                             r"spikes \(matmul: .*\)$"):
        verify_bundle(root)


class NetworkHook:
    """Loihi's hook, but writing its network file anew as SpiNNaker's does (``ref.network``,
    read back with ``read_network``) and with a resources file, ``placement.json``."""

    def __init__(self, arrays, resources):
        from neuropipe.targets.registry import get_handoff

        self.real, self.arrays, self.given = get_handoff("loihi"), arrays, resources
        self.resources_file, self.read, self.asked = "placement.json", [], []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def reference(self, *args):
        import dataclasses

        ref = self.real.reference(*args)
        return dataclasses.replace(ref, network=({}, {"samples": np.array([0, 2, 1])}))

    def read_network(self, path):
        self.read.append(path)
        if isinstance(self.arrays, Exception):
            raise self.arrays
        return self.arrays

    def resources(self, root, steps):
        self.asked.append((root, steps))
        return self.given


def test_a_network_file_written_anew_and_a_resources_file(bundle, monkeypatch):
    """rebuild compares the network file's arrays with the reference's, and the resources file
    with the manifest's (Loihi has neither: a stand-in hook gives both)."""
    from neuropipe.pipeline.handoff import verify
    from neuropipe.targets.records import Resources

    (bundle / "placement.json").write_text("{}")
    edit_manifest(bundle, lambda m: m["files"].append(
        {**m["files"][0], "path": "placement.json", "bytes": 2, "role": "the placement"}))
    from neuropipe.pipeline.handoff.encoding import InputEncoding
    from neuropipe.pipeline.handoff.manifest import Manifest
    from neuropipe.pipeline.handoff.readme import render

    shown = Manifest.read(bundle / "manifest.json")
    shown.files = [f for f in shown.files if f.path != "README.md"]
    (bundle / "README.md").write_text(render(shown, InputEncoding.read(bundle / "encoding.json")))
    reseal(bundle)
    given = Resources(cores=1, chips=1, steps_per_sample=6, placement="an estimate")
    hook = NetworkHook({"samples": np.array([0, 2, 1])}, given)
    monkeypatch.setattr(verify, "get_handoff", lambda target: hook)
    assert verify_bundle(bundle).samples == 3
    assert hook.read == [bundle / "model.net"] and hook.asked == [(bundle, 6)]
    hook.arrays = {"samples": np.array([0, 2, 2])}
    refused(bundle, "model.net: 'samples' is not what the bundle's model.nir and reference "
                    "images give")
    hook.arrays = ValueError("no such array")
    refused(bundle, "model.net is damaged: no such array")
    hook.arrays, hook.given = {"samples": np.array([0, 2, 1])}, Resources(cores=2, chips=1)
    refused(bundle, "placement.json does not give the manifest's resources (cores, chips, "
                    "boards): 2 cores on 1 chip(s), the manifest says 1 on 1")


@pytest.mark.parametrize("change", [
    lambda a: a.update(output_spikes=a["output_spikes"][:2]),  # 2 samples, 3 predictions
    lambda a: a.update(output_spikes=a["output_spikes"][..., None]),  # (3, 6, 3, 1)
])
def test_each_misfit_of_the_reference_arrays_alone(bundle, change):
    """One condition of the fit check true at a time: fewer samples than predictions (labels
    and predictions still pair), or a 4-d raster of 3 samples."""
    from neuropipe.pipeline.handoff.verify import _load_expected

    with np.load(bundle / "reference" / "expected.npz") as data:
        arrays = dict(data)
    change(arrays)
    np.savez(bundle / "reference" / "expected.npz", **arrays)
    with pytest.raises(BundleMismatch) as e:
        _load_expected(bundle)
    assert str(e.value) == ("reference/expected.npz: its arrays do not fit together or with "
                            "reference/inputs.npz")


def test_predicted_classes_are_decoded_from_the_window_only(tmp_path, monkeypatch):
    """7 steps, window 1..6: sample 0's neuron 0 spikes at steps 0 and 1, neuron 1 at 2 and 3.
    In the window the counts are (1, 2, 0): class 1; from step 0 they would tie (2, 2, 0):
    class 0."""
    from neuropipe.pipeline.handoff.verify import _load_expected

    root = build(tmp_path, monkeypatch, steps=7)
    spikes = np.zeros((3, 7, 3), dtype=bool)
    spikes[0, [0, 1], 0] = True
    spikes[0, [2, 3], 1] = True
    spikes[1:, 1, 2] = True  # samples 1 and 2: class 2
    np.savez(root / "reference" / "expected.npz", output_spikes=spikes,
             predicted=np.array([1, 2, 2]), window=np.array([1, 7]))
    encoding, expected, predicted, _, readout = _load_expected(root)
    assert (encoding.window_start, encoding.window_stop) == (1, 7)
    assert predicted.tolist() == [1, 2, 2] and readout is None


def test_predicted_classes_are_decoded_up_to_the_windows_stop(bundle):
    """An encoding.json whose window stops at step 5 (rebuild refuses it later): sample 0's one
    spike, neuron 1 at step 5, is outside it, so its class is 0 (all counts 0), not 1."""
    from neuropipe.pipeline.handoff.verify import _load_expected

    encoding = json.loads((bundle / "encoding.json").read_text())
    encoding["window_stop"] = 5
    (bundle / "encoding.json").write_text(json.dumps(encoding))
    spikes = np.zeros((3, 6, 3), dtype=bool)
    spikes[0, 5, 1] = True
    spikes[1:, 0, 2] = True
    np.savez(bundle / "reference" / "expected.npz", output_spikes=spikes,
             predicted=np.array([0, 2, 2]), window=np.array([0, 5]))
    assert _load_expected(bundle)[2].tolist() == [0, 2, 2]
