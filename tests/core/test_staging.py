"""``swap_in``: a finished folder replaces the earlier one, which comes back if the swap fails."""

from pathlib import Path

import pytest

from neuropipe.core.staging import swap_in


def folder(path: Path, text: str) -> Path:
    path.mkdir()
    (path / "f").write_text(text)
    return path


def test_swap_in_replaces_the_earlier_folder_and_removes_it(tmp_path):
    new, final = folder(tmp_path / ".new", "new"), folder(tmp_path / "out", "old")
    folder(tmp_path / ".out.old", "leftover")
    swap_in(new, final, tmp_path / ".out.old")
    assert (final / "f").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_swap_in_without_an_earlier_folder_only_renames(tmp_path):
    new = folder(tmp_path / ".new", "new")
    swap_in(new, tmp_path / "out", tmp_path / ".aside")
    assert (tmp_path / "out" / "f").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_swap_puts_the_earlier_folder_back(tmp_path, monkeypatch):
    new, final = folder(tmp_path / ".new", "new"), folder(tmp_path / "out", "old")
    real = Path.rename

    def rename(self, target):
        if self.name == ".new":
            raise OSError(18, "Invalid cross-device link")
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(OSError, match="cross-device"):
        swap_in(new, final, tmp_path / ".aside")
    assert (final / "f").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new", "out"]
