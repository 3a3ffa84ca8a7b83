import json

import numpy as np
import pytest

from neuropipe.core.errors import TargetError
from neuropipe.targets.base import Availability, DeploymentRecord
from neuropipe.targets.registry import get_target, target_names


@pytest.mark.parametrize("name", target_names())
def test_every_registered_target_honours_the_contract(name, rng, make_dense_graph, tmp_path):
    target = get_target(name)
    assert target.name == name and target.description
    availability = target.availability()
    assert isinstance(availability, Availability) and isinstance(availability.reason, str)
    graph = make_dense_graph(rng, sizes=(20, 16, 4))
    assert target.supports(graph) == []
    from neuropipe.targets.base import Workload

    x = rng.random((12, 20)) * 2
    labels = rng.integers(0, 4, 12)
    record = target.deploy(Workload(graph, x, labels, timesteps=8), tmp_path, verify_samples=2)
    assert isinstance(record, DeploymentRecord) and record.target == name
    assert record.samples == 12 and 0 <= record.accuracy <= 1
    estimated = [t for t in record.energy_breakdown if t.joules_per_inference is not None]
    assert record.energy_per_inference_j == pytest.approx(
        sum(t.joules_per_inference for t in estimated))
    assert record.energy_per_inference_j == pytest.approx(
        record.chip_energy_per_inference_j + record.host_energy_per_inference_j)
    static = [t for t in record.energy_breakdown if t.kind == "static"]
    assert static and static[0].method == "not-estimated" and "not added" in static[0].note
    assert all(t.source for t in record.energy_breakdown)
    assert record.leaves_out and record.cost_model.get("sources")
    assert record.verification.get("spike_match") == 1.0
    for name_, file_name in record.artifacts.items():
        assert (tmp_path / file_name).is_file(), name_
    again = DeploymentRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record


def test_unknown_target_lists_the_registered_ones():
    with pytest.raises(TargetError, match="unknown target 'tpu': choose one of loihi"):
        get_target("tpu")


def test_loihi_counts_match_a_hand_count(rng, make_dense_graph, tmp_path):
    from neuropipe.targets.base import Workload
    from neuropipe.targets.chain import to_chain
    from neuropipe.targets.loihi.emulator import emulate
    from neuropipe.targets.loihi.quantize import quantize_chain

    graph = make_dense_graph(rng, sizes=(20, 16, 4))
    x = rng.random((5, 20)) * 2
    record = get_target("loihi").deploy(Workload(graph, x, np.zeros(5, int), timesteps=8),
                                        tmp_path, verify_samples=0)
    layers = quantize_chain(to_chain(graph), "constant")
    steps = 8 + 1
    spikes = emulate(layers, steps, host_bias=layers[0].input_bias(x)[0]).spikes
    hidden_per_inference = spikes[0].sum(axis=(0, 1)) / 5
    w2 = to_chain(graph).layers[1].weight
    expected = float(hidden_per_inference @ (w2 != 0).sum(axis=0))
    assert record.synops_per_inference == pytest.approx(expected)
    assert record.neuron_updates_per_inference == (16 + 4) * steps
    assert record.layers[0].quantisation["synapses_on"] == "host"
