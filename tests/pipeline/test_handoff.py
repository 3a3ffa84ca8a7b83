"""``neuropipe handoff``: bundles for hardware teams that verify themselves."""

import hashlib
import io
import json
import shutil
import tarfile

import h5py
import numpy as np
import pytest

from neuropipe.pipeline.cli import main

REFS = "3"


def run_cli(args, capsys):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """A tiny snn-mlp run deployed to Loihi and SpiNNaker."""
    root = tmp_path_factory.mktemp("handoff")
    run = root / "run"
    assert main(["train", "snn-mlp", "--limit-train", "1000", "--limit-test", "50",
                 "--timesteps", "4", "--batch-size", "16", "--out", str(run)]) == 0
    for target in ("loihi", "spinnaker"):
        assert main(["convert", str(run), "--target", target, "--samples", "100",
                     "--verify-samples", "1"]) == 0
    return run


@pytest.fixture(scope="module")
def loihi_bundle(deployed, tmp_path_factory):
    """A Loihi bundle made from a copy of the run, which is deleted afterwards."""
    root = tmp_path_factory.mktemp("loihi-bundle")
    run = root / "run-copy"
    shutil.copytree(deployed, run)
    assert main(["handoff", str(run), "--target", "loihi", "--out", str(root / "bundle"),
                 "--reference-inputs", REFS]) == 0
    shutil.rmtree(run)
    return root / "bundle"


def copy_of(bundle, tmp_path, name="copy"):
    return shutil.copytree(bundle, tmp_path / name)


