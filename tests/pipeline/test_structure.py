"""Structure the code promises: registries read instead of lists by hand, a graph read once."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest


def small_graph(path: Path) -> Path:
    """784 inputs -> 10 LIF neurons, 4 steps in its metadata (a bare NIR file)."""
    rng = np.random.default_rng(0)
    graph = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([784])}),
        "fc": nir.Affine(weight=rng.normal(0, 0.2, (10, 784)), bias=np.zeros(10)),
        "lif": nir.LIF(tau=np.full(10, 4.0), r=np.ones(10), v_leak=np.zeros(10),
                       v_threshold=np.ones(10), v_reset=np.zeros(10)),
        "output": nir.Output(output_type={"output": np.array([10])}),
    }, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
        metadata={"timesteps": 4})
    nir.write(str(path), graph)
    return path


def test_convert_reads_the_graph_into_a_chain_once(tmp_path, idx_dir, cli, monkeypatch):
    """supports, the input-size check, the float reference and deploy share one reading."""
    from neuropipe.targets import chain as chain_mod

    real, graphs_read = chain_mod.to_chain, []

    def counting(graph, dt=1.0):
        if not isinstance(graph, chain_mod.Chain):
            graphs_read.append(graph)
        return real(graph, dt)

    monkeypatch.setattr(chain_mod, "to_chain", counting)
    idx_dir(tmp_path / "idx")
    path = small_graph(tmp_path / "g.nir")
    code, _, err = cli(["convert", str(path), "--target", "asic", "--samples", "6",
                        "--data-dir", str(tmp_path / "idx")])
    assert code == 0, err
    record = json.loads((tmp_path / "g.neuropipe" / "targets" / "asic" /
                         "deployment.json").read_text())
    assert record["samples"] == 6
    assert len(graphs_read) == 1


def test_to_chain_returns_a_chain_as_it_is(tmp_path):
    from neuropipe.models.nir_export import read_nir
    from neuropipe.targets.chain import to_chain

    chain = to_chain(read_nir(small_graph(tmp_path / "g.nir")))
    assert to_chain(chain) is chain and to_chain(chain, 0.5) is chain


@pytest.mark.parametrize("name", ["loihi", "spinnaker"])
def test_every_handoff_hook_names_its_files(name):
    """A hook's files fit together; pipeline/handoff finds it through the registry alone."""
    from neuropipe.targets.registry import HANDOFFS, TARGETS, get_handoff, handoff_names

    assert name in handoff_names() and set(HANDOFFS) <= set(TARGETS)
    hook = get_handoff(name)
    assert hook.target == name and hook.short_name
    assert hook.deployed in hook.bundle_files and hook.script in hook.bundle_files
    assert "model.nir" in hook.deployment_files and "model.nir" in hook.bundle_files
    assert set(hook.roles) <= set(hook.bundle_files)
    assert hook.resources_file in ("", *hook.bundle_files)
    assert Path(hook.script_source).is_file()
    args, what = hook.simulation(Path("/b"), 3, Path("/o/spikes.npz"))
    assert args[0] == f"/b/{hook.script}" and "/o/spikes.npz" in args and "3" in args and what


def test_a_target_without_a_handoff_is_refused_naming_those_with_one():
    from neuropipe.core.errors import TargetError
    from neuropipe.targets.registry import get_handoff

    with pytest.raises(TargetError, match="unknown handoff target 'asic': choose loihi or "
                                          "spinnaker"):
        get_handoff("asic")


def test_help_texts_read_the_registries(cli):
    """MODEL, --hidden, --target and --encoding list what the registries hold (ff included)."""
    from neuropipe.models.zoo import MODELS
    from neuropipe.pipeline.commands import registry_help
    from neuropipe.targets.registry import target_names

    names = list(MODELS)
    assert registry_help.model_help() == f"{', '.join(names[:-1])} or {names[-1]}."
    assert "ff" in names and "ff" in registry_help.hidden_help()
    assert all(name in registry_help.target_help() for name in target_names())
    assert "graded (loihi only" in registry_help.convert_encoding_help()
    code, out, _ = cli(["train", "--help"])
    assert code == 0 and registry_help.model_help() in " ".join(out.replace("│", "").split())
    code, out, _ = cli(["convert", "--help"])
    assert code == 0 and "spinnaker2" in out and "asic" in out
