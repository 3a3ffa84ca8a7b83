"""The thread choice of the batched fast paths: free cores, batch size, user limits, restore."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from neuropipe.core import threads


@pytest.fixture
def no_user_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv(threads.FIXED, raising=False)


@pytest.mark.parametrize(("batch", "cores", "busy", "limit", "passive", "expected"), [
    (500, 2, 0, None, True, 2),    # large batch: every core
    (500, 2, 1, None, True, 2),    # idle threads sleep: the load does not matter
    (500, 2, 1, None, False, 1),   # spinning threads: only the free core
    (500, 2, 5, None, False, 1),   # overloaded and spinning: still one
    (500, 8, 2, None, False, 6),   # 8 cores, 2 busy
    (500, 16, 0, None, True, 7),   # 500 // 64 = 7 threads at most
    (16, 2, 0, None, True, 1),     # a small batch never splits
    (127, 2, 0, None, True, 1),
    (128, 2, 0, None, True, 2),    # two threads from 2 x 64 samples
    (500, 2, 0, 1, True, 1),       # OMP_NUM_THREADS=1 is kept
])
def test_choose_threads(no_user_env: None, batch: int, cores: int, busy: int,
                        limit: int | None, passive: bool, expected: int) -> None:
    assert threads.choose_threads(batch, cores=cores, busy=busy, limit=limit,
                                  passive=passive) == expected


def test_the_policy_is_passive_when_torch_comes_later() -> None:
    import subprocess
    import sys

    code = ("import os, sys; from neuropipe.core import threads; import torch; "
            "print(os.environ['OMP_WAIT_POLICY'], threads.PASSIVE)")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["PASSIVE", "True"]


def test_user_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.delenv(threads.FIXED, raising=False)
    assert threads.choose_threads(500, cores=2, busy=0, passive=True) == 1
    monkeypatch.setenv(threads.FIXED, "2")  # a fixed count wins over the load and the limit
    assert threads.choose_threads(16, cores=2, busy=5) == 2
    monkeypatch.setenv(threads.FIXED, "zero")  # not a count: ignored
    assert threads.choose_threads(500, cores=2, busy=0, passive=True) == 1


def _fake_proc(tmp_path: Path, running: int, states: list[str]) -> tuple[Path, Path]:
    stat = tmp_path / "stat"
    stat.write_text(f"cpu  1 2 3 4\nprocs_running {running}\nprocs_blocked 0\n")
    for i, state in enumerate(states):
        task = tmp_path / "task" / str(100 + i)
        task.mkdir(parents=True)
        task.joinpath("stat").write_text(f"{100 + i} (py torch) x) {state} 1 2 3\n")
    return stat, tmp_path / "task"


def test_busy_elsewhere_takes_off_own_running_threads(tmp_path: Path) -> None:
    stat, tasks = _fake_proc(tmp_path, 5, ["R", "S", "R", "S"])
    assert threads.own_running(tasks) == 2
    assert threads.busy_elsewhere(reads=1, stat=stat, tasks=tasks) == 3  # 5 - 2


def test_busy_elsewhere_unreadable(tmp_path: Path) -> None:
    assert threads.busy_elsewhere(reads=1, stat=tmp_path / "none", tasks=tmp_path) == 0
    stat, tasks = _fake_proc(tmp_path, 0, ["R"])
    assert threads.busy_elsewhere(reads=1, stat=stat, tasks=tasks) == 0  # never negative


def test_compute_threads_restores_and_nests(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    monkeypatch.setenv(threads.FIXED, str(other))
    with threads.compute_threads(500) as n:
        assert n == other and torch.get_num_threads() == other
        monkeypatch.setenv(threads.FIXED, str(before))
        with threads.compute_threads(500) as inner:  # the enclosing choice is kept
            assert inner == other and torch.get_num_threads() == other
    assert torch.get_num_threads() == before


def test_batched_passes_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    monkeypatch.setattr(threads, "choose_threads", lambda batch: seen.append(batch) or 1)

    @threads.batched(lambda x, scale=1: len(x))
    def double(x: list[int], scale: int = 1) -> list[int]:
        return [2 * v * scale for v in x]

    assert double([1, 2, 3], scale=2) == [4, 8, 12]
    assert seen == [3]
