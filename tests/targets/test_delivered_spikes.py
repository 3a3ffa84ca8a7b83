"""Synops count delivered spikes only, on every target: a two-step example by hand.

The hand graph (3 inputs -> 2 IF -> 2 IF, identity second layer, threshold 0.9) with constant
input [1, 1, 0] for one input step: the hidden neurons get 1.001 and 0.6 per step. On the
delayed pipelines (loihi, spinnaker, spinnaker2) a sample runs 2 steps: n0 fires on both, n1
on the second (1.2 > 0.9): 3 hidden spikes, but only step 1's one reaches the second layer
before the run ends. On the delay-free ones (cpu, gpu, asic) the single step's spike of n0
arrives in the same step. Either way the second layer makes exactly 1 synaptic event.
"""

import numpy as np
import pytest

from neuropipe.targets.base import Workload
from neuropipe.targets.registry import get_target, target_names

DELAYED = {"loihi", "spinnaker", "spinnaker2"}


@pytest.mark.parametrize("name", target_names())
def test_only_delivered_spikes_make_synops(name, hand_graph, tmp_path):
    target = get_target(name)
    availability = target.availability()
    if not availability.available:
        pytest.skip(f"{name} unavailable here: {availability.reason}")
    record = target.deploy(Workload(hand_graph, np.array([[1.0, 1.0, 0.0]]), np.array([0]),
                                    timesteps=1), tmp_path, verify_samples=0)
    hidden, output = record.layers
    assert hidden.spikes_per_inference == (3 if name in DELAYED else 1)
    assert output.synops_per_inference == 1  # identity fan-out 1 x one delivered spike
