"""Energy measurement windows over RAPL (powercap/pyRAPL), NVML, or a documented estimate.

Layers, as in Zeus: one module per vendor interface (``powercap``, ``pyrapl_probe``, ``nvml``)
with a cheap availability probe, an ``estimate`` fallback, and the ``Meter`` (``monitor``), which
sees only their small interfaces.
"""

from neuropipe.reports.meter.monitor import Meter
from neuropipe.reports.meter.records import ComponentEnergy, Measurement

__all__ = ["ComponentEnergy", "Measurement", "Meter"]
