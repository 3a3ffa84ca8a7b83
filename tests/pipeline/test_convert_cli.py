import json

import numpy as np
import pytest
import torch

from neuropipe.pipeline.cli import main


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["train", "mlp", "--limit-train", "3000", "--limit-test", "200",
                 "--out", str(root / "mlp")]) == 0
    assert main(["train", "snn-mlp", "--limit-train", "3000", "--limit-test", "200",
                 "--epochs", "2", "--timesteps", "8", "--out", str(root / "snn")]) == 0
    return root


def convert(args, capsys):
    code = main(["convert", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_snn_run_converts_to_loihi(runs, capsys):
    code, out, err = convert([str(runs / "snn"), "--samples", "100", "--verify-samples", "2"],
                             capsys)
    assert code == 0, err
    record = json.loads((runs / "snn" / "targets" / "loihi" / "deployment.json").read_text())
    assert record["type"] == "deployment" and record["target"] == "loihi"
    for key in ("accuracy", "reference_accuracy", "samples", "timesteps",
                "synops_per_inference", "neuron_updates_per_inference",
                "energy_per_inference_j", "energy_breakdown", "estimates", "layers",
                "verification", "counts", "resources", "provenance"):
        assert key in record
    assert record["samples"] == 100 and record["timesteps"] == 8
    assert record["verification"]["lava_samples"] == 2
    assert record["verification"]["spike_match"] == 1.0
    assert abs(record["accuracy"] - record["reference_accuracy"]) <= 0.05
    assert record["accuracy"] > 0.5
    assert "Davies" in " ".join(record["estimates"][0]["sources"])
    provenance = record["provenance"]
    assert provenance["model"] == "snn-mlp" and provenance["dataset"] == "mnist"
    import hashlib

    assert provenance["graph_sha256"] == hashlib.sha256(
        (runs / "snn" / "targets" / "loihi" / "model.nir").read_bytes()).hexdigest()
    assert provenance["versions"]["lava-nc"] == "0.10.0"
    assert (runs / "snn" / "model.nir").is_file()
    assert (runs / "snn" / "targets" / "loihi" / "model.net").is_file()
    from neuropipe.core.files import umask_mode

    assert (runs / "snn" / "targets" / "loihi").stat().st_mode & 0o777 == umask_mode(0o777)
    assert record["verification"]["netx_output_match"] == 1.0
    assert "spike match 1.0000" in out


def test_ann_run_is_converted_to_if_neurons(runs, capsys):
    code, _, err = convert([str(runs / "mlp"), "--samples", "200", "--verify-samples", "1",
                            "--timesteps", "24"], capsys)
    assert code == 0, err
    record = json.loads((runs / "mlp" / "targets" / "loihi" / "deployment.json").read_text())
    import nir

    graph = nir.read(str(runs / "mlp" / "targets" / "loihi" / "model.nir"))
    assert {type(n).__name__ for n in graph.nodes.values()} >= {"Affine", "IF"}
    # --timesteps 24 is this deployment's choice: the run's own model.nir is not replaced.
    own = runs / "mlp" / "model.nir"
    assert not own.exists() or int(np.asarray(nir.read(str(own)).metadata["timesteps"])) != 24
    assert any("the ANN itself scores" in note for note in record["notes"])
    note = next(n for n in record["notes"] if "ANN itself" in n)
    ann = float(note.split("scores ")[1].split()[0])
    assert record["reference_accuracy"] > ann - 0.03  # conversion keeps the ANN's accuracy
    assert record["accuracy"] > ann - 0.03
    assert record["verification"]["spike_match"] == 1.0


def test_bare_nir_file_written_by_norse_elsewhere(tmp_path, capsys):
    import nir
    import norse.torch as nt

    torch.manual_seed(0)
    net = nt.SequentialState(
        torch.nn.Flatten(), torch.nn.Linear(784, 40),
        nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=torch.tensor(0.25)), dt=1.0),
        torch.nn.Linear(40, 10),
        nt.LIFBoxCell(nt.LIFBoxParameters(tau_mem_inv=torch.tensor(0.25)), dt=1.0))
    with torch.no_grad():
        net[1].weight.mul_(10)
    graph = nt.to_nir(net, torch.zeros(1, 28, 28), dt=1.0)
    # The stack notes' workarounds, applied by hand as an outside user would.
    graph.nodes["0"] = nir.Flatten(input_type={"input": np.array([1, 28, 28])}, start_dim=0)
    for name, size in (("2", 40), ("4", 10)):
        node = graph.nodes[name]
        for field in ("tau", "r", "v_leak", "v_threshold", "v_reset"):
            setattr(node, field, np.broadcast_to(np.asarray(getattr(node, field),
                                                            dtype=np.float32), (size,)).copy())
    for name in ("1", "3"):
        for field in ("weight", "bias"):
            setattr(graph.nodes[name], field, getattr(graph.nodes[name], field).detach().numpy())
    graph.nodes["output"] = nir.Output(output_type={"output": np.array([10])})
    path = tmp_path / "outside.nir"
    nir.write(str(path), graph)
    code, _, err = convert([str(path), "--timesteps", "10", "--samples", "50",
                            "--verify-samples", "2"], capsys)
    assert code == 0, err
    record = json.loads((tmp_path / "outside.neuropipe" / "targets" / "loihi" /
                         "deployment.json").read_text())
    assert record["samples"] == 50 and record["verification"]["spike_match"] == 1.0
    assert record["synops_per_inference"] > 0


