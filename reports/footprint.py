"""Strubell et al. (2019) accounting: energy to kWh with PUE, and kWh to CO2-equivalent."""

from __future__ import annotations

from dataclasses import dataclass

from neuropipe.core.errors import InputError

LBS_PER_KG = 2.20462
# Power usage effectiveness 1.58: the 2018 global data-centre average (Uptime Institute,
# Ascierto 2018), used by Strubell, Ganesh & McCallum, ACL 2019.
PUE_STRUBELL = 1.58
STRUBELL_SOURCE = ("Strubell, Ganesh & McCallum, 'Energy and Policy Considerations for Deep "
                   "Learning in NLP', ACL 2019")


@dataclass(frozen=True)
class Region:
    """Carbon intensity of a grid, in kg CO2e per kWh, with its source."""

    name: str
    kg_per_kwh: float
    source: str


REGIONS: dict[str, Region] = {
    # 0.954 lbs/kWh: U.S. average (EPA), as used by Strubell et al. 2019.
    "us": Region("us", 0.954 / LBS_PER_KG, "U.S. EPA average, 0.954 lbs/kWh, as used by "
                 "Strubell et al. 2019"),
    # 481 gCO2/kWh: world average used by carbontracker (Anthony et al. 2020).
    "world": Region("world", 0.481, "world average 481 g/kWh, as used by carbontracker "
                    "(Anthony, Kanding & Selvan 2020)"),
}


@dataclass(frozen=True)
class Accounting:
    """Constants that turn joules into kWh and CO2e.

    Attributes:
        pue: Power usage effectiveness applied to the measured energy.
        kg_co2_per_kwh: Grid carbon intensity.
        region: Name of the intensity's region (``custom`` when given as a number).
        intensity_source: Where the intensity comes from.
    """

    pue: float = PUE_STRUBELL
    kg_co2_per_kwh: float = REGIONS["us"].kg_per_kwh
    region: str = "us"
    intensity_source: str = REGIONS["us"].source

    @classmethod
    def build(cls, pue: float | None = None, region: str | None = None,
              co2_per_kwh: float | None = None) -> Accounting:
        """Accounting from CLI options: ``--pue``, ``--region``, ``--co2-per-kwh`` (kg/kWh).

        Raises:
            InputError: For a PUE below 1, a negative intensity, or an unknown region.
        """
        if pue is not None and not pue >= 1.0:
            raise InputError(f"--pue must be at least 1 (a data centre cannot use less energy "
                             f"than its computers), got {pue}")
        if co2_per_kwh is not None and not co2_per_kwh >= 0:
            raise InputError(f"--co2-per-kwh must be 0 or more (kg CO2e per kWh), got "
                             f"{co2_per_kwh}")
        if region is not None and region not in REGIONS:
            raise InputError(f"unknown region '{region}': choose one of {', '.join(REGIONS)}, "
                             "or give --co2-per-kwh")
        chosen = REGIONS[region or "us"]
        if co2_per_kwh is not None:
            return cls(pue if pue is not None else PUE_STRUBELL, co2_per_kwh, "custom",
                       "given with --co2-per-kwh")
        return cls(pue if pue is not None else PUE_STRUBELL, chosen.kg_per_kwh, chosen.name,
                   chosen.source)


@dataclass(frozen=True)
class Footprint:
    """kWh and CO2e of some work."""

    kwh: float
    kwh_pue: float
    co2e_kg: float
    co2e_lbs: float

    def to_dict(self) -> dict[str, float]:
        """The four figures by name."""
        return {"kwh": self.kwh, "kwh_pue": self.kwh_pue, "co2e_kg": self.co2e_kg,
                "co2e_lbs": self.co2e_lbs}


def footprint_from_joules(joules: float, accounting: Accounting) -> Footprint:
    """kWh, kWh x PUE and CO2e of ``joules`` of measured energy.

    ``kwh = J / 3.6e6``; ``kwh_pue = PUE * kwh``; ``CO2e = kwh_pue * intensity``
    (Strubell et al., ACL 2019).
    """
    kwh = joules / 3.6e6
    kwh_pue = kwh * accounting.pue
    kg = kwh_pue * accounting.kg_co2_per_kwh
    return Footprint(kwh, kwh_pue, kg, kg * LBS_PER_KG)


def strubell_footprint(cpu_dram_power_w: float, hours: float, gpus: int = 0,
                       gpu_power_w: float = 0.0, accounting: Accounting | None = None
                       ) -> Footprint:
    """Footprint from average power and duration, as Strubell et al. (2019) tabulated models.

    ``p_t = PUE * t * (p_c + p_r + g * p_g) / 1000`` kWh, with ``t`` in hours, ``p_c + p_r`` the
    average power of all CPU sockets and DRAM (``cpu_dram_power_w``), ``p_g`` the average power
    of one GPU and ``g`` the number of GPUs; ``CO2e = p_t * intensity``.

    Raises:
        InputError: For negative power, duration or GPU count, or GPUs without their power.
    """
    for name, value in (("--power-w", cpu_dram_power_w), ("--hours", hours),
                        ("--gpus", gpus), ("--gpu-power-w", gpu_power_w)):
        if not value >= 0:
            raise InputError(f"{name} must be 0 or more, got {value}")
    if gpus and not gpu_power_w:
        raise InputError(f"--gpus {gpus} needs --gpu-power-w, the average power of one GPU in "
                         "watts")
    accounting = accounting or Accounting()
    kwh = hours * (cpu_dram_power_w + gpus * gpu_power_w) / 1000.0
    kwh_pue = accounting.pue * kwh
    kg = kwh_pue * accounting.kg_co2_per_kwh
    return Footprint(kwh, kwh_pue, kg, kg * LBS_PER_KG)
