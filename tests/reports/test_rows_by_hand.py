"""The report rows' derived figures by hand: each property on asymmetric values.

mutmut 3 leaves decorated functions (``@property``) unmutated, so these are pinned here and
were checked with faults planted by hand (issue 23: ``reports/rows.py``).
"""

import math

import pytest

from neuropipe.reports.rows import (
    ConfigRow,
    EstimateRow,
    LayerRow,
    TrainingRow,
    network_of,
)


def est(level="chip", total=0.75, off=0.0, default=False, estimated=True, model="m",
        term_levels=None):
    return EstimateRow(cost_model=model, level=level, default=default, total_j=total,
                       off_level_j=off, estimated=estimated,
                       term_levels=term_levels if term_levels is not None else [level])


def test_an_estimates_figure_and_level_label():
    e = est(total=0.75, off=0.25, term_levels=["system", "chip", "measured"])
    assert e.figure_j == 0.5  # 0.75 J less the 0.25 J costed at another level
    assert e.other_levels == ["system", "measured"]
    assert e.level_label == "chip + system/measured-level terms"
    assert est(term_levels=["chip"]).level_label == "chip"
    assert est(term_levels=[]).other_levels == []


def test_a_layers_operations():
    assert LayerRow(synops=30.0, host_macs=12.0).ops == 42.0  # synops + host MACs
    assert LayerRow(synops=30.0, host_macs=12.0, dense_ops=7.0).ops == 7.0  # a host target's
    assert LayerRow(synops=30.0, host_macs=12.0, dense_ops=0.0).ops == 0.0  # 0 ops is a figure


def test_training_with_pue_and_its_method():
    assert TrainingRow(kwh_pue=0.25).joules_pue == 900_000.0  # 0.25 kWh x 3.6e6 J/kWh
    assert TrainingRow(methods={"cpu": "rapl", "gpu:0": "nvml-energy"}).method == "measured"
    assert TrainingRow(methods={"cpu": "estimate", "dram": "estimate"}).method == "estimate"
    assert TrainingRow(methods={"cpu": "rapl", "dram": "estimate"}).method == (
        "cpu: rapl, dram: estimate")
    assert TrainingRow(methods={}).method == "unknown"


@pytest.mark.parametrize(("network", "kind", "target", "runs"), [
    ("snn", "ann", "cpu", "snn"),  # recorded: taken as it is, whatever the kind and target
    ("ann", "snn", "loihi", "ann"),
    ("", "ann", "cpu", "ann"),  # older records: an ANN on a host target runs as an ANN
    ("", "ann", "gpu", "ann"),
    ("", "ann", "loihi", "snn"),  # on a neuromorphic target, converted to spikes
    ("", "snn", "cpu", "snn"),
    ("other", "ann", "gpu", "ann"),
])
def test_what_runs_on_the_device(network, kind, target, runs):
    assert network_of(network, kind, target) == runs
    c = ConfigRow(network=network, kind=kind, target=target)
    assert c.resolved_network == runs and c.conventional == (runs == "ann")
    assert c.side == ("conventional" if runs == "ann" else "bio-inspired")


def test_a_first_layer_on_the_host():
    on_chip = LayerRow(name="fc2", synops=20.0, on="chip")
    assert ConfigRow(target="loihi", host_macs=5.0, layers=[on_chip]).host_first_layer
    assert ConfigRow(target="loihi", layers=[LayerRow(on="host"), on_chip]).host_first_layer
    assert not ConfigRow(target="loihi", layers=[on_chip]).host_first_layer
    assert not ConfigRow(target="cpu", host_macs=5.0).host_first_layer  # the host is the device
    hosted = ConfigRow(target="spinnaker", host_macs=5.0)
    assert not hosted.whole_at("chip") and hosted.whole_at("system")
    assert ConfigRow(target="spinnaker").whole_at("chip")


def test_synapses_that_receive_spikes_and_the_rate():
    layers = [LayerRow(on="host", synapses=100, synops=50.0, host_macs=784.0),
              LayerRow(synapses=30, synops=0.0),  # graded input: no binary spike
              LayerRow(synapses=7, synops=20.0), LayerRow(synapses=11, synops=16.0)]
    c = ConfigRow(target="loihi", synops=36.0, layers=layers)
    assert c.device_synapses == 18  # 7 + 11: the host's 100 and the graded 30 left out
    assert c.spikes_per_synapse == 2.0  # 36 events / 18 synapses
    graded = ConfigRow(target="loihi", layers=[LayerRow(synapses=30), LayerRow(synapses=4)])
    assert graded.device_synapses == 34 and graded.spikes_per_synapse == 0.0  # 0 / 34
    assert ConfigRow(target="loihi", synops=5.0).spikes_per_synapse is None  # no synapses
    one = ConfigRow(target="loihi", synops=3.0, layers=[LayerRow(synapses=1, synops=3.0)])
    assert one.spikes_per_synapse == 3.0  # 3 events on a single synapse


def test_the_default_estimate_range_and_levels():
    first, second = est(default=True, model="a"), est(default=True, model="b")
    c = ConfigRow(estimates=[est(model="x"), first, second])
    assert c.default_estimate is first
    assert ConfigRow(estimates=[est()]).default_estimate is None
    c = ConfigRow(estimates=[est("system", 3.0), est("chip", 0.5), est("system", 1.5),
                             est("chip", 9.0, estimated=False), est("measured", 4.0),
                             est("arithmetic", 0.25, estimated=False)])
    assert c.range_at("system") == (1.5, 3.0, 2)
    assert c.range_at("chip") == (0.5, 0.5, 1)  # the unestimated 9 J is no figure
    low, high, n = c.range_at("arithmetic")
    assert math.isnan(low) and math.isnan(high) and n == 0
    assert c.levels == ["chip", "system", "measured"]
    assert c.at_level("system").total_j == 3.0  # no default there: the first
    assert ConfigRow(run="snn-mlp", target="loihi").label == "snn-mlp on loihi"
