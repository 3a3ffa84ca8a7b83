"""Float (PyTorch) simulation of a layer chain without pipeline delays: the reference semantics.

Each step, every layer's synapses carry this step's presynaptic spikes (the first layer: the
encoded input) plus, for a layer with a self-recurrent synapse, the layer's own spikes of the
previous step (one step of delay, zeros at the first step), and its neurons update as
``v += -leak * v + leak * v_leak + gain * I``; they
spike when ``v > v_threshold`` and are set to ``v_reset`` (0 in neuropipe's graphs). For
neuropipe's own LIF graphs this equals norse's LIFBoxCell with dt = 1, so it reproduces the
trained model. A host readout turns the last layer's spike counts into class scores.
"""

from __future__ import annotations

import numpy as np
import torch

from neuropipe.core.spike_codes import SPIKE_ENCODINGS, spike_raster
from neuropipe.core.threads import batched
from neuropipe.targets.chain import Chain, Layer


def poisson_spikes(x: np.ndarray, steps: int, rng: np.random.Generator) -> np.ndarray:
    """Bernoulli spikes with probability ``x`` per step: bool ``(steps, N, inputs)``."""
    return spike_raster(x, steps, "poisson", rng)


def encode_input(x: np.ndarray, steps: int, encoding: str,
               rng: np.random.Generator | None) -> np.ndarray | None:
    """The input raster bool ``(steps, N, inputs)`` of a spike code, or None for analogue input.

    Every target feeds this raster (``core.spike_codes``) to the first layer's synapses.
    """
    return spike_raster(x, steps, encoding, rng) if encoding in SPIKE_ENCODINGS else None


@batched(lambda chain, x, *args, **kwargs: len(x))  # threads: core.threads
def simulate(chain: Chain, x: np.ndarray, timesteps: int, encoding: str = "constant",
             input_spikes: np.ndarray | None = None, device: str = "cpu",
             layer_inputs: list[np.ndarray] | None = None, readout: bool = True,
             recurrent_inputs: list[np.ndarray | None] | None = None) -> np.ndarray:
    """Return the class scores ``(N, classes)`` of a batch ``x`` in [0, 1].

    The scores are the last layer's spike counts, or, when the chain has a host readout (and
    ``readout`` is True), the readout applied to them: ``predict`` reads either.

    Args:
        chain: The layers.
        x: Inputs ``(N, *input_shape)``.
        timesteps: Steps to run.
        encoding: ``constant`` (x every step) or a spike code (needs ``input_spikes``).
        input_spikes: Bool ``(timesteps, N, inputs)`` for a spike code.
        device: Torch device to run on (``cpu`` or ``cuda``).
        layer_inputs: If a list is given, it receives, per layer, how often each of its inputs
            was nonzero over the run, summed over the batch ``(inputs,)``: the spikes (or
            analogue values) each layer's synapses processed.
        readout: Apply the chain's host readout; False returns the last layer's spike counts.
        recurrent_inputs: If a list is given, it receives, per layer, how often each neuron's
            spike was fed back through the layer's recurrent synapse ``(neurons,)`` summed over
            the batch (the spikes of the last step never are), or None for a layer without one.
    """
    n = len(x)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32), device=device).reshape(n, -1)
    weights = [(torch.as_tensor(layer.weight, dtype=torch.float32, device=device),
                torch.as_tensor(layer.bias, dtype=torch.float32, device=device))
               for layer in chain.layers]
    params = [tuple(torch.as_tensor(np.asarray(value, dtype=np.float32), device=device)
                    for value in (layer.neuron.leak, layer.neuron.v_leak,
                                  layer.neuron.input_gain, layer.neuron.v_threshold,
                                  layer.neuron.v_reset)) for layer in chain.layers]
    recurrent = [None if layer.recurrent is None else torch.as_tensor(
        layer.recurrent, dtype=torch.float32, device=device) for layer in chain.layers]
    v = [torch.zeros(n, layer.neurons, device=device) for layer in chain.layers]
    last = [torch.zeros(n, layer.neurons, device=device) for layer in chain.layers]
    fed_back = [None if w is None else torch.zeros(w.shape[0], device=device)
                for w in recurrent]
    counts = torch.zeros(n, chain.layers[-1].neurons, device=device)
    nonzero = ([torch.zeros(layer.inputs, device=device) for layer in chain.layers]
               if layer_inputs is not None else None)
    with torch.no_grad():
        for t in range(timesteps):
            s = xt if encoding == "constant" else torch.as_tensor(
                input_spikes[t], dtype=torch.float32, device=device)
            for i, layer in enumerate(chain.layers):
                if nonzero is not None:
                    nonzero[i] += (s != 0).sum(dim=0)
                w, b = weights[i]
                if layer.kind == "dense":
                    current = s @ w.T + b
                else:
                    current = torch.nn.functional.conv2d(
                        s.reshape(n, *layer.in_shape), w, b, stride=layer.stride,
                        padding=layer.padding).reshape(n, -1)
                if recurrent[i] is not None:
                    current = current + last[i] @ recurrent[i].T
                    if recurrent_inputs is not None:
                        fed_back[i] += last[i].sum(dim=0)
                leak, v_leak, gain, v_th, v_reset = params[i]
                v[i] = v[i] - leak * v[i] + leak * v_leak + gain * current
                s = (v[i] > v_th).to(torch.float32)
                v[i] = v[i] * (1 - s) + v_reset * s
                last[i] = s
            counts += s
    if nonzero is not None:
        layer_inputs.extend(z.cpu().numpy() for z in nonzero)
    if recurrent_inputs is not None:
        recurrent_inputs.extend(None if f is None else f.cpu().numpy() for f in fed_back)
    counts_np = counts.cpu().numpy()
    return chain.scores(counts_np) if readout else counts_np



