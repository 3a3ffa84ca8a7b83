"""check_writable: a real write decides, before any work; write_error: the one-line message."""

import errno
import os
import subprocess

import pytest

from neuropipe.core.errors import NeuropipeError, WriteError
from neuropipe.core.files import check_writable, write_error


def test_a_writable_folder_passes_and_keeps_nothing_of_the_probe(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    check_writable(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_a_missing_folder_is_judged_where_it_would_be_created(tmp_path):
    check_writable(tmp_path / "a" / "b" / "c")
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_a_file_is_not_a_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(WriteError, match="is a file, not a folder; choose another --out"):
        check_writable(tmp_path / "f" / "sub", "choose another --out")
    assert issubclass(WriteError, NeuropipeError) and WriteError.exit_code == 2


def test_a_failing_probe_is_one_line_with_the_reason_and_the_fix(tmp_path, monkeypatch):
    import tempfile

    def refuse(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(WriteError, match=r"cannot write to .*new \(in .*\): Read-only file "
                                         "system; choose another --out"):
        check_writable(tmp_path / "new", "choose another --out")


def test_a_read_only_folder_is_refused(tmp_path):
    """With a read-only bind mount as root (chmod proves nothing there), else with chmod."""
    src, view = tmp_path / "src", tmp_path / "view"
    src.mkdir()
    view.mkdir()
    mounted = False
    if os.geteuid() == 0:
        if subprocess.run(["mount", "--bind", str(src), str(view)],
                          capture_output=True).returncode != 0:
            pytest.skip("mount --bind is not permitted here")
        mounted = True
        try:
            if subprocess.run(["mount", "-o", "remount,bind,ro", str(view)],
                              capture_output=True).returncode != 0:
                pytest.skip("remounting read-only is not permitted here")
            with pytest.raises(WriteError, match="Read-only file system"):
                check_writable(view)
        finally:
            subprocess.run(["umount", str(view)], check=mounted)
    else:
        src.chmod(0o555)
        try:
            with pytest.raises(WriteError, match="Permission denied"):
                check_writable(src)
        finally:
            src.chmod(0o755)
    assert list(src.iterdir()) == []


def test_write_error_names_the_file_and_the_reason():
    e = write_error(OSError(errno.ENOSPC, "No space left on device", "/r/model.pt"), "/r",
                    "continue with --resume --out /r")
    assert str(e) == ("cannot write /r/model.pt: no space left on the device; continue with "
                      "--resume --out /r")
    assert "\n" not in str(e)


def test_write_error_names_a_file_inside_the_destination_never_a_hidden_or_outside_one(tmp_path):
    out = tmp_path / "bundle"
    inside = OSError(errno.EACCES, "Permission denied", str(out / "a.npz"))
    hidden = OSError(errno.EACCES, "Permission denied", str(out / ".staging-1" / ".tmp-a"))
    outside = OSError(errno.EACCES, "Permission denied", str(tmp_path / "run" / "model.pt"))
    assert str(write_error(inside, out, "fix")) == (
        f"cannot write {out / 'a.npz'}: Permission denied; fix")
    # a temporary (a dot name) and a source outside the destination: the destination is named
    assert str(write_error(hidden, out, "fix")) == f"cannot write {out}: Permission denied; fix"
    assert str(write_error(outside, out, "fix")) == f"cannot write {out}: Permission denied; fix"
    # an OSError without strerror: its own text
    assert str(write_error(OSError("disk gone"), out, "fix")) == (
        f"cannot write {out}: disk gone; fix")


def test_json_records_are_indented_by_two_in_field_order(tmp_path):
    from neuropipe.core.files import write_json_atomic

    write_json_atomic(tmp_path / "r.json", {"type": "x", "b": 1, "a": [2]})
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == (
        '{\n  "type": "x",\n  "b": 1,\n  "a": [\n    2\n  ]\n}\n')


def test_the_writability_probe_is_hidden_and_named_and_where_is_said(tmp_path, monkeypatch):
    import tempfile as tempfile_module

    from neuropipe.core import files

    seen = []
    real = tempfile_module.mkstemp

    def spy(*args, **kwargs):
        seen.append(kwargs.get("prefix"))
        return real(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", spy)
    files.check_writable(tmp_path)
    assert seen == [".neuropipe-probe-"] and list(tmp_path.iterdir()) == []

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse)
    with pytest.raises(files.WriteError) as here:
        files.check_writable(tmp_path, "fix it")
    assert str(here.value) == f"cannot write to {tmp_path}: Permission denied; fix it"
    with pytest.raises(files.WriteError) as below:
        files.check_writable(tmp_path / "new" / "sub", "fix it")
    assert str(below.value) == (f"cannot write to {tmp_path / 'new' / 'sub'} (in {tmp_path}): "
                                "Permission denied; fix it")
