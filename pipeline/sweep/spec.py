"""The sweep spec: a TOML file read into a typed record, checked before any work starts."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from neuropipe.core.errors import InputError
from neuropipe.core.levels import LEVELS
from neuropipe.core.records import Record

ENCODINGS = ("constant", "poisson")
DATASETS = ("mnist", "fashion-mnist")


@dataclass
class TargetSpec(Record):
    """A target every trial is deployed to, and the level its energy objective is taken at.

    Attributes:
        name: Registered target name (``loihi``, ``cpu``...).
        level: Level of the energy objective (``arithmetic``, ``chip``, ``system``,
            ``measured``).
        cost_model: The cost model at that level (default: the deployment's default estimate
            when it is at that level, else the first estimate at that level).
    """

    type_tag = "sweep-target"
    name: str = ""
    level: str = ""
    cost_model: str | None = None


@dataclass
class SearchSpace(Record):
    """The ranges searched. Numbers are ``[low, high]`` (equal ends: fixed); names are choices.

    ``lr`` and ``hidden`` are searched on a log scale. A dimension applies only to the models it
    means something for: ``hidden`` to models with a hidden width option, ``rate_penalty`` to
    surrogate-gradient SNNs, ``percentile`` to ANNs (converted for spiking targets),
    ``timesteps`` and ``encoding`` to SNNs and to converted ANNs.

    Attributes:
        models: Model families.
        epochs: Training epochs.
        lr: Peak learning rate (None: each model's default).
        hidden: Hidden width (None: each model's default).
        timesteps: Steps per sample.
        encoding: Input encodings.
        rate_penalty: Spike-rate penalty of the loss.
        percentile: Activation percentile of ANN-to-SNN normalisation.
    """

    type_tag = "sweep-space"
    models: list[str] = field(default_factory=list)
    epochs: list[int] = field(default_factory=lambda: [1, 1])
    lr: list[float] | None = None
    hidden: list[int] | None = None
    timesteps: list[int] = field(default_factory=lambda: [16, 16])
    encoding: list[str] = field(default_factory=lambda: ["constant"])
    rate_penalty: list[float] = field(default_factory=lambda: [0.0, 0.0])
    percentile: list[float] = field(default_factory=lambda: [99.9, 99.9])


@dataclass
class SweepSpec(Record):
    """Everything that determines a sweep (saved as ``sweep.json`` in its folder).

    Attributes:
        name: Name of the sweep (default folder ``runs/sweeps/NAME-TIME``).
        trials: Trials to run.
        concurrent: Trials run at once (one thread each).
        seed: Seed of every trial's training and spikes, and of the search.
        dataset: ``mnist`` or ``fashion-mnist``.
        data_dir: IDX folder (None: the default source); relative to the spec file.
        limit_train: Training images per trial (None: all).
        limit_test: Test images of training's own evaluation (None: all).
        samples: Test images each target evaluates (None: all).
        verify_samples: Images also run in each target's reference simulator.
        batch_size: Training batch size.
        targets: Targets with the level of their energy objective.
        training_energy: Whether training energy is a third objective (min).
        space: The ranges searched.
    """

    type_tag = "sweep-spec"
    name: str = "sweep"
    trials: int = 8
    concurrent: int = 2
    seed: int = 0
    dataset: str = "mnist"
    data_dir: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    samples: int | None = None
    verify_samples: int = 0
    batch_size: int = 32
    targets: list[TargetSpec] = field(default_factory=list)
    training_energy: bool = False
    space: SearchSpace = field(default_factory=SearchSpace)

    def objectives(self) -> dict[str, str]:
        """Metric name -> ``max`` or ``min``: accuracy and energy per target, training energy."""
        out: dict[str, str] = {}
        for t in self.targets:
            out[accuracy_metric(t.name)] = "max"
            out[energy_metric(t.name)] = "min"
        if self.training_energy:
            out[TRAINING_ENERGY] = "min"
        return out


TRAINING_ENERGY = "training_energy_j"


def accuracy_metric(target: str) -> str:
    """Name of the accuracy objective on ``target``."""
    return f"accuracy_{target}"


def energy_metric(target: str) -> str:
    """Name of the energy-per-inference objective on ``target``."""
    return f"energy_{target}_j"


SPECS_DIR = "specs"


def bundled_specs() -> dict[str, Path]:
    """The example specs shipped with neuropipe, by name."""
    folder = resources.files("neuropipe.pipeline.sweep") / SPECS_DIR
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def resolve(spec: str | Path) -> Path:
    """The spec file: a path, or the name of a bundled spec (``mnist-small``).

    Raises:
        InputError: Neither a file nor a bundled spec's name.
    """
    path = Path(spec)
    if path.is_file():
        return path
    bundled = bundled_specs()
    if str(spec) in bundled:
        return bundled[str(spec)]
    raise InputError(f"{spec} is neither a spec file nor a bundled spec: give a TOML file, or "
                     f"one of {', '.join(sorted(bundled))}")


def load_spec(spec: str | Path, trials: int | None = None) -> SweepSpec:
    """Read and check a spec file (or a bundled spec's name).

    Args:
        spec: Path of a TOML spec, or a bundled spec's name.
        trials: Overrides the spec's ``trials``.

    Raises:
        InputError: Unreadable TOML, an unknown key, or a value out of range, with the file and
            the key in one line.
    """
    path = resolve(spec)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"{path} is not valid TOML ({e})") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read {path} ({e})") from e
    try:
        parsed = _parse(data)
        if parsed.data_dir is not None and not Path(parsed.data_dir).is_absolute():
            parsed.data_dir = str((path.parent / parsed.data_dir).resolve())
        if trials is not None:
            parsed.trials = _count(trials, "--trials", 1)
        check(parsed)
    except SpecError as e:
        raise InputError(f"{path}: {e}") from e
    return parsed


class SpecError(ValueError):
    """A problem with one key of a spec (the caller adds the file name)."""


TOP_KEYS = {"name", "trials", "concurrent", "seed", "data", "objectives", "targets", "space"}
DATA_KEYS = {"dataset", "data_dir", "limit_train", "limit_test", "samples", "verify_samples",
             "batch_size"}
TARGET_KEYS = {"name", "level", "cost_model"}
SPACE_KEYS = {"models", "epochs", "lr", "hidden", "timesteps", "encoding", "rate_penalty",
              "percentile"}


def _parse(data: dict[str, Any]) -> SweepSpec:
    _known(data, TOP_KEYS, "")
    section = {name: data.get(name, {}) for name in ("data", "objectives", "space")}
    for name, value in section.items():
        if not isinstance(value, dict):
            raise SpecError(f"[{name}] must be a table")
    d, obj, sp = section["data"], section["objectives"], section["space"]
    _known(d, DATA_KEYS, "[data] ")
    _known(obj, {"training_energy"}, "[objectives] ")
    _known(sp, SPACE_KEYS, "[space] ")
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, dict)
                                                               for t in targets):
        raise SpecError("needs at least one [[targets]] table with name and level")
    spec = SweepSpec(
        name=_str(data.get("name", "sweep"), "name"),
        trials=_count(data.get("trials", 8), "trials", 1),
        concurrent=_count(data.get("concurrent", 2), "concurrent", 1),
        seed=_count(data.get("seed", 0), "seed", 0),
        dataset=_str(d.get("dataset", "mnist"), "[data] dataset"),
        data_dir=_str(d["data_dir"], "[data] data_dir") if "data_dir" in d else None,
        limit_train=_count(d["limit_train"], "[data] limit_train", 1) if "limit_train" in d
        else None,
        limit_test=_count(d["limit_test"], "[data] limit_test", 1) if "limit_test" in d
        else None,
        samples=_count(d["samples"], "[data] samples", 1) if "samples" in d else None,
        verify_samples=_count(d.get("verify_samples", 0), "[data] verify_samples", 0),
        batch_size=_count(d.get("batch_size", 32), "[data] batch_size", 1),
        targets=[_target(t, i) for i, t in enumerate(targets)],
        training_energy=_bool(obj.get("training_energy", False), "[objectives] training_energy"),
        space=_space(sp),
    )
    return spec


def _known(table: dict[str, Any], keys: set[str], where: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise SpecError(f"unknown key {where}{unknown[0]} (known: {', '.join(sorted(keys))})")


def _target(table: dict[str, Any], i: int) -> TargetSpec:
    where = f"[[targets]] #{i + 1}"
    _known(table, TARGET_KEYS, f"{where} ")
    for key in ("name", "level"):
        if key not in table:
            raise SpecError(f"{where} needs '{key}'")
    cost_model = table.get("cost_model")
    return TargetSpec(name=_str(table["name"], f"{where} name"),
                      level=_str(table["level"], f"{where} level"),
                      cost_model=None if cost_model is None else _str(cost_model,
                                                                      f"{where} cost_model"))


def _space(sp: dict[str, Any]) -> SearchSpace:
    if "models" not in sp:
        raise SpecError("[space] needs models = [...] (model families to search)")
    defaults = SearchSpace()
    return SearchSpace(
        models=_names(sp["models"], "[space] models"),
        epochs=_range(sp.get("epochs", defaults.epochs), "[space] epochs", int),
        lr=_range(sp["lr"], "[space] lr", float) if "lr" in sp else None,
        hidden=_range(sp["hidden"], "[space] hidden", int) if "hidden" in sp else None,
        timesteps=_range(sp.get("timesteps", defaults.timesteps), "[space] timesteps", int),
        encoding=_names(sp.get("encoding", defaults.encoding), "[space] encoding"),
        rate_penalty=_range(sp.get("rate_penalty", defaults.rate_penalty),
                            "[space] rate_penalty", float),
        percentile=_range(sp.get("percentile", defaults.percentile), "[space] percentile",
                          float),
    )


def _str(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise SpecError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{key} must be true or false, got {value!r}")
    return value


def _count(value: Any, key: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise SpecError(f"{key} must be a whole number >= {low}, got {value!r}")
    return value


def _names(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{key} must be a list of names, got {value!r}")
    return list(dict.fromkeys(value))


def _range(value: Any, key: str, kind: type) -> list[Any]:
    """``[low, high]`` from a pair or a single number (a fixed value)."""
    items = value if isinstance(value, list) else [value]
    ok = len(items) in (1, 2) and all(
        not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)
        and (kind is float or float(v).is_integer()) for v in items)
    if not ok:
        what = "whole numbers" if kind is int else "numbers"
        raise SpecError(f"{key} must be [low, high] or one value ({what}), got {value!r}")
    low, high = (kind(items[0]), kind(items[-1]))
    if low > high:
        raise SpecError(f"{key} must be [low, high] with low <= high, got {value!r}")
    return [low, high]


def check(spec: SweepSpec) -> None:
    """Check values against what neuropipe knows (models, targets, levels, ranges).

    Raises:
        SpecError: The first problem found.
    """
    from neuropipe.models.zoo import MODELS
    from neuropipe.targets.registry import get_target, target_names

    sp = spec.space
    unknown = [m for m in sp.models if m not in MODELS]
    if unknown:
        raise SpecError(f"[space] models: unknown model '{unknown[0]}' (choose from "
                        f"{', '.join(MODELS)})")
    if spec.dataset not in DATASETS:
        raise SpecError(f"[data] dataset: unknown dataset '{spec.dataset}' (choose from "
                        f"{', '.join(DATASETS)})")
    names = [t.name for t in spec.targets]
    for t in spec.targets:
        if t.name not in target_names():
            raise SpecError(f"[[targets]]: unknown target '{t.name}' (choose from "
                            f"{', '.join(target_names())})")
        if t.level not in LEVELS:
            raise SpecError(f"[[targets]] {t.name}: unknown level '{t.level}' (choose from "
                            f"{', '.join(LEVELS)})")
        offered = get_target(t.name).levels
        if t.level not in offered:
            raise SpecError(f"[[targets]] {t.name}: its energy figures are at level "
                            f"{' or '.join(offered)}, never '{t.level}'")
    if len(set(names)) != len(names):
        raise SpecError(f"[[targets]] names a target twice: {', '.join(names)}")
    bad = [e for e in sp.encoding if e not in ENCODINGS]
    if bad:
        raise SpecError(f"[space] encoding: unknown encoding '{bad[0]}' (choose from "
                        f"{', '.join(ENCODINGS)})")
    specs = [MODELS[m] for m in sp.models]
    _positive(sp.epochs, "epochs", 1)
    _positive(sp.timesteps, "timesteps", 1)
    if sp.lr is not None and not sp.lr[0] > 0:
        raise SpecError(f"[space] lr must be positive, got {sp.lr}")
    if sp.hidden is not None:
        _positive(sp.hidden, "hidden", 1)
        _applies(sp.hidden, [s.name for s in specs if s.default_hidden is not None], "hidden",
                 [n for n, s in MODELS.items() if s.default_hidden is not None])
    if not sp.rate_penalty[0] >= 0:
        raise SpecError(f"[space] rate_penalty must be 0 or more, got {sp.rate_penalty}")
    if sp.rate_penalty[1] > 0:
        _applies(sp.rate_penalty, [s.name for s in specs if s.takes_rate_penalty],
                 "rate_penalty", [n for n, s in MODELS.items() if s.takes_rate_penalty])
    if not (0 < sp.percentile[0] and sp.percentile[1] <= 100):
        raise SpecError(f"[space] percentile must lie in (0, 100], got {sp.percentile}")


def _positive(pair: list[int], key: str, low: int) -> None:
    if pair[0] < low:
        raise SpecError(f"[space] {key} must be at least {low}, got {pair}")


def _applies(pair: list[Any], searched: list[str], key: str, takers: list[str]) -> None:
    if not searched:
        raise SpecError(f"[space] {key} applies to {', '.join(takers)}, none of which is in "
                        "models: drop it")
