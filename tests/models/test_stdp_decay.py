"""STDP between samples: theta decays over the sample's steps, weights are normalised per
neuron (columns) and clipped, on inputs where a per-sample decay or a per-row sum is wrong."""

import math

import numpy as np
import pytest

from neuropipe.models.stdp import StdpParameters, StdpTrainer, end_of_sample, reference_sample


@pytest.mark.parametrize("timesteps", [2, 5])
def test_theta_decays_over_the_samples_steps(timesteps):
    # tau_theta 4 steps; no input spikes, so nothing fires and no weight moves: theta 1.0 and
    # 0.5 decay by exp(-T / 4) (a per-step decay applied once would give exp(-1 / 4)).
    p = StdpParameters(tau_theta=4.0, norm=0.9)
    w = np.array([[0.2, 0.1], [0.6, 0.0], [0.0, 0.3]])
    trainer = StdpTrainer(w.copy(), np.array([1.0, 0.5]), p, timesteps=timesteps)
    counts = trainer.learn(np.zeros(3), np.random.default_rng(0))
    decay = math.exp(-timesteps / 4.0)
    assert counts.tolist() == [0.0, 0.0]
    assert trainer.theta == pytest.approx([1.0 * decay, 0.5 * decay], rel=1e-12)
    theta = np.array([1.0, 0.5])
    reference_sample(w.copy(), theta, np.zeros(3), np.random.default_rng(0), p, timesteps)
    assert theta == pytest.approx([1.0 * decay, 0.5 * decay], rel=1e-12)


def test_weights_are_normalised_per_neuron_then_clipped():
    # Columns are neurons: sums 0.8 and 0.4 (rows would sum 0.3, 0.6, 0.3).
    w = np.array([[0.2, 0.1], [0.6, 0.0], [0.0, 0.3]])
    theta = np.zeros(2)
    end_of_sample(w, theta, StdpParameters(norm=1.2, tau_theta=1e300), 10)
    # x 1.5 and x 3.
    assert w == pytest.approx(np.array([[0.3, 0.3], [0.9, 0.0], [0.0, 0.9]]))
    # norm 2: x 2.5 and x 5 give 1.5, clipped to 1.
    w = np.array([[0.2, 0.1], [0.6, 0.0], [0.0, 0.3]])
    end_of_sample(w, theta, StdpParameters(norm=2.0, tau_theta=1e300), 10)
    assert w == pytest.approx(np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]))
    # A neuron whose weights are all 0 stays 0 (no division by zero).
    w = np.array([[0.0, 0.1], [0.0, 0.3]])
    end_of_sample(w, theta, StdpParameters(norm=0.8, tau_theta=1e300), 10)
    assert w == pytest.approx(np.array([[0.0, 0.2], [0.0, 0.6]]))
