"""Atomic outputs: complete or absent, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from aelab.fileio import atomic_output, write_json


def test_failed_write_leaves_neither_file_nor_temporary(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_old_file_survives_a_failed_rewrite(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == '{\n  "a": 1\n}\n'


def test_temporary_left_by_a_killed_process_is_removed_next_time(tmp_path):
    # What SIGKILL leaves behind: a temporary beside the final name.
    stale = tmp_path / ".train.abcd1234.tmp.npz"
    stale.write_bytes(b"half")
    other = tmp_path / ".test.abcd1234.tmp.npz"
    other.write_bytes(b"another file's temporary")
    # The temporary of train.5.npz, whose name starts like train.npz's.
    similar = tmp_path / ".train.5.abcd1234.tmp.npz"
    similar.write_bytes(b"a file with a similar name")
    with atomic_output(tmp_path / "train.npz") as tmp:
        tmp.write_bytes(b"whole")
    assert not stale.exists()
    assert other.exists() and similar.exists()
    assert (tmp_path / "train.npz").read_bytes() == b"whole"


def test_outputs_get_the_umask_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {})
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "a.json").stat().st_mode)
    assert mode == 0o644