def reseal(bundle):
    """Recompute every checksum after a change, as someone covering their tracks would."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    for entry in manifest["files"]:
        entry["sha256"] = hashlib.sha256((bundle / entry["path"]).read_bytes()).hexdigest()
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    paths = sorted(["manifest.json", *(e["path"] for e in manifest["files"])])
    (bundle / "checksums.sha256").write_text("".join(
        f"{hashlib.sha256((bundle / p).read_bytes()).hexdigest()}  {p}\n" for p in paths))


def test_loihi_bundle_verifies_elsewhere_without_its_run(loihi_bundle, deployed, tmp_path,
                                                         capsys):
    moved = copy_of(loihi_bundle, tmp_path, "elsewhere")
    code, out, err = run_cli(["handoff", "verify", str(moved)], capsys)
    assert code == 0, err
    assert f"{REFS} reference samples re-simulated" in out and "Loihi2SimCfg" in out
    manifest = json.loads((moved / "manifest.json").read_text())
    record = json.loads((deployed / "targets" / "loihi" / "deployment.json").read_text())
    assert manifest["type"] == "handoff-manifest" and manifest["target"] == "loihi"
    names = {f["path"] for f in manifest["files"]}
    assert names >= {"model.nir", "model.net", "run_lava.py", "encoding.json", "README.md",
                     "host_layer.npz", "reference/inputs.npz", "reference/expected.npz"}
    for entry in manifest["files"]:
        assert entry["sha256"] == hashlib.sha256((moved / entry["path"]).read_bytes()).hexdigest()
    # The .net is the file the deployment's Lava check ran, byte for byte.
    assert (moved / "model.net").read_bytes() == \
        (deployed / "targets" / "loihi" / "model.net").read_bytes()
    assert manifest["versions"]["lava-nc"] == "0.10.0" and "neuropipe" in manifest["versions"]
    assert manifest["expected_accuracy"]["accuracy"] == record["accuracy"]
    assert manifest["resources"]["cores"] == record["resources"]["cores"] > 0
    assert manifest["energy"] and all(e["level"] and e["sources"] for e in manifest["energy"])
    assert manifest["training_footprint"]["energy_j"] > 0
    # The reference is not empty, and neuropipe's emulator agrees with Lava spike for spike.
    with np.load(moved / "reference" / "expected.npz") as data:
        spikes, predicted = data["output_spikes"], data["predicted"]
    assert spikes.shape == (int(REFS), 5, 10) and spikes.sum() > 0
    assert manifest["reference"]["predicted"] == predicted.tolist()
    assert manifest["reference"]["fast_simulator"]["samples_identical"] == int(REFS)
    encoding = json.loads((moved / "encoding.json").read_text())
    assert (encoding["timesteps"], encoding["steps"], encoding["window_start"],
            encoding["window_stop"], encoding["chip_input"]) == (4, 5, 1, 5, "bias")
    readme = (moved / "README.md").read_text()
    for words in ("netx.hdf5.Network", "Loihi2SimCfg", "Loihi2HwCfg", "reference/",
                  f"{record['accuracy']:.4f}", "sha256sum -c"):
        assert words in readme


def test_chip_input_rule_of_the_readme_reproduces_the_reference(loihi_bundle):
    """The documented bias rule, applied by hand to the images, gives the stored chip input."""
    encoding = json.loads((loihi_bundle / "encoding.json").read_text())
    c = encoding["constants"]
    with np.load(loihi_bundle / "host_layer.npz") as h, \
            np.load(loihi_bundle / "reference" / "inputs.npz") as inputs:
        x = inputs["images"].reshape(len(inputs["images"]), -1).astype(np.float64)
        raw = h["scale"] * 64 * (h["leak"] * h["v_leak"] + h["gain"] * (x @ h["weight"].T
                                                                        + h["bias"]))
        mant = np.clip(np.rint(raw / 2 ** c["bias_exp"]), -4096, 4095)
        assert np.array_equal(mant, inputs["bias_mant"])
    with h5py.File(loihi_bundle / "model.net", "r") as f:
        assert int(f.attrs["input_bias_exp"]) == c["bias_exp"]


def test_tampered_weight_is_caught_by_checksum_and_by_resimulation(loihi_bundle, tmp_path,
                                                                    capsys):
    bad = copy_of(loihi_bundle, tmp_path)
    with h5py.File(bad / "model.net", "r+") as f:
        w = f["layer/1/weight"][()]
        f["layer/1/weight"][...] = -w
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "model.net" in err and "SHA-256" in err
    reseal(bad)  # checksums now agree: the graph it was quantised from tells
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "model.net is not what the bundle's model.nir quantises to" in err, err


def test_the_resimulation_is_compared_spike_for_spike(loihi_bundle, tmp_path, capsys,
                                                      monkeypatch):
    from neuropipe.pipeline.handoff import simulate

    real = simulate.output_spikes

    def one_spike_more(*args):
        spikes = real(*args)
        spikes[0, -1, 0] = ~spikes[0, -1, 0]
        return spikes

    monkeypatch.setattr(simulate, "output_spikes", one_spike_more)
    code, _, err = run_cli(["handoff", "verify", str(loihi_bundle)], capsys)
    assert code == 1 and "sample 0" in err and "output spikes differ" in err, err


def test_edited_manifest_or_checksum_list_is_caught(loihi_bundle, tmp_path, capsys):
    bad = copy_of(loihi_bundle, tmp_path)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["expected_accuracy"]["accuracy"] = 0.999
    (bad / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "manifest.json" in err
    other = copy_of(loihi_bundle, tmp_path, "other")
    lines = (other / "checksums.sha256").read_text().splitlines()
    lines = [("0" * 64 + line[64:]) if line.endswith("model.net") else line for line in lines]
    (other / "checksums.sha256").write_text("\n".join(lines) + "\n")
    code, _, err = run_cli(["handoff", "verify", str(other)], capsys)
    assert code == 1 and "model.net" in err


def test_missing_or_unreadable_bundles_exit_2(loihi_bundle, tmp_path, capsys):
    incomplete = copy_of(loihi_bundle, tmp_path)
    (incomplete / "reference" / "expected.npz").unlink()
    code, _, err = run_cli(["handoff", "verify", str(incomplete)], capsys)
    assert code == 2 and "reference/expected.npz missing" in err
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "empty", tmp_path / "nothing-here", tmp_path / "junk.tar.gz"):
        if path.suffix == ".gz":
            path.write_bytes(b"not a tarball")
        code, _, err = run_cli(["handoff", "verify", str(path)], capsys)
        assert code == 2 and err.startswith("error: ") and "Traceback" not in err


def test_a_file_that_is_not_a_tarball_is_one_line(tmp_path, capsys):
    for name, data in (("notes.txt", b"hello"), ("junk.tar.gz", bytes(range(256)) * 4)):
        (tmp_path / name).write_bytes(data)
        code, _, err = run_cli(["handoff", "verify", str(tmp_path / name)], capsys)
        assert code == 2 and err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_unsafe_tarball_members_are_not_extracted(tmp_path, capsys):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    code, _, err = run_cli(["handoff", "verify", str(evil)], capsys)
    assert code == 2 and "unsafe member" in err
    assert not list(tmp_path.parent.glob("escaped.txt"))


def test_existing_path_is_refused_and_left_intact(deployed, loihi_bundle, tmp_path, capsys):
    before = (loihi_bundle / "manifest.json").read_bytes()
    code, _, err = run_cli(["handoff", str(deployed), "--target", "loihi", "--out",
                            str(loihi_bundle)], capsys)
    assert code == 2 and "--force" in err
    assert (loihi_bundle / "manifest.json").read_bytes() == before
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    code, _, err = run_cli(["handoff", str(deployed), "--target", "loihi", "--out", str(mine),
                            "--force"], capsys)
    assert code == 2 and "not a handoff bundle" in err
    assert (mine / "keep.txt").read_text() == "mine"


def test_tarball_round_trip_and_force(deployed, tmp_path, capsys):
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(b"an older file")
    code, _, err = run_cli(["handoff", str(deployed), "--target", "loihi", "--out", str(path),
                            "--reference-inputs", "2"], capsys)
    assert code == 2 and path.read_bytes() == b"an older file"
    code, out, err = run_cli(["handoff", "create", str(deployed), "--target", "loihi", "--out",
                              str(path), "--reference-inputs", "2", "--force"], capsys)
    assert code == 0, err
    with tarfile.open(path) as tar:
        names = tar.getnames()
    assert "bundle/manifest.json" in names and "bundle/model.net" in names
    code, out, err = run_cli(["handoff", "verify", str(path)], capsys)
    assert code == 0 and "2 reference samples" in out, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.tar.gz"]


def test_interrupted_handoff_leaves_nothing(deployed, loihi_bundle, tmp_path, capsys,
                                            monkeypatch):
    from neuropipe.pipeline.handoff import simulate

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate, "output_spikes", interrupt)
    for out in (tmp_path / "new", tmp_path / "new.tar.gz"):
        code, _, err = run_cli(["handoff", str(deployed), "--target", "loihi", "--out",
                                str(out)], capsys)
        assert code == 130 and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []
    old = copy_of(loihi_bundle, tmp_path, "old")
    before = {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()}
    code, _, _ = run_cli(["handoff", str(deployed), "--target", "loihi", "--out", str(old),
                          "--force"], capsys)
    assert code == 130
    assert {p.relative_to(old): p.read_bytes() for p in old.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old"]


def test_run_without_the_deployment_is_refused_with_a_hint(deployed, tmp_path, capsys):
    bare = tmp_path / "bare-run"
    bare.mkdir()
    shutil.copy(deployed / "config.json", bare / "config.json")
    code, _, err = run_cli(["handoff", str(bare), "--target", "spinnaker", "--out",
                            str(tmp_path / "b")], capsys)
    assert code == 2 and f"neuropipe convert {bare} --target spinnaker" in err
    code, _, err = run_cli(["handoff", str(deployed), "--target", "gpu", "--out",
                            str(tmp_path / "b")], capsys)
    assert code == 2 and "loihi or spinnaker" in err
    assert not (tmp_path / "b").exists()


def test_spinnaker_bundle_verifies_on_nest_and_catches_a_tampered_network(deployed, tmp_path,
                                                                          capsys):
    bundle = tmp_path / "spinnaker"
    code, _, err = run_cli(["handoff", str(deployed), "--target", "spinnaker", "--out",
                            str(bundle), "--reference-inputs", REFS], capsys)
    assert code == 0, err
    moved = shutil.move(str(bundle), str(tmp_path / "moved"))
    code, out, err = run_cli(["handoff", "verify", moved], capsys)
    assert code == 0 and "pyNN.nest" in out, err
    manifest = json.loads((tmp_path / "moved" / "manifest.json").read_text())
    assert manifest["reference"]["fast_simulator"]["samples_identical"] == int(REFS)
    assert {"network.npz", "pynn_network.py", "placement.json"} <= {
        f["path"] for f in manifest["files"]}
    assert "pyNN.spiNNaker" in (tmp_path / "moved" / "README.md").read_text()
    network = tmp_path / "moved" / "network.npz"
    with np.load(network) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["L1_weight"] = arrays["L1_weight"] * -3.0
    with open(network, "wb") as fh:
        np.savez_compressed(fh, **arrays)
    reseal(tmp_path / "moved")
    code, _, err = run_cli(["handoff", "verify", moved], capsys)
    assert code == 1 and "network.npz" in err and "model.nir" in err, err


def test_spinnaker_placement_must_give_the_manifests_resources(deployed, tmp_path, capsys):
    bundle = tmp_path / "spinnaker"
    assert run_cli(["handoff", str(deployed), "--target", "spinnaker", "--out", str(bundle),
                    "--reference-inputs", "1"], capsys)[0] == 0
    placement = json.loads((bundle / "placement.json").read_text())
    placement["populations"][0]["cores"].pop()
    (bundle / "placement.json").write_text(json.dumps(placement))
    reseal(bundle)
    code, _, err = run_cli(["handoff", "verify", str(bundle)], capsys)
    assert code == 1 and "placement.json does not give the manifest's resources" in err, err


def write_recurrent_graph(path, n, seed, timesteps, encoding, readout):
    """784 inputs -> n recurrent LIF neurons (-> a host readout to 10 classes), as a NIR file."""
    import nir

    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([784])}),
        "fc": nir.Affine(weight=rng.normal(0, 0.3, (n, 784)), bias=np.zeros(n)),
        "lif": nir.LIF(tau=np.full(n, 5.0), r=np.ones(n), v_leak=np.zeros(n),
                       v_threshold=np.ones(n), v_reset=np.zeros(n)),
        "rec": nir.Linear(weight=rng.normal(0, 0.3, (n, n))),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "rec"), ("rec", "lif")]
    if readout:
        nodes["readout"] = nir.Affine(weight=rng.normal(0, 1.0, (10, n)),
                                      bias=rng.normal(0, 0.1, 10))
        edges += [("lif", "readout"), ("readout", "output")]
    else:
        edges += [("lif", "output")]
    nodes["output"] = nir.Output(output_type={"output": np.array([10 if readout else n])})
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges,
                                      metadata={"timesteps": timesteps, "encoding": encoding}))


def test_bare_graph_with_recurrence_and_host_readout(tmp_path, capsys):
    """A NIR file made elsewhere: recurrent LIF layer, poisson input, a readout on the host."""
    n = 24
    write_recurrent_graph(tmp_path / "g.nir", n, seed=1, timesteps=6, encoding="poisson",
                          readout=True)
    results = tmp_path / "g.neuropipe"
    assert main(["convert", str(tmp_path / "g.nir"), "--target", "loihi", "--samples", "20",
                 "--verify-samples", "1"]) == 0
    code, out, err = run_cli(["handoff", str(results), "--target", "loihi", "--out",
                              str(tmp_path / "bundle"), "--reference-inputs", "2"], capsys)
    assert code == 0, err
    encoding = json.loads((tmp_path / "bundle" / "encoding.json").read_text())
    assert encoding["readout"] == "readout.npz" and encoding["chip_input"] == "spikes"
    assert encoding["seed"] == 0 and "W @ c + b" in encoding["decode"]
    with np.load(tmp_path / "bundle" / "reference" / "expected.npz") as data:
        spikes, predicted = data["output_spikes"], data["predicted"]
    with np.load(tmp_path / "bundle" / "readout.npz") as r:
        window = spikes[:, encoding["window_start"]:encoding["window_stop"]].sum(axis=1)
        assert np.array_equal(predicted, np.argmax(window @ r["weight"].T + r["bias"], axis=1))
    assert spikes.shape[2] == n and spikes.sum() > 0
    shutil.rmtree(results)
    code, out, err = run_cli(["handoff", "verify", str(tmp_path / "bundle")], capsys)
    assert code == 0, err


def test_recurrent_layer_with_host_input_names_the_convert_command(tmp_path, capsys):
    """Constant input into a recurrent first layer has no .net file: the hint is a command."""
    write_recurrent_graph(tmp_path / "g.nir", 8, seed=2, timesteps=4, encoding="constant",
                          readout=False)
    assert main(["convert", str(tmp_path / "g.nir"), "--target", "loihi", "--samples", "10",
                 "--verify-samples", "0"]) == 0
    capsys.readouterr()
    results = tmp_path / "g.neuropipe"
    code, _, err = run_cli(["handoff", str(results), "--target", "loihi", "--out",
                            str(tmp_path / "bundle")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'neuropipe convert' of the NIR file again with --encoding poisson --force" in err
    assert not (tmp_path / "bundle").exists()
    assert main(["convert", str(tmp_path / "g.nir"), "--target", "loihi", "--encoding", "poisson",
                 "--force", "--samples", "10", "--verify-samples", "0"]) == 0
    code, _, err = run_cli(["handoff", str(results), "--target", "loihi", "--out",
                            str(tmp_path / "bundle"), "--reference-inputs", "1"], capsys)
    assert code == 0, err


# Issue 22: a bundle comes from someone else; verify runs nothing it has not checked.

PLANT = "import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"


def plant(folder, marker, name="numpy.py"):
    (folder / name).write_text(PLANT.format(marker=str(marker)))


def add_to_manifest(bundle, path):
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"].append({"type": "handoff-file", "schema_version": 1, "path": path,
                              "sha256": "", "bytes": 0, "role": ""})
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reseal(bundle)


def test_a_planted_module_is_refused_before_anything_runs(loihi_bundle, tmp_path, capsys):
    marker = tmp_path / "marker"
    bad = copy_of(loihi_bundle, tmp_path)
    plant(bad, marker)
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "numpy.py" in err and "not in its manifest" in err, err
    assert len(err.strip().splitlines()) == 1 and not marker.exists()
    add_to_manifest(bad, "numpy.py")  # listed and sealed: still never imported
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "numpy.py" in err and "not checked" in err, err
    assert not marker.exists()


def test_scripts_run_isolated_from_the_folder_beside_them(tmp_path):
    """``python -I``: a numpy.py beside the script is not what ``import numpy`` finds."""
    from neuropipe.pipeline.handoff.simulate import _run

    marker, work = tmp_path / "marker", tmp_path / "work"
    work.mkdir()
    plant(tmp_path, marker)
    (tmp_path / "script.py").write_text(
        "import numpy\nnumpy.savez('spikes.npz', x=numpy.zeros(1))\n")
    _run([str(tmp_path / "script.py")], "a script", work)
    assert (work / "spikes.npz").is_file() and not marker.exists()


@pytest.mark.parametrize("name, damage, words", [
    ("run_lava.py", b"", "not the script this neuropipe writes"),
    ("reference/expected.npz", "truncate", "reference/expected.npz is damaged"),
    ("reference/inputs.npz", b"", "reference/inputs.npz is damaged"),
    ("host_layer.npz", b"", "host_layer.npz is damaged"),
    ("README.md", b"# a README\n", "README.md"),
])
def test_damaged_files_under_recomputed_checksums_are_one_line_exit_1(
        loihi_bundle, tmp_path, capsys, name, damage, words):
    bad = copy_of(loihi_bundle, tmp_path)
    data = (bad / name).read_bytes()
    (bad / name).write_bytes(data[:len(data) // 2] if damage == "truncate" else damage)
    reseal(bad)
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and words in err, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_a_host_layer_that_does_not_give_the_chip_input_is_caught(loihi_bundle, tmp_path,
                                                                   capsys):
    bad = copy_of(loihi_bundle, tmp_path)
    with np.load(bad / "host_layer.npz") as data:
        arrays = dict(data)
    arrays["weight"] = arrays["weight"] * 1.01
    np.savez(bad / "host_layer.npz", **arrays)
    reseal(bad)
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "host_layer.npz: 'weight'" in err, err


def rewrite_expected(bundle, change):
    """Change the expected spikes, then cover every track: classes, manifest, checksums."""
    from neuropipe.pipeline.handoff.encoding import decode

    with np.load(bundle / "reference" / "expected.npz") as data:
        arrays = dict(data)
    spikes = change(arrays["output_spikes"].copy())
    assert spikes.sum() == arrays["output_spikes"].sum()  # the totals are kept
    if change is _trade_spike_times:  # and every neuron's count, so every prediction too
        assert np.array_equal(spikes.sum(axis=1), arrays["output_spikes"].sum(axis=1))
    assert not np.array_equal(spikes, arrays["output_spikes"])
    start, stop = arrays["window"]
    arrays.update(output_spikes=spikes, predicted=decode(spikes, start, stop))
    np.savez(bundle / "reference" / "expected.npz", **arrays)
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["reference"]["predicted"] = arrays["predicted"].tolist()
    manifest["reference"]["output_spikes"] = spikes[:, start:stop].sum(axis=(1, 2)).tolist()
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reseal(bundle)


def _shift_one_spike(spikes):
    k, t, n = np.argwhere(spikes[:, :-1] & ~spikes[:, 1:])[0]
    spikes[k, t, n], spikes[k, t + 1, n] = False, True
    return spikes


def _swap_samples(spikes):
    k = next(k for k in range(1, len(spikes)) if not np.array_equal(spikes[0], spikes[k]))
    spikes[[0, k]] = spikes[[k, 0]]
    return spikes


def _permute_neurons(spikes):
    counts = spikes.sum(axis=(0, 1))
    a, b = np.argsort(counts)[-1], np.argsort(counts)[0]
    spikes[..., [a, b]] = spikes[..., [b, a]]
    return spikes


def _trade_spike_times(spikes):
    """Two neurons of one sample trade spike times: every count and prediction is kept."""
    for k, t1, a in np.argwhere(spikes):
        for t2, b in np.argwhere(spikes[k] & ~spikes[k, :, [a]].T):
            if b != a and not spikes[k, t1, b]:
                spikes[k, t1, a], spikes[k, t2, b] = False, False
                spikes[k, t2, a], spikes[k, t1, b] = True, True
                return spikes
    raise AssertionError("no two neurons spike at different steps")


@pytest.mark.parametrize("change", [_shift_one_spike, _swap_samples, _permute_neurons,
                                    _trade_spike_times])
def test_tampering_that_keeps_the_totals_is_caught(loihi_bundle, tmp_path, capsys, change):
    bad = copy_of(loihi_bundle, tmp_path)
    rewrite_expected(bad, change)
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and "error: " in err, err


def test_the_fast_path_agreement_is_recomputed_not_trusted(loihi_bundle, tmp_path, capsys):
    bad = copy_of(loihi_bundle, tmp_path)
    manifest = json.loads((bad / "manifest.json").read_text())
    manifest["reference"]["fast_simulator"]["samples_identical"] -= 1
    (bad / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    reseal(bad)
    code, _, err = run_cli(["handoff", "verify", str(bad)], capsys)
    assert code == 1 and f"run again by verify it agrees on {REFS} of {REFS}" in err, err


def test_an_empty_deployed_network_is_named_not_called_an_interruption(deployed, tmp_path,
                                                                       capsys):
    run = shutil.copytree(deployed, tmp_path / "run")
    (run / "targets" / "spinnaker" / "network.npz").write_bytes(b"")
    code, _, err = run_cli(["handoff", str(run), "--target", "spinnaker", "--out",
                            str(tmp_path / "b")], capsys)
    assert code == 2 and "network.npz is damaged" in err and "interrupted" not in err, err
    assert not (tmp_path / "b").exists()
