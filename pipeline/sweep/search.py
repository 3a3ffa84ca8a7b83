"""The search: Ray Tune runs the trials, Optuna's multi-objective sampler suggests them.

Ray is imported here only, when a sweep runs: every other command works without it. Locally
``ray.init(address="local")`` starts a private Ray (never a stray head that happens to run on
the machine); ``--address``/``RAY_ADDRESS`` joins a cluster, with neuropipe's code shipped to
the workers through ``runtime_env``. Ray is kept quiet (no dashboard, warnings only, no auth
token) and shut down at the end, leaving no processes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from neuropipe.core.errors import InputError, NeuropipeError
from neuropipe.pipeline.sweep.spec import SearchSpace, SweepSpec
from neuropipe.pipeline.sweep.trial import TrialParams, TrialResult

EXPERIMENT = "ray"  # Ray Tune's experiment folder inside the sweep's folder
INSTALL_HINT = ("neuropipe sweep needs Ray Tune and Optuna: pip install 'neuropipe[sweep]' "
                "(in a checkout: pip install -r requirements/sweep.txt)")
# Environment of Ray and of every trial: quiet, no usage statistics, one thread per trial.
RAY_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_AIR_NEW_OUTPUT": "0",
           "RAY_USAGE_STATS_ENABLED": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
TRIAL_ENV = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


class ClusterError(NeuropipeError):
    """A Ray cluster that cannot be reached or joined."""


class TrialFailed(RuntimeError):
    """A trial's stage refused its values; the message is the stage's one line."""


@dataclass
class SearchOutcome:
    """What the search finished: every finished trial, failures, and whether it was stopped."""

    results: list[TrialResult]
    expected: int
    errors: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        """True if some trials neither finished nor failed (the sweep was stopped)."""
        return len(self.results) + len(self.errors) < self.expected


class SpaceDefinition:
    """Optuna's define-by-run function: each model family gets only the ranges it uses.

    ``lr`` and ``hidden`` are log-scaled; a range whose ends are equal is a constant. A class
    rather than a closure, because Ray saves the searcher (with this) in the experiment state.
    """

    def __init__(self, space: SearchSpace) -> None:
        self.space = space.to_dict()

    def __call__(self, trial: Any) -> dict[str, Any]:
        """Suggest one trial's values; return the constants (ranges with equal ends)."""
        from neuropipe.models.zoo import MODELS

        space = SearchSpace.from_dict(self.space)
        constants: dict[str, Any] = {}

        def number(name: str, pair: list[Any], log: bool = False) -> None:
            low, high = pair
            if low == high:
                constants[name] = low
            elif isinstance(low, int):
                trial.suggest_int(name, low, high, log=log)
            else:
                trial.suggest_float(name, low, high, log=log)

        def choice(name: str, options: list[str]) -> None:
            if len(options) == 1:
                constants[name] = options[0]
            else:
                trial.suggest_categorical(name, options)

        if len(space.models) == 1:
            model = constants["model"] = space.models[0]
        else:
            model = trial.suggest_categorical("model", space.models)
        spec = MODELS[model]
        number("epochs", space.epochs)
        if space.lr is not None and getattr(spec, "learning", "backprop") == "backprop":
            number("lr", space.lr, log=True)
        if space.hidden is not None and spec.default_hidden is not None:
            number("hidden", space.hidden, log=True)
        number("timesteps", space.timesteps)
        # A model that takes fewer encodings than the spec lists searches its own subset, under
        # its own name (Optuna keeps one set of choices per name).
        encodings = [e for e in space.encoding if e in getattr(spec, "encodings", space.encoding)]
        if encodings and encodings != space.encoding:
            choice(f"encoding_{model}", encodings)
        else:
            choice("encoding", encodings or [spec.default_encoding])
        if spec.takes_rate_penalty:
            number("rate_penalty", space.rate_penalty)
        if spec.kind == "ann":
            number("percentile", space.percentile)
        return constants


