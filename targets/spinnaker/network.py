"""A layer chain as the PyNN network file ``pynn_network.py`` builds: IF_curr_delta at 1 ms.

Mapping of neuropipe's discrete neuron (``v += leak * (v_leak - v) + gain * I``, spike when
``v > v_threshold``, then ``v = v_reset``) onto ``IF_curr_delta``, whose membrane NEST and
sPyNNaker integrate exactly over a 1 ms step (``V = v_rest + (V - v_rest) e^(-1/tau_m) +
R I_offset (1 - e^(-1/tau_m)) + sum of weights``):

- ``tau_m = -1 / ln(1 - leak)`` ms, so that ``e^(-1/tau_m) = 1 - leak``; ``v_rest = v_leak``.
  IF neurons (no leak) get ``tau_m = 60,000`` ms, near the largest sPyNNaker stores (16.15
  fixed point, below 65,536): a leak of 1.7e-5 per step, not zero. The fast path runs the
  deployed leak, ``1 - e^(-1/tau_m)``, not the graph's.
- A spike adds ``gain * w`` mV (delta synapse, no synaptic current: the closest to the model).
- A constant current ``I`` (a bias, or the host-computed first layer for analogue input) is
  ``i_offset = gain * I / p30`` nA with ``p30 = (tau_m / cm) (1 - e^(-1/tau_m))``, cm = 1 nF.
- ``v_thresh = v_threshold``, ``v_reset`` as given, ``tau_refrac = 0``.
- Every projection has a 1 ms delay: one step of latency per synapse layer (the input's
  spikes included), which the fast path and the window the class is read from account for.
- A self-recurrent synapse is a projection from the population to itself, also with a 1 ms
  delay: a spike of step t reaches the same neurons at step t + 1, the NIR contract's
  ``W_R s_{t-1}``. Per-neuron thresholds are per-neuron ``v_thresh``.
- A host readout is not part of the PyNN network: it runs on the host over the last layer's
  spike counts in the read-out window.
"""

from __future__ import annotations

import json

import numpy as np

from neuropipe.targets.chain import Chain, Layer
from neuropipe.targets.float_sim import host_synapse
from neuropipe.targets.spinnaker import pynn_network

IF_TAU_M_MS = 60_000.0  # sPyNNaker stores tau_m as s16.15: below 65,536
MIN_TAU_M_MS = 1e-3  # leak = 1: the membrane forgets everything in one step


