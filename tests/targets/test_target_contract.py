import json

import pytest

from neuropipe.core.errors import TargetError
from neuropipe.core.levels import LEVELS
from neuropipe.targets.base import Availability, Workload
from neuropipe.targets.records import DeploymentRecord
from neuropipe.targets.registry import get_target, target_names


@pytest.mark.parametrize("graph_kind", ["feed-forward", "recurrent+readout"])
@pytest.mark.parametrize("name", target_names())
def test_every_registered_target_honours_the_contract(name, graph_kind, rng, make_dense_graph,
                                                      make_recurrent_graph, tmp_path):
    """Only what every target must do: probe, support check, a typed record that adds up.

    Twice: on a feed-forward chain, and on the NIR contract's features (a self-recurrent
    synapse, per-neuron thresholds, a host readout), which every target runs.
    """
    target = get_target(name)
    assert target.name == name and target.description
    availability = target.availability()
    assert isinstance(availability, Availability) and isinstance(availability.reason, str)
    if not availability.available:
        assert availability.reason  # says why and what to do
        pytest.skip(f"{name} unavailable here: {availability.reason}")
    recurrent = graph_kind != "feed-forward"
    graph = make_recurrent_graph(rng) if recurrent else make_dense_graph(rng, sizes=(20, 16, 4))
    assert target.supports(graph) == []
    x = rng.random((12, 6 if recurrent else 20)) * 2
    labels = rng.integers(0, 3 if recurrent else 4, 12)
    record = target.deploy(Workload(graph, x, labels, timesteps=8), tmp_path, verify_samples=2)
    if recurrent:  # the recurrent synapse on the device, the readout on the host
        kinds = [layer.kind for layer in record.layers]
        assert kinds == ["dense", "recurrent", "readout"]
        assert record.layers[2].synapses_on == "host" and record.layers[2].synapses == 15
        assert record.layers[1].synapses == 25 and record.layers[0].spikes_per_inference > 0
        if "spike_match" in record.verification:  # the device's own reference agrees
            assert record.verification["spike_match"] == 1.0
    assert isinstance(record, DeploymentRecord) and record.target == name
    assert record.samples == 12 and 0 <= record.accuracy <= 1
    assert record.synops_per_inference == record.counts.synops
    assert record.counts.synops == pytest.approx(
        sum(layer.synops_per_inference for layer in record.layers))
    assert record.counts.neuron_updates == pytest.approx(
        sum(layer.neuron_updates_per_inference for layer in record.layers))
    assert record.estimates and sum(e.default for e in record.estimates) == 1
    for estimate in record.estimates:
        assert estimate.level in LEVELS and estimate.sources
        assert estimate.level in target.levels  # what a sweep spec is checked against
        assert estimate.total_j == pytest.approx(sum(
            t.joules_per_inference for t in estimate.terms if t.joules_per_inference is not None))
        assert estimate.total_j == pytest.approx(
            estimate.dynamic_j + estimate.static_j + estimate.host_j)
        for term in estimate.terms:
            assert term.level in LEVELS and term.source and term.cost_model == estimate.cost_model
            assert (term.joules_per_inference is None) == (term.method == "not-estimated")
            if term.joules_per_inference is None:
                assert term.note  # why it is not estimated
    assert record.network in ("ann", "snn")
    assert set(target.encodings) <= {"constant", "poisson", "rate", "latency", "graded", "sdnn"}
    assert "constant" in target.encodings
    default = record.default_estimate
    assert record.energy_per_inference_j == default.total_j
    assert record.energy_per_inference_j == pytest.approx(
        record.chip_energy_per_inference_j + record.host_energy_per_inference_j)
    assert record.energy_breakdown == default.terms
    assert record.leaves_out and record.resources.cores >= 1 and record.resources.chips >= 1
    assert record.resources.placement
    for name_, file_name in record.artifacts.items():
        assert (tmp_path / file_name).is_file(), name_
    again = DeploymentRecord.from_dict(json.loads(json.dumps(record.to_dict())))
    assert again == record


def test_unknown_target_lists_the_registered_ones():
    with pytest.raises(TargetError,
                       match="unknown target 'tpu': choose one of asic, cpu, gpu, loihi"):
        get_target("tpu")