def trial_entry(config: dict[str, Any], spec: dict[str, Any], root: str) -> None:
    """Ray Tune's trainable: one trial into ``ROOT/runs/<trial id>-<model>``, then its report."""
    from ray import tune

    from neuropipe.core.files import write_json_atomic
    from neuropipe.pipeline.sweep.trial import run_trial

    sweep = SweepSpec.from_dict(spec)
    params = TrialParams.from_search(config)
    trial = tune.get_context().get_trial_id()
    run_dir = Path(root) / "runs" / f"{trial}-{params.model}"
    try:
        result = run_trial(sweep, params, run_dir, trial)
    except NeuropipeError as e:  # the stage's one line travels back to the driver
        message = f"trial {trial} ({params.model}): {e}"
        write_json_atomic(Path(root) / "trials" / f"{trial}.failed.json",
                          {"trial": trial, "params": params.to_dict(), "error": message})
        raise TrialFailed(message) from None
    (Path(root) / "trials" / f"{trial}.failed.json").unlink(missing_ok=True)
    write_json_atomic(Path(root) / "trials" / f"{trial}.json", result.to_dict())
    tune.report({**result.metrics(), "record": json.dumps(result.to_dict())})


def run_search(spec: SweepSpec, out: Path, address: str | None, resume: bool,
               on_trial: Callable[[int, int], None] | None = None) -> SearchOutcome:
    """Run (or, with ``resume``, continue) the sweep's trials on Ray; always shut Ray down.

    Args:
        spec: The checked spec.
        out: The sweep's folder (absolute).
        address: A Ray cluster (``host:port``, ``ray://host:port`` or ``auto``); None: local.
        resume: Continue the experiment in ``out`` (finished trials are kept, unfinished ones
            and failed ones run again).
        on_trial: Called with (trials done, trials expected) as trials end.

    Raises:
        InputError: Ray is not installed.
        ClusterError: ``address`` cannot be reached or joined.
    """
    require_ray()
    import optuna
    import ray
    from ray import tune
    from ray.tune.search.optuna import OptunaSearch

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    shipped = connect(ray, address)
    try:
        trainable = tune.with_resources(
            tune.with_parameters(trial_entry, spec=spec.to_dict(), root=str(out)), {"cpu": 1})
        path = out / EXPERIMENT
        if resume:
            tuner = tune.Tuner.restore(str(path), trainable, resume_unfinished=True,
                                       resume_errored=True)
        else:
            objectives = spec.objectives()
            search = OptunaSearch(SpaceDefinition(spec.space), metric=list(objectives),
                                  mode=list(objectives.values()),
                                  sampler=_sampler(optuna, spec))
            tuner = tune.Tuner(
                trainable,
                tune_config=tune.TuneConfig(search_alg=search, num_samples=spec.trials,
                                            max_concurrent_trials=spec.concurrent,
                                            reuse_actors=True),
                run_config=tune.RunConfig(name=EXPERIMENT, storage_path=str(out), verbose=0))
        with _Watch(out / "trials", spec.trials, on_trial):
            grid = tuner.fit()
        return _outcome(grid, spec.trials)
    finally:
        ray.shutdown()
        if shipped is not None:
            shutil.rmtree(shipped, ignore_errors=True)


def require_ray() -> None:
    """Import Ray Tune and Optuna in Ray's quiet environment.

    Raises:
        InputError: Either is missing, with the command that installs them.
    """
    for name, value in RAY_ENV.items():
        os.environ.setdefault(name, value)
    try:
        import optuna  # noqa: F401
        import ray.tune  # noqa: F401
        from ray.tune.search.optuna import OptunaSearch  # noqa: F401
    except ImportError as e:
        raise InputError(f"{INSTALL_HINT} ({e})") from e