def connections(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero synapses of a layer as lists ``(pre, post, weight)`` (flattened indices).

    A convolution is expanded into its explicit connections (NEST has no convolution), edges
    exact: padding positions connect to nothing.
    """
    if layer.kind == "dense":
        post, pre = np.nonzero(layer.weight)
        return pre.astype(np.int64), post.astype(np.int64), layer.weight[post, pre]
    import torch

    c, h, w = layer.in_shape
    oc = layer.weight.shape[0]
    kh, kw = layer.weight.shape[2:]
    index = torch.arange(c * h * w, dtype=torch.float64).reshape(1, c, h, w) + 1  # 0 = padding
    cols = torch.nn.functional.unfold(index, (kh, kw), padding=layer.padding,
                                      stride=layer.stride)[0].round().long() - 1  # (c*kh*kw, L)
    positions = cols.shape[1]
    kernel = layer.weight.reshape(oc, -1)  # (oc, c*kh*kw), the order unfold uses
    pre = np.broadcast_to(cols.numpy()[None], (oc, *cols.shape))
    post = np.broadcast_to((np.arange(oc)[:, None, None] * positions
                            + np.arange(positions)[None, None, :]), pre.shape)
    weight = np.broadcast_to(kernel[:, :, None], pre.shape)
    keep = (pre >= 0) & (weight != 0)
    return pre[keep].astype(np.int64), post[keep].astype(np.int64), weight[keep]


def recurrent_connections(layer: Layer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nonzero recurrent synapses of a layer as lists ``(pre, post, weight)`` (neuron indices)."""
    assert layer.recurrent is not None
    post, pre = np.nonzero(layer.recurrent)
    return pre.astype(np.int64), post.astype(np.int64), layer.recurrent[post, pre]


def _per_neuron(value: float | np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy()


def cell(layer: Layer) -> dict[str, np.ndarray]:
    """Per-neuron ``IF_curr_delta`` parameters of a layer, and the factors the mapping uses.

    Returns:
        ``tau_m``, ``v_rest``, ``v_reset``, ``v_thresh``, plus ``leak`` (the fraction of
        ``v - v_rest`` lost per step with that ``tau_m``), ``gain`` (mV per unit of synaptic
        input) and ``p30`` (mV per nA of constant current over one step).
    """
    n = layer.neurons
    neuron = layer.neuron
    leak = _per_neuron(neuron.leak, n)
    if neuron.kind == "lif":
        with np.errstate(divide="ignore"):
            tau_m = np.where(leak < 1, -1.0 / np.log1p(-np.minimum(leak, 1 - 1e-16)),
                             MIN_TAU_M_MS)
        v_rest = _per_neuron(neuron.v_leak, n)
    else:
        tau_m = np.full(n, IF_TAU_M_MS)
        v_rest = np.zeros(n)
    p30 = tau_m / pynn_network.CM_NF * -np.expm1(-1.0 / tau_m)
    return {"tau_m": tau_m, "leak": -np.expm1(-1.0 / tau_m), "v_rest": v_rest,
            "v_reset": _per_neuron(neuron.v_reset, n),
            "v_thresh": _per_neuron(neuron.v_threshold, n),
            "gain": _per_neuron(neuron.input_gain, n), "p30": p30}


def _bias_per_neuron(layer: Layer) -> np.ndarray:
    if layer.kind == "conv":
        return np.repeat(layer.bias, int(np.prod(layer.out_shape[1:])))
    return np.broadcast_to(layer.bias, (layer.neurons,)).astype(np.float64)


def network_file(chain: Chain, timesteps: int, encoding: str, steps: int,
                 x: np.ndarray | None = None, input_spikes: np.ndarray | None = None
                 ) -> tuple[dict, dict[str, np.ndarray]]:
    """The ``network.npz`` content for ``pynn_network.py``: ``(meta, arrays)``.

    Args:
        chain: The layers.
        timesteps: Steps each input is presented.
        encoding: ``constant`` (first layer on the host, its output as ``i_offset``) or
            ``poisson`` (a spike source feeds the first layer).
        steps: Steps each sample runs.
        x: Analogue inputs ``(N, *input_shape)`` whose first-layer currents are included.
        input_spikes: Bool ``(N, timesteps, inputs)`` spike rasters (``poisson``).
    """
    arrays: dict[str, np.ndarray] = {}
    layers_meta = []
    for i, layer in enumerate(chain.layers):
        params = cell(layer)
        pre, post, weight = connections(layer)
        gain_post = params["gain"][post]
        arrays[f"L{i}_pre"], arrays[f"L{i}_post"] = pre, post
        arrays[f"L{i}_weight"] = weight * gain_post  # mV per spike
        for key in ("tau_m", "v_rest", "v_reset", "v_thresh"):
            arrays[f"L{i}_{key}"] = params[key]
        arrays[f"L{i}_i_offset"] = params["gain"] * _bias_per_neuron(layer) / params["p30"]
        entry = {"name": layer.name, "neurons": layer.neuron_name, "size": layer.neurons,
                 "kind": layer.neuron.kind}
        if layer.recurrent is not None:
            pre, post, weight = recurrent_connections(layer)
            arrays[f"L{i}_rec_pre"], arrays[f"L{i}_rec_post"] = pre, post
            arrays[f"L{i}_rec_weight"] = weight * params["gain"][post]  # mV per spike
            entry["recurrent"] = layer.recurrent_name
        layers_meta.append(entry)
    first = chain.layers[0]
    if encoding == "constant":
        n = 0 if x is None else len(x)
        if n:
            params = cell(first)
            no_bias = Layer(**{**first.__dict__, "bias": np.zeros_like(first.bias)})
            arrays["input_current"] = (params["gain"] * host_synapse(no_bias, x)
                                       / params["p30"])
        else:
            arrays["input_current"] = np.zeros((0, first.neurons))
    else:
        arrays["input_spikes"] = (np.zeros((0, timesteps, first.inputs), dtype=bool)
                                  if input_spikes is None else
                                  np.ascontiguousarray(input_spikes.transpose(1, 0, 2)))
    meta = {"format": pynn_network.FORMAT, "version": pynn_network.FORMAT_VERSION,
            "timesteps": timesteps, "steps": steps, "timestep_ms": 1.0,
            "input": "current" if encoding == "constant" else "spikes",
            "input_size": int(first.inputs), "layers": layers_meta,
            "mapping": __doc__}
    return meta, arrays


def write_network(path: str, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write a network file (the caller makes it atomic)."""
    with open(path, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta)), **arrays)
