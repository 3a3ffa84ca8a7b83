import numpy as np
import pytest
import torch

from neuropipe.core.errors import GraphError
from neuropipe.models.nir_export import export_snn, read_nir, write_nir
from neuropipe.models.snn import build_snn_mlp
from neuropipe.targets.chain import to_chain
from neuropipe.targets.float_sim import simulate


def active_snn(neuron, timesteps=8, hidden=32, seed=0):
    torch.manual_seed(seed)
    model = build_snn_mlp(timesteps, "constant", neuron, hidden=hidden)
    with torch.no_grad():
        model.net[1].weight.mul_(12)
        model.net[3].weight.normal_(0.4, 0.6)
    return model.eval()


@pytest.mark.parametrize("neuron", ["lif"])
def test_nir_file_round_trip_reimports_into_norse_with_the_same_spikes(tmp_path, neuron):
    import norse.torch as nt

    model = active_snn(neuron)
    path = tmp_path / "m.nir"
    write_nir(export_snn(model), path)
    graph = read_nir(path)  # nir.read with its type check
    assert graph.metadata["dt"] == 1.0 and graph.metadata["timesteps"] == 8
    kinds = {type(n).__name__ for n in graph.nodes.values()}
    assert kinds == {"Input", "Flatten", "Affine", "LIF" if neuron == "lif" else "CubaLIF",
                     "Output"}
    # The file holds the model's own parameters, exactly (norse's re-import ignores r, so check
    # it here).
    net = model.net
    for affine, linear in (("1", net[1]), ("3", net[3])):
        np.testing.assert_array_equal(graph.nodes[affine].weight, linear.weight.detach().numpy())
        np.testing.assert_array_equal(graph.nodes[affine].bias, linear.bias.detach().numpy())
    for node, cell in (("2", net[2]), ("4", net[4])):
        lif = graph.nodes[node]
        np.testing.assert_allclose(lif.tau, 1.0 / float(cell.p.tau_mem_inv), rtol=1e-6)
        np.testing.assert_array_equal(lif.r, 1.0)
        np.testing.assert_array_equal(lif.v_threshold, float(cell.p.v_th))
        np.testing.assert_array_equal(lif.v_leak, 0.0)
    reimported = nt.from_nir(graph, dt=graph.metadata["dt"])
    total = 0
    for sample in range(20):
        x = torch.rand(1, 28, 28, generator=torch.Generator().manual_seed(sample))
        state = state2 = None
        for _ in range(8):
            # norse's from_nir maps NIR's unbatched Flatten(start_dim=0) to torch's
            # Flatten(0), so the re-imported module is run on unbatched samples.
            out, state = model.net(x.unsqueeze(0), state)
            out2, state2 = reimported(x, state2)
            assert torch.equal(out[0], out2.reshape(out[0].shape))
            total += int(out.sum())
    assert total > 0


def test_lif_graph_in_float_simulation_reproduces_the_norse_model():
    model = active_snn("lif", timesteps=10, hidden=64)
    x = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    counts = simulate(to_chain(export_snn(model)), x.numpy(), 10)
    with torch.no_grad():
        expected = model(x).numpy()
    assert counts.sum() > 0
    assert np.array_equal(counts, expected)


def test_corrupt_or_missing_nir_files_are_clear_errors(tmp_path):
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(GraphError, match="is not a readable NIR file.*export it again"):
        read_nir(bad)
    with pytest.raises(GraphError, match="does not exist"):
        read_nir(tmp_path / "absent.nir")
    good = tmp_path / "good.nir"
    write_nir(export_snn(active_snn("lif")), good)
    good.write_bytes(good.read_bytes()[:200])  # truncated
    with pytest.raises(GraphError, match="not a readable NIR file"):
        read_nir(good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nir", "good.nir"]  # no leftovers


def test_cuba_models_export_their_time_constants_and_are_refused_by_loihi(tmp_path):
    from neuropipe.targets.registry import get_target

    path = tmp_path / "cuba.nir"
    write_nir(export_snn(active_snn("cuba")), path)
    graph = read_nir(path)
    node = graph.nodes["2"]
    assert type(node).__name__ == "CubaLIF"
    assert np.allclose(node.tau_mem, 5.0) and np.allclose(node.tau_syn, 2.0)
    problems = get_target("loihi").supports(graph)
    assert problems and "CubaLIF" in problems[0] and "supported" in problems[0]
    assert not any("without neurons" in p or "drives no neurons" in p for p in problems)


def test_the_file_depends_on_the_network_not_on_the_edge_order(tmp_path):
    # norse collects edges in a set, whose order changed with PYTHONHASHSEED from one export of
    # the same network to the next (and with it graph_sha256). Two graphs that differ only in
    # the order of their edges must give the same bytes, edges in the order of the nodes.
    graph = export_snn(active_snn("lif", hidden=8))
    order = list(graph.edges)
    files = []
    for i, edges in enumerate((order, order[::-1], order[2:] + order[:2])):
        graph.edges = list(edges)
        files.append(tmp_path / f"{i}.nir")
        write_nir(graph, files[-1])
    assert files[0].read_bytes() == files[1].read_bytes() == files[2].read_bytes()
    assert read_nir(files[1]).edges == [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"),
                                        ("3", "4"), ("4", "output")]
