"""``convert --encoding graded`` from the command line: refusals, skips, and a handoff bundle."""

import json

import nir
import numpy as np
import pytest


def write_graph(path, encoding="constant", seed=0):
    """784 inputs -> 12 IF -> 10 IF, as a NIR file made elsewhere."""
    rng = np.random.default_rng(seed)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([784])}),
        "fc0": nir.Affine(weight=rng.normal(0, 0.1, (12, 784)), bias=np.zeros(12)),
        "if0": nir.IF(r=np.ones(12), v_threshold=np.ones(12), v_reset=np.zeros(12)),
        "fc1": nir.Affine(weight=rng.normal(0, 0.5, (10, 12)), bias=np.zeros(10)),
        "if1": nir.IF(r=np.ones(10), v_threshold=np.ones(10), v_reset=np.zeros(10)),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }
    order = ["input", "fc0", "if0", "fc1", "if1", "output"]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:],
                                                                  strict=True)),
                                      metadata={"timesteps": 4, "encoding": encoding}))
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "spinnaker", "--encoding", "graded"],
     "--encoding graded runs on loihi only; target 'spinnaker' takes constant, poisson"),
    (["--target", "loihi,cpu", "--encoding", "graded"],
     "--encoding graded runs on loihi only; target 'cpu' takes constant, poisson"),
    (["--target", "loihi", "--encoding", "morse"],
     "unknown encoding 'morse' for --encoding: choose constant, poisson, rate, latency, "
     "graded"),
])
def test_an_encoding_a_target_cannot_run_is_refused_before_any_work(tmp_path, cli, args,
                                                                   message):
    graph = write_graph(tmp_path / "g.nir")
    code, out, err = cli(["convert", str(graph), *args, "--samples", "5"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and out == ""
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.nir"]  # nothing written


def test_graded_under_all_skips_the_others_and_its_bundle_verifies(tmp_path, cli):
    graph = write_graph(tmp_path / "g.nir", encoding="poisson")
    code, out, err = cli(["convert", str(graph), "--target", "all", "--encoding", "graded",
                          "--samples", "20", "--verify-samples", "1"])
    assert code == 0, err
    assert "spinnaker: skipped: --encoding graded runs on loihi only" in out
    assert "cpu: skipped: --encoding graded runs on loihi only" in out
    results = tmp_path / "g.neuropipe"
    assert sorted(p.name for p in (results / "targets").iterdir()) == ["loihi"]
    record = json.loads((results / "targets" / "loihi" / "deployment.json").read_text())
    assert record["provenance"]["encoding"] == "graded"
    assert record["verification"]["spike_match"] == 1.0
    assert record["counts"]["graded_events"] > 0 and record["counts"]["host_macs"] == 0
    assert any("was trained with poisson input" in n for n in record["notes"])
    code, out, err = cli(["handoff", str(results), "--target", "loihi", "--out",
                          str(tmp_path / "bundle"), "--reference-inputs", "2"])
    assert code == 0, err
    encoding = json.loads((tmp_path / "bundle" / "encoding.json").read_text())
    assert encoding["chip_input"] == "graded spikes" and encoding["encoding"] == "graded"
    assert encoding["constants"]["input_message_bits"] >= 4
    with np.load(tmp_path / "bundle" / "reference" / "inputs.npz") as data:
        spikes = data["spikes"]
    assert spikes.dtype.kind == "i" and spikes[:, 1:].sum() == 0 and spikes.max() > 1
    code, out, err = cli(["handoff", "verify", str(tmp_path / "bundle")])
    assert code == 0, err
    assert "match spike for spike" in out