@pytest.mark.parametrize("make_args, message", [
    (lambda r, t: [str(r / "snn"), "--target", "tpu"], "unknown target 'tpu'"),
    (lambda r, t: [str(t / "nothing")], "does not exist"),
    (lambda r, t: [str(t / "bad.nir")], "is not a readable NIR file"),
    (lambda r, t: [str(r / "snn"), "--samples", "0"], "--samples must be at least 1"),
    (lambda r, t: [str(t / "unsupported.nir"), "--timesteps", "4"], "no mapping here"),
    (lambda r, t: [str(r / "mlp"), "--percentile", "150"], "--percentile must be in (0, 100]"),
    (lambda r, t: [str(r / "snn"), "--dt", "5"], "--dt is for a bare .nir file"),
    (lambda r, t: [str(t / "badmeta.nir")], "metadata 'timesteps' is 'abc', not a number"),
    (lambda r, t: [str(t / "wide.nir"), "--timesteps", "4"],
     "the graph's input has shape (100,) (100 values) but mnist images have 784"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(runs, tmp_path, capsys, make_args,
                                                         message):
    import nir

    (tmp_path / "bad.nir").write_bytes(b"not a nir file")
    nir.write(str(tmp_path / "unsupported.nir"), nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([4])}),
               "li": nir.LI(tau=np.ones(4), r=np.ones(4), v_leak=np.zeros(4)),
               "output": nir.Output(output_type={"output": np.array([4])})},
        edges=[("input", "li"), ("li", "output")]))
    for name, inputs, metadata in (("badmeta", 784, {"timesteps": "abc"}), ("wide", 100, {})):
        nodes = {"input": nir.Input(input_type={"input": np.array([inputs])}),
                 "fc": nir.Affine(weight=np.ones((4, inputs)), bias=np.zeros(4)),
                 "lif": nir.LIF(tau=np.full(4, 5.0), r=np.ones(4), v_leak=np.zeros(4),
                                v_threshold=np.ones(4), v_reset=np.zeros(4)),
                 "output": nir.Output(output_type={"output": np.array([4])})}
        order = ["input", "fc", "lif", "output"]
        nir.write(str(tmp_path / f"{name}.nir"), nir.NIRGraph(
            nodes=nodes, edges=list(zip(order[:-1], order[1:], strict=True)),
            metadata=metadata))
    before = sorted(p.relative_to(runs) for p in runs.rglob("*"))
    code, _, err = convert(make_args(runs, tmp_path), capsys)
    assert code == 2 and message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.relative_to(runs) for p in runs.rglob("*")) == before
    assert not (tmp_path / "bad.neuropipe").exists()
    assert not (tmp_path / "unsupported.neuropipe").exists()
    for name in ("badmeta", "wide"):
        assert not (tmp_path / f"{name}.neuropipe").exists()


def test_an_earlier_deployment_is_kept_unless_forced(runs, capsys):
    run = runs / "snn"
    deployment = run / "targets" / "loihi" / "deployment.json"
    args = [str(run), "--samples", "20", "--verify-samples", "0"]
    assert convert([*args, "--force"], capsys)[0] == 0
    before = deployment.read_bytes()
    code, _, err = convert(args, capsys)
    assert code == 2 and "already exists (accuracy" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert deployment.read_bytes() == before
    code, _, err = convert([*args, "--out", str(runs / "elsewhere")], capsys)
    assert code == 2 and "--out is for a bare .nir file" in err
    assert not (runs / "elsewhere").exists()


