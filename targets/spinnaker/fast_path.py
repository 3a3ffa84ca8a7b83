"""The discrete-time fast path of the SpiNNaker network: what NEST computes, for every test image.

It runs the network exactly as ``pynn_network.py`` builds it, in float64, batched: each step a
layer adds the spikes its input emitted in the previous step (every projection has a 1 ms
delay; with analogue input the first layer's current arrives without delay), the membrane
follows ``v += leak * (v_rest - v) + gain * I`` with the deployed ``IF_curr_delta`` parameters
(``network.cell``: an IF neuron's small leak included), a neuron spikes when ``v > v_thresh`` and is
set to ``v_reset``. A layer's recurrent projection adds the layer's own spikes of the previous
step (its 1 ms delay). Membranes start at 0. Input spikes are presented for ``timesteps`` steps;
an analogue input's current (the first layer computed on the host) and biases act on every
step of the run, as ``i_offset`` does on the chip. The class is read from the last layer's
spikes in the ``timesteps`` steps after its delay depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from neuropipe.core.threads import batched
from neuropipe.targets.chain import Chain
from neuropipe.targets.float_sim import host_synapse
from neuropipe.targets.spinnaker.network import cell


@dataclass
class FastResult:
    """Spikes of one batch.

    Attributes:
        counts: Per layer, spikes per sample and neuron over the whole run ``(N, neurons)``.
        window_counts: Output spikes per sample and class in the read-out window ``(N, classes)``.
        output_raster: Output spikes per step ``(steps, N, classes)``.
        rasters: Per layer ``(steps, N, neurons)`` bool, when asked for.
        fed_back: Per layer, spikes per sample and neuron of every step but the last
            ``(N, neurons)``: what a recurrent projection delivered before the run ended.
    """

    counts: list[np.ndarray]
    window_counts: np.ndarray
    output_raster: np.ndarray
    rasters: list[np.ndarray] | None = None
    fed_back: list[np.ndarray] | None = None


def delay_depth(chain: Chain, encoding: str) -> int:
    """Steps between the input and the last layer's response (one per delayed projection)."""
    return len(chain.layers) - (1 if encoding == "constant" else 0)


@batched(lambda chain, x, *args, **kwargs: len(x))  # threads: core.threads
def run_fast_path(chain: Chain, x: np.ndarray, timesteps: int, steps: int, encoding: str,
                  input_spikes: np.ndarray | None = None, keep_rasters: bool = False
                  ) -> FastResult:
    """Simulate a batch.

    Args:
        chain: The layers.
        x: Analogue inputs ``(N, *input_shape)`` (used with ``constant`` encoding).
        timesteps: Steps the input is presented.
        steps: Steps to run (at least ``timesteps`` plus the delay depth).
        encoding: ``constant`` or ``poisson``.
        input_spikes: Bool ``(timesteps, N, inputs)`` for ``poisson``.
        keep_rasters: Also return every layer's spikes per step.
    """
    n = len(x)
    layers = chain.layers
    depth = delay_depth(chain, encoding)
    with torch.no_grad():
        # The neuron parameters as deployed (IF_curr_delta's leak), not the graph's.
        params = [{k: torch.as_tensor(v) for k, v in cell(layer).items()} for layer in layers]
        weights = [torch.as_tensor(layer.weight, dtype=torch.float64) for layer in layers]
        biases = [torch.as_tensor(layer.bias, dtype=torch.float64) for layer in layers]
        recurrent = [None if layer.recurrent is None else
                     torch.as_tensor(layer.recurrent, dtype=torch.float64) for layer in layers]
        host_current = None
        if encoding == "constant":
            host_current = torch.as_tensor(host_synapse(layers[0], x))  # includes the bias
        v = [torch.zeros((n, layer.neurons), dtype=torch.float64) for layer in layers]
        previous = [torch.zeros((n, layer.neurons), dtype=torch.float64) for layer in layers]
        previous_input = torch.zeros((n, layers[0].inputs), dtype=torch.float64)
        counts = [torch.zeros((n, layer.neurons), dtype=torch.float64) for layer in layers]
        raster_out = torch.zeros((steps, n, layers[-1].neurons), dtype=torch.bool)
        rasters = ([torch.zeros((steps, n, layer.neurons), dtype=torch.bool) for layer in layers]
                   if keep_rasters else None)
        for t in range(steps):
            emitted = []
            for i, layer in enumerate(layers):
                if i == 0 and encoding == "constant":
                    current = host_current  # held for the whole run, as on the chip
                else:
                    source = previous_input if i == 0 else previous[i - 1]
                    current = _synapse(layer, weights[i], biases[i], source)
                if recurrent[i] is not None:
                    current = current + previous[i] @ recurrent[i].T
                p = params[i]
                v[i] = v[i] + p["leak"] * (p["v_rest"] - v[i]) + p["gain"] * current
                s = v[i] > p["v_thresh"]
                v[i] = torch.where(s, p["v_reset"].expand_as(v[i]), v[i])
                emitted.append(s.to(torch.float64))
                counts[i] += emitted[-1]
                if rasters is not None:
                    rasters[i][t] = s
            raster_out[t] = emitted[-1].bool()
            previous = emitted
            if encoding != "constant":
                previous_input = (torch.as_tensor(input_spikes[t], dtype=torch.float64)
                                  if t < timesteps else torch.zeros_like(previous_input))
        window = raster_out[depth:depth + timesteps].sum(dim=0)
    return FastResult([c.numpy() for c in counts], window.numpy(), raster_out.numpy(),
                      None if rasters is None else [r.numpy() for r in rasters],
                      [(c - p).numpy() for c, p in zip(counts, previous, strict=True)])


def _synapse(layer, weight: torch.Tensor, bias: torch.Tensor, spikes: torch.Tensor
             ) -> torch.Tensor:
    if layer.kind == "dense":
        return spikes @ weight.T + bias
    out = torch.nn.functional.conv2d(spikes.reshape(len(spikes), *layer.in_shape), weight, bias,
                                     stride=layer.stride, padding=layer.padding)
    return out.reshape(len(spikes), -1)