def simulate_tallied(chain: Chain, x: np.ndarray, timesteps: int, encoding: str,
                     input_spikes: np.ndarray | None, nonzero: list[np.ndarray],
                     fed_back: list[np.ndarray], device: str = "cpu") -> np.ndarray:
    """``simulate`` without the readout, adding what each layer received to running totals.

    Args:
        chain: The layers.
        x: Inputs ``(N, *input_shape)``.
        timesteps: Steps to run.
        encoding: Input encoding.
        input_spikes: The input raster of a spike code, or None.
        nonzero: Per layer, nonzero inputs summed over samples and steps; added to in place.
        fed_back: Per layer, spikes fed back through its recurrent synapse; added to in place
            (layers without one are left as they are).
        device: Torch device.

    Returns:
        The last layer's spike counts ``(N, neurons)``.
    """
    seen: list[np.ndarray] = []
    rec: list[np.ndarray | None] = []
    counts = simulate(chain, x, timesteps, encoding, input_spikes, device, layer_inputs=seen,
                      readout=False, recurrent_inputs=rec)
    for i, z in enumerate(seen):
        nonzero[i] += z
    for i, f in enumerate(rec):
        if f is not None:
            fed_back[i] += f
    return counts

def predict(counts: np.ndarray) -> np.ndarray:
    """Class with the most output spikes (ties: the lowest index)."""
    return np.argmax(counts, axis=1)


def host_synapse(layer: Layer, x: np.ndarray) -> np.ndarray:
    """Apply a layer's synapses (with bias) to analogue inputs on the host, flattened per sample."""
    import torch

    xt = torch.as_tensor(np.asarray(x, dtype=np.float64)).reshape(len(x), *layer.in_shape)
    w = torch.as_tensor(layer.weight)
    b = torch.as_tensor(layer.bias)
    if layer.kind == "dense":
        out = xt.reshape(len(x), -1) @ w.T + b
    else:
        out = torch.nn.functional.conv2d(xt, w, b, stride=layer.stride, padding=layer.padding)
    return out.reshape(len(x), -1).numpy()