def test_a_run_is_evaluated_on_its_own_dataset(tmp_path, idx_dir, capsys):
    data = tmp_path / "idx"
    idx_dir(data, n_train=300, n_test=40)
    run = tmp_path / "run"
    assert main(["train", "mlp", "--data-dir", str(data), "--out", str(run)]) == 0
    code, _, err = convert([str(run), "--verify-samples", "0"], capsys)
    assert code == 0, err
    record = json.loads((run / "targets" / "loihi" / "deployment.json").read_text())
    assert record["samples"] == 40  # the run's own 40 test images, not MNIST's 10,000


def test_a_spiking_cnn_deploys_with_constant_and_poisson_input(tmp_path, capsys):
    run = tmp_path / "snn-cnn"
    assert main(["train", "snn-cnn", "--limit-train", "500", "--limit-test", "100",
                 "--timesteps", "4", "--out", str(run)]) == 0
    for extra in ([], ["--encoding", "poisson", "--force"]):
        code, _, err = convert([str(run), "--samples", "20", "--verify-samples", "1", *extra],
                               capsys)
        assert code == 0, err
        record = json.loads((run / "targets" / "loihi" / "deployment.json").read_text())
        assert record["verification"]["spike_match"] == 1.0
        assert record["verification"]["netx_output_match"] == 1.0
        assert [layer["kind"] for layer in record["layers"]] == ["conv", "conv", "dense",
                                                                 "dense"]
        assert (run / "targets" / "loihi" / "model.nir").is_file()
    assert record["host_energy_per_inference_j"] == 0.0  # poisson: every synapse on the chip
    import nir

    own = nir.read(str(run / "model.nir"))
    assert "Conv2d" in {type(n).__name__ for n in own.nodes.values()}
    # The second convert (poisson) kept the run's model.nir: the trained model's settings.
    assert str(own.metadata["encoding"]) == "constant"
    deployed = nir.read(str(run / "targets" / "loihi" / "model.nir"))
    assert str(deployed.metadata["encoding"]) == "poisson"


@pytest.mark.parametrize("source", ["snn", "mlp"])
def test_runs_convert_to_spinnaker(runs, capsys, source):
    from neuropipe.targets.spinnaker.target import _toolchain_status

    if not _toolchain_status()[0]:
        pytest.skip(_toolchain_status()[1])
    code, out, err = convert([str(runs / source), "--target", "spinnaker", "--samples", "200",
                              "--verify-samples", "3"], capsys)
    assert code == 0, err
    folder = runs / source / "targets" / "spinnaker"
    record = json.loads((folder / "deployment.json").read_text())
    assert record["target"] == "spinnaker" and record["samples"] == 200
    verification = record["verification"]
    # The fast path and NEST agree spike for spike on the verified samples (tolerance: none).
    assert verification["spike_match"] == 1.0 and verification["nest_prediction_agreement"] == 1.0
    assert verification["float_prediction_agreement"] >= 0.98
    assert abs(record["accuracy"] - record["reference_accuracy"]) <= 0.03
    assert [e["cost_model"] for e in record["estimates"]] == ["spinn5-spinnmachine",
                                                             "spinnaker1-per-op"]
    assert record["resources"]["cores"] >= 2 and record["counts"]["packets"] > 0
    for name in ("network.npz", "pynn_network.py", "placement.json", "model.nir"):
        assert (folder / name).is_file(), name
    assert "energy (spinn5-spinnmachine, system level, default)" in out
    assert "energy (spinnaker1-per-op, chip level)" in out


def test_several_targets_each_written_as_it_completes(runs, capsys):
    run = runs / "mlp"
    assert (run / "targets" / "loihi" / "deployment.json").is_file() or convert(
        [str(run), "--samples", "50", "--verify-samples", "0"], capsys)[0] == 0
    before = (run / "targets" / "loihi" / "deployment.json").read_bytes()
    code, out, err = convert([str(run), "--target", "cpu,loihi", "--samples", "100"], capsys)
    # loihi already has a deployment (no --force): it fails, cpu is still written.
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "error: 1 of 2 targets failed (loihi); written: cpu")
    assert "loihi: failed:" in err and "pass --force to replace it" in err
    record = json.loads((run / "targets" / "cpu" / "deployment.json").read_text())
    assert record["target"] == "cpu" and record["artifacts"] == {"onnx": "model.onnx"}
    assert record["provenance"]["model"] == "mlp" and "cpu: accuracy" in out
    assert (run / "targets" / "loihi" / "deployment.json").read_bytes() == before