def _sampler(optuna: Any, spec: SweepSpec) -> Any:
    """TPE (multi-objective when given several metrics), seeded; random for its first trials."""
    startup = max(2, min(10, spec.trials // 2))
    return optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=startup)


def can_resume(out: Path) -> bool:
    """Whether ``out`` holds a Ray Tune experiment that ``--resume`` can continue."""
    path = out / EXPERIMENT
    if not path.is_dir():
        return False
    require_ray()
    from ray import tune

    return bool(tune.Tuner.can_restore(str(path)))


def connect(ray: Any, address: str | None) -> Path | None:
    """Start a private local Ray, or join the cluster at ``address`` shipping neuropipe's code.

    Returns:
        The temporary folder of the shipped code (cluster only), to delete after shutdown.

    Raises:
        ClusterError: The cluster cannot be reached or joined.
    """
    quiet = {"include_dashboard": False, "logging_level": logging.WARNING,
             "log_to_driver": False}
    # Tune's own messages (the Ctrl-C notice, each failed trial's traceback, result files it
    # does not keep) are said by the sweep's own lines, once: a failed trial by its one line.
    logging.getLogger("ray.tune").setLevel(logging.CRITICAL)
    if address is None:
        os.environ.pop("RAY_ADDRESS", None)  # address="local" must mean local
        ray.init(address="local", num_cpus=os.cpu_count() or 1, **quiet)
        return None
    check_reachable(address)
    shipped = Path(tempfile.mkdtemp(prefix="neuropipe-ship-"))
    try:
        package = ship_code(shipped)
        ray.init(address=address, runtime_env={"py_modules": [str(package)],
                                               "env_vars": dict(TRIAL_ENV)}, **quiet)
    except Exception as e:  # noqa: BLE001 - Ray raises many kinds for one cause: not joined
        shutil.rmtree(shipped, ignore_errors=True)
        if isinstance(e, NeuropipeError):
            raise
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ClusterError(f"cannot join the Ray cluster at {address} ({reason}); check the "
                           "address, or drop --address and RAY_ADDRESS to run locally") from e
    return shipped


def check_reachable(address: str, timeout_s: float = 3.0) -> None:
    """Refuse an address whose Ray port does not answer, before Ray spends a minute retrying.

    Raises:
        ClusterError: Not ``host:port``, or nothing listens there.
    """
    if address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address} is not host:port (or ray://host:port, or "
                           "auto): give the head node's address as 'ray start --head' prints it")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            pass
    except OSError as e:
        raise ClusterError(f"no Ray cluster answers at {address} ({e.strerror or e}); start one "
                           "with 'ray start --head' there, or drop --address and RAY_ADDRESS to "
                           "run locally") from e


def ship_code(folder: Path) -> Path:
    """Copy neuropipe's code into ``folder/neuropipe`` for ``runtime_env`` (py_modules)."""
    import importlib

    package = folder / "neuropipe"
    for sub in ("core", "models", "targets", "reports", "pipeline"):
        source = Path(importlib.import_module(f"neuropipe.{sub}").__file__).parent
        shutil.copytree(source, package / sub,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return package


class _Watch:
    """Calls ``on_trial(done, expected)`` from a thread as trial files appear in ``trials/``.

    Trials write their record (or their failure) there when they end, so the count holds for a
    resumed sweep too, and Ray's own state is never touched.
    """

    def __init__(self, folder: Path, expected: int,
                 on_trial: Callable[[int, int], None] | None) -> None:
        self.folder, self.expected, self.on_trial = folder, expected, on_trial
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Watch:
        if self.on_trial is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()
        self._count()

    def _count(self) -> None:
        if self.on_trial is not None:
            done = len(list(self.folder.glob("*.json"))) if self.folder.is_dir() else 0
            self.on_trial(min(done, self.expected), self.expected)

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            self._count()


def _outcome(grid: Any, expected: int) -> SearchOutcome:
    results, errors = [], []
    for result in grid:
        if result.error is not None:
            errors.append(_one_line(result.error))
            continue
        metrics = result.metrics or {}
        record = metrics.get("record")
        # Only a trial whose function returned is done; one stopped after its report is not
        # (``--resume`` runs it again, reusing every step it finished: the same result).
        if record and metrics.get("done") is True:
            results.append(TrialResult.from_dict(json.loads(record)))
    return SearchOutcome(results, expected, errors)


def _one_line(error: BaseException) -> str:
    """The trial's own one-line message from Ray's wrapped error."""
    text = str(error)
    marker = f"{TrialFailed.__name__}: "
    if marker in text:
        return text.rsplit(marker, 1)[1].strip().splitlines()[0]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(error).__name__
