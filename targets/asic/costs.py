"""Costs of one hypothetical 45 nm digital accelerator: Horowitz arithmetic plus on-chip SRAM.

After Lemaire et al. 2022 (ICONIP, arXiv 2210.13107): an ANN and an SNN are costed on the same
silicon, as integer arithmetic (Horowitz, ISSCC 2014, 45 nm) plus the SRAM accesses each
operation needs, every memory sized for its layer.

Precision: 8-bit weights (as Loihi's) and 8-bit ANN activations; accumulators, biases, membrane
potentials and held input currents are 32-bit; spike-queue entries are 32-bit neuron addresses.
An ANN MAC is an 8 x 8-bit multiply with a 32-bit accumulate add (0.2 + 0.1 pJ); a synaptic
event, bias add or threshold compare is one 32-bit add (0.1 pJ); a LIF neuron's leak is one
32-bit multiply (3.1 pJ) per step.

Memory: a 64-bit SRAM read costs ``a + b * sqrt(size / 1 KiB)``, fitted by least squares to
Horowitz's 10 pJ (8 KB), 20 pJ (32 KB) and 100 pJ (1 MB). Each value read or written is one
access at that cost however narrow it is (no credit for packing several 8-bit weights into one
64-bit word, in either network), and a write costs as a read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

HOROWITZ = "Horowitz, ISSCC 2014 (45 nm, 0.9 V)"
LEMAIRE = "Lemaire et al., ICONIP 2022 (arXiv 2210.13107)"

# Horowitz 2014, integer arithmetic at 45 nm (pJ).
ADD32_PJ = 0.1
MUL8_PJ = 0.2
MUL32_PJ = 3.1

MAC_PJ = MUL8_PJ + ADD32_PJ  # 8 x 8-bit multiply, 32-bit accumulate
ADD_PJ = ADD32_PJ  # synaptic add into a 32-bit potential, bias add, threshold compare
LEAK_PJ = MUL32_PJ  # v * (1 - alpha) on a 32-bit potential

# Horowitz 2014: a 64-bit read of an SRAM of this many KiB costs this many pJ.
SRAM_POINTS = ((8.0, 10.0), (32.0, 20.0), (1024.0, 100.0))

WEIGHT_BYTES = 1  # 8-bit weights
ACTIVATION_BYTES = 1  # 8-bit ANN activations
WORD_BYTES = 4  # 32-bit accumulators, biases, potentials, held currents, queue entries


def _fit() -> tuple[float, float]:
    """Least-squares ``(a, b)`` of ``pJ = a + b * sqrt(KiB)`` through ``SRAM_POINTS``."""
    x = np.sqrt([kib for kib, _ in SRAM_POINTS])
    y = np.array([pj for _, pj in SRAM_POINTS])
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


SRAM_A_PJ, SRAM_B_PJ = _fit()
SRAM_FIT = (f"a 64-bit read of an SRAM of S KiB costs {SRAM_A_PJ:.3f} + {SRAM_B_PJ:.4f} * "
            f"sqrt(S) pJ (least squares through {HOROWITZ}'s 10 pJ at 8 KB, 20 pJ at 32 KB, "
            "100 pJ at 1 MB; below 8 KB an extrapolation); each value read or written is one "
            "access at that cost however narrow (a write costs as a read)")


def sram_pj(size_bytes: float) -> float:
    """Energy of one access (read or write) of an SRAM of ``size_bytes``, in pJ."""
    return SRAM_A_PJ + SRAM_B_PJ * math.sqrt(max(float(size_bytes), 0.0) / 1024.0)


@dataclass(frozen=True)
class Op:
    """One kind of operation of one layer: how many per inference and what each costs.

    Attributes:
        name: Energy term it belongs to (``synops_weight_read``, ``ann_mac``...).
        layer: The layer (NIR or ONNX node name).
        count: Operations per inference.
        pj: Energy of one, in pJ.
        memory_bytes: Size of the SRAM accessed (0 for arithmetic).
    """

    name: str
    layer: str
    count: float
    pj: float
    memory_bytes: int = 0


def access(name: str, layer: str, count: float, memory_bytes: int) -> Op:
    """``count`` accesses of an SRAM of ``memory_bytes``."""
    return Op(name, layer, float(count), sram_pj(memory_bytes), int(memory_bytes))


def arithmetic(name: str, layer: str, count: float, pj: float) -> Op:
    """``count`` arithmetic operations of ``pj`` each."""
    return Op(name, layer, float(count), pj)


# What each term is, with its source: every constant above is Horowitz's, every count Lemaire's.
TERM_SOURCES = {
    "ann_weight_read": f"{LEMAIRE}: one weight read per connection; SRAM {HOROWITZ}, fitted",
    "ann_mac": f"{HOROWITZ}: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ per MAC",
    "ann_input_read": f"{LEMAIRE}: input reads; SRAM {HOROWITZ}, fitted",
    "ann_bias_read": f"{LEMAIRE}: one bias read per output; SRAM {HOROWITZ}, fitted",
    "ann_bias_add": f"{HOROWITZ}: 32-bit add 0.1 pJ per output",
    "ann_output_write": f"{LEMAIRE}: one output write per output; SRAM {HOROWITZ}, fitted",
    "synops_weight_read": f"{LEMAIRE}: one weight read per synaptic event; SRAM {HOROWITZ}, "
                          "fitted",
    "synops_add": f"{HOROWITZ}: 32-bit add 0.1 pJ per synaptic event",
    "synops_potential_rw": f"{LEMAIRE}: the target's potential read and written per synaptic "
                           f"event; SRAM {HOROWITZ}, fitted",
    "neuron_potential_rw": f"{LEMAIRE}: each neuron's potential read and written every step; "
                           f"SRAM {HOROWITZ}, fitted",
    "neuron_bias_read": f"{LEMAIRE}: each neuron's bias (or held input current) read every "
                        f"step; SRAM {HOROWITZ}, fitted",
    "neuron_bias_add": f"{HOROWITZ}: 32-bit add 0.1 pJ per neuron and step",
    "neuron_leak": f"{LEMAIRE}: a leak multiply per LIF neuron and step; {HOROWITZ}: 32-bit "
                   "multiply 3.1 pJ",
    "neuron_threshold": f"{HOROWITZ}: 32-bit compare (an add, 0.1 pJ) per neuron and step",
    "spike_queue_write": f"{LEMAIRE}: spikes pass through a queue; one 32-bit write per spike, "
                         f"SRAM {HOROWITZ}, fitted",
    "spike_queue_read": f"{LEMAIRE}: one 32-bit queue read per spike; SRAM {HOROWITZ}, fitted",
    "graded_input_read": f"{LEMAIRE}: an analogue first layer reads each nonzero input once "
                         f"per sample; SRAM {HOROWITZ}, fitted",
    "graded_weight_read": f"{LEMAIRE}: analogue first layer as MACs on nonzero inputs, once per "
                          f"sample: one weight read each; SRAM {HOROWITZ}, fitted",
    "graded_mac": f"{HOROWITZ}: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ per graded event",
    "graded_current_rw": f"{LEMAIRE}: the held input current read and written per graded "
                         f"event; SRAM {HOROWITZ}, fitted",
    "graded_bias_read": f"{LEMAIRE}: each neuron's bias read once per sample into its held "
                        f"current; SRAM {HOROWITZ}, fitted",
    "graded_bias_add": f"{HOROWITZ}: 32-bit add 0.1 pJ per neuron, once per sample",
    "readout_weight_read": f"{LEMAIRE}: the host readout costed as ANN MACs on the same "
                           f"silicon: one weight read per MAC; SRAM {HOROWITZ}, fitted",
    "readout_mac": f"{HOROWITZ}: 8-bit multiply 0.2 pJ + 32-bit add 0.1 pJ per readout MAC",
}

CHIP_LEAVES_OUT = (
    "static (leakage) power over the inference",
    "DRAM: every weight, potential and activation is assumed to fit in on-chip SRAM",
    "the network-on-chip between cores and any chip-to-chip traffic",
    "control: instruction fetch, address computation, sequencing, clocking",
    "packing: each 8-bit value is one full SRAM access; reading 8 weights per 64-bit word "
    "would divide the weight-read terms of both networks by up to 8",
)

NOTES = (
    "one hypothetical digital accelerator in one technology (45 nm), after Lemaire et al. "
    "2022: arithmetic plus on-chip SRAM accesses, the same silicon for the ANN and the SNN; "
    "not a real chip",
    "precision: 8-bit weights and ANN activations; 32-bit accumulators, biases, potentials, "
    "held currents and spike-queue entries",
    SRAM_FIT,
    "memories are sized per layer: weights = every weight of the layer (zeros included) x 1 "
    "byte; biases = one 32-bit value per bias (per channel for a convolution); potentials "
    "and held currents = neurons x 4 bytes; ANN input and output buffers = values x 1 byte; "
    "a spike queue = the source layer's neurons (or inputs) x 4 bytes",
)
