"""Per-operation costs of conventional hardware: Horowitz (arithmetic) and Degnan (system).

Operations are counted NeuroBench's way: ``dense`` operations are what the hardware executes
(every weight of every layer, every step); ``effective`` ones only pair a nonzero input with a
nonzero weight. A layer whose inputs are spikes (0 or 1) needs accumulates (ACs), any other a
multiply-accumulate (MAC). A neuron update (``v = v * (1 - a) + I``, a compare) is costed as
one MAC.
"""

from __future__ import annotations

from neuropipe.targets.costs import CostModel, OpCost

_HOROWITZ = "Horowitz, ISSCC 2014 (45 nm, 0.9 V)"
_DEGNAN = ("Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2015 (via KerasSpiking ModelEnergy): one "
           "synaptic op or neuron update costs one MAC")
_ARITHMETIC_LEAVES_OUT = (
    "memory: reading weights and activations (a 64-bit SRAM read costs 10-100 pJ, a DRAM "
    "access 1.3-2.6 nJ, Horowitz 2014), which dominates real accelerators",
    "control, data movement and the machine's static power",
)
_SYSTEM_LEAVES_OUT = (
    "the device's idle power beyond what the per-op figure averages in",
    "the host computer's other work (data loading, Python)",
)


def _arithmetic(name: str, mac_pj: float, ac_pj: float, which: str, note: str) -> CostModel:
    return CostModel(
        name=name, level="arithmetic",
        entries=(
            OpCost(f"{which}_macs", f"{which}_macs", mac_pj, "pJ/MAC", "dynamic", "arithmetic",
                   f"{_HOROWITZ}: {note} MAC {mac_pj} pJ"),
            OpCost(f"{which}_acs", f"{which}_acs", ac_pj, "pJ/AC", "dynamic", "arithmetic",
                   f"{_HOROWITZ}: {note} add {ac_pj} pJ"),
            OpCost("neuron_updates", "neuron_updates", mac_pj, "pJ/update", "dynamic",
                   "arithmetic", f"{_HOROWITZ}: one {note} MAC ({mac_pj} pJ) per neuron update"),
        ),
        notes=(f"The arithmetic alone ({which} operations), at 45 nm: a lower bound, not what "
               "a chip draws.",),
        leaves_out=_ARITHMETIC_LEAVES_OUT)


# 32-bit float: MAC = mult 3.7 pJ + add 0.9 pJ = 4.6 pJ (the figure SNN papers use); AC 0.9 pJ.
HOROWITZ_FP32 = _arithmetic("horowitz-fp32", 4.6, 0.9, "dense", "32-bit float")
HOROWITZ_FP32_EFFECTIVE = _arithmetic("horowitz-fp32-effective", 4.6, 0.9, "effective",
                                      "32-bit float")
# 8-bit integer: MAC = mult 0.2 pJ + add 0.03 pJ = 0.23 pJ; AC 0.03 pJ.
HOROWITZ_INT8 = _arithmetic("horowitz-int8", 0.23, 0.03, "dense", "8-bit integer")


def _system(name: str, nj: float, device: str) -> CostModel:
    entries = tuple(
        OpCost(count, count, nj, f"nJ/{unit}", "dynamic", "system",
               f"{_DEGNAN}: {nj} nJ per op on {device}")
        for count, unit in (("dense_macs", "MAC"), ("dense_acs", "AC"),
                            ("neuron_updates", "update")))
    return CostModel(name=name, level="system", entries=entries,
                     notes=(f"A whole {device} per operation, dense operations (what it "
                            "executes), from Degnan et al. 2015's benchmarks.",),
                     leaves_out=_SYSTEM_LEAVES_OUT)


DEGNAN_CPU = _system("degnan-cpu", 8.6, "an Intel i7-4960X CPU")
DEGNAN_GPU = _system("degnan-gpu", 0.3, "an NVIDIA GTX Titan Black GPU (large batches)")
DEGNAN_ARM = _system("degnan-arm", 0.9, "an ARM Cortex-A")