def test_an_unknown_target_in_a_list_is_refused_before_any_work(runs, capsys):
    code, _, err = convert([str(runs / "snn"), "--target", "cpu,tpu"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "unknown target 'tpu': choose from asic, cpu, gpu, loihi" in err
    assert not (runs / "snn" / "targets" / "cpu").exists()


def test_a_read_only_run_is_refused_before_any_work(runs, tmp_path, read_only, capsys):
    import shutil

    box = tmp_path / "box"
    shutil.copytree(runs / "snn", box / "snn")
    before = {str(p): p.stat().st_mtime_ns for p in box.rglob("*")}
    view = read_only(box)
    code, out, err = convert([str(view / "snn"), "--target", "cpu", "--samples", "20"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "cannot write to" in err and "copy it elsewhere and convert the copy" in err
    assert "cpu: accuracy" not in out
    assert {str(p): p.stat().st_mtime_ns for p in box.rglob("*")} == before


def test_a_nir_file_with_a_read_only_out_is_refused(runs, tmp_path, read_only, capsys):
    box = tmp_path / "ro"
    box.mkdir()
    view = read_only(box)
    code, _, err = convert([str(runs / "snn" / "model.nir"), "--target", "cpu", "--out",
                            str(view / "results"), "--samples", "20"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "cannot write to" in err and "choose another --out" in err
    assert list(box.iterdir()) == []


def test_mlp_runs_on_loihi_as_a_sigma_delta_network(runs, capsys):
    from neuropipe.targets.records import DeploymentRecord

    code, out, err = convert([str(runs / "mlp"), "--encoding", "sdnn", "--samples", "60",
                              "--verify-samples", "2", "--force"], capsys)
    assert code == 0, err
    assert "activation match 1.0000" in out and "graded events" in out
    path = runs / "mlp" / "targets" / "loihi" / "deployment.json"
    record = DeploymentRecord.read(path)
    assert record.network == "ann" and record.provenance.encoding == "sdnn"
    assert record.timesteps == 3 and record.counts.synops == 0
    assert record.counts.neuron_updates == (256 + 10) * 3
    assert record.verification["activation_match"] == 1.0
    assert record.counts.graded_events > 0
    assert record.default_estimate.cost_model == "loihi1-davies2018"
    assert DeploymentRecord.from_dict(record.to_dict()) == record
    assert json.loads(path.read_text()) == record.to_dict()
    thresholds = [row["delta_threshold"] for row in record.verification["threshold_trade_off"]]
    assert thresholds[0] == 0.0 and len(thresholds) >= 3


def test_sdnn_refused_for_a_spiking_run(runs, capsys):
    before = sorted(p.name for p in (runs / "snn").rglob("*"))
    code, out, err = convert([str(runs / "snn"), "--encoding", "sdnn", "--target", "loihi",
                              "--force"], capsys)
    assert code == 2
    assert "sdnn runs a conventional network (mlp, cnn)" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in (runs / "snn").rglob("*")) == before


def test_a_latency_code_reaches_loihi_and_the_graph_names_it(runs, capsys):
    """One input spike per nonzero pixel; the deployed graph's metadata names the code."""
    import nir

    from neuropipe.models.data.datasets import load_dataset

    code, _, err = convert([str(runs / "snn"), "--encoding", "latency", "--samples", "20",
                            "--verify-samples", "1", "--force"], capsys)
    assert code == 0, err
    folder = runs / "snn" / "targets" / "loihi"
    record = json.loads((folder / "deployment.json").read_text())
    assert record["provenance"]["encoding"] == "latency"
    assert record["verification"]["spike_match"] == 1.0
    x = load_dataset("mnist").test_x[:20]
    assert record["counts"]["input_spikes"] == pytest.approx(np.count_nonzero(x) / 20)
    assert str(nir.read(str(folder / "model.nir")).metadata["encoding"]) == "latency"


def test_latency_on_a_converted_ann_is_refused_in_one_line(runs, capsys):
    folder = runs / "mlp" / "targets" / "loihi"
    before = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}
    code, _, err = convert([str(runs / "mlp"), "--encoding", "latency", "--samples", "20",
                            "--force"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    after = {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else {}
    assert after == before  # nothing written or lost
    assert "--encoding latency is read only by a spiking model trained with it" in err
    assert "snn-mlp" in err
