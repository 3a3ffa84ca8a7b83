"""Loihi figures worked out by hand on a network small enough to follow spike by spike.

Inputs are 0 or 1, so Poisson encoding (spike with probability x) is deterministic. The first
layer has one weight (0.001) that quantises to 0: it must count as no synapse on the chip.
"""

import numpy as np
import pytest

from neuropipe.targets.base import Workload
from neuropipe.targets.loihi.target import LoihiTarget

SYNOP_J = 23.6e-12  # Davies et al. 2018
UPDATE_J = 81e-12  # Davies et al. 2018
HOST_MAC_J = 8.6e-9  # Degnan et al. 2015, CPU




X = np.array([[1.0, 1.0, 0.0]])
T = 4


def test_poisson_input_every_synapse_on_chip(tmp_path, hand_graph):
    record = LoihiTarget().deploy(Workload(hand_graph, X, np.array([0]), timesteps=T,
                                           encoding="poisson"), tmp_path, verify_samples=1)
    assert record.verification["spike_match"] == 1.0  # Lava agrees with the emulator
    l0, l1 = record.layers
    # Quantised: scale = 254 / max|w| = 254; 0.001 * 254 = 0.25 -> 0. Four synapses remain.
    assert l0.synapses == 4 and l0.quantisation["zero_after_quantisation"] == 1
    # Inputs 0 and 1 spike on all 4 steps, input 2 never. Deployed fan-out: 2, 0, 2.
    assert l0.synops_per_inference == 4 * 2 + 4 * 0 + 0 * 2
    # Hidden: n0 gets 254 >= vth 229 every step -> 4 spikes; n1 gets 152: fires every 2nd step.
    assert l0.spikes_per_inference == 4 + 2
    assert l1.synops_per_inference == 4 * 1 + 2 * 1  # identity: fan-out 1 each
    steps = T + 2  # one step of delay per synapse layer on the chip
    assert record.resources.steps_per_sample == steps
    assert l0.neuron_updates_per_inference == 2 * steps
    assert record.counts.synops == 14 and record.counts.neuron_updates == 4 * steps
    assert record.counts.host_macs == 0 and record.counts.input_spikes == 8
    expected = 14 * SYNOP_J + 24 * UPDATE_J  # 0.3304 nJ + 1.944 nJ
    assert record.energy_per_inference_j == pytest.approx(2.2744e-9)
    assert record.energy_per_inference_j == pytest.approx(expected)
    assert record.host_energy_per_inference_j == 0.0
    assert record.resources.cores == 2 and record.resources.chips == 1


def test_constant_input_first_layer_on_host(tmp_path, hand_graph):
    record = LoihiTarget().deploy(Workload(hand_graph, X, np.array([0]), timesteps=T),
                                  tmp_path, verify_samples=1)
    assert record.verification["spike_match"] == 1.0
    l0, l1 = record.layers
    assert l0.synapses_on == "host" and l0.synops_per_inference == 0
    assert l0.host_macs_per_inference == 5  # the host runs the float weights: 5 nonzero
    steps = T + 1  # the host layer adds no delay; the second layer one step
    # Biases 1.001 and 0.6 per step against 0.9: n0 fires on all 5 steps, n1 on steps 2 and 4.
    assert l0.spikes_per_inference == 5 + 2
    assert l1.synops_per_inference == 6  # n0's spike of the last step is never delivered
    assert record.counts.neuron_updates == 4 * steps
    terms = {t.name: t.joules_per_inference for t in record.energy_breakdown}
    assert terms["synops"] == pytest.approx(6 * SYNOP_J)
    assert terms["neuron_updates"] == pytest.approx(20 * UPDATE_J)
    assert terms["host_input_layer"] == pytest.approx(5 * HOST_MAC_J)
    assert terms["static"] is None
    assert record.energy_per_inference_j == pytest.approx(44.7616e-9)
    assert record.chip_energy_per_inference_j == pytest.approx(1.7616e-9)
    assert record.host_energy_per_inference_j == pytest.approx(43e-9)
