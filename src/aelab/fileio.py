"""Writing files so that a killed or failed step never leaves a partial output.

Every output of the pipeline goes through :func:`atomic_output`: the content is
written to a temporary name beside the final one, flushed to the disk, and
renamed into place only once it is complete. A rename within one folder is
atomic on POSIX file systems, so a reader sees either the old file, the new
one, or none, even after SIGKILL or a power cut.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; rename it to ``path`` when the block succeeds.

    On any exception the temporary file is removed and ``path`` is untouched.
    The temporary name keeps the final suffix, since some writers (numpy,
    matplotlib) choose the format from it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{path.stem}.", f".tmp{path.suffix}"
    # A process killed outright (SIGKILL, power loss) cannot clean up after
    # itself; the next writer of the same file does it. The eight '?' match
    # mkstemp's random part only, so that the temporary of another file whose
    # name starts the same ("a.pt" and "a.5.pt") is left alone.
    pattern = f"{glob.escape(prefix)}{'?' * 8}{glob.escape(suffix)}"
    for stale in path.parent.glob(pattern):
        stale.unlink(missing_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates the file readable by its owner only; give it the
        # permissions any other new file would get under the current umask.
        os.chmod(tmp, 0o666 & ~_current_umask())
        # Without the flush a power cut soon after the rename can leave the
        # final name holding an empty or partial file.
        _fsync(tmp)
        os.replace(tmp, path)
        with contextlib.suppress(OSError):  # not every file system syncs folders
            _fsync(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    """Flush a file's or a folder's content to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_npz(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """Write arrays to an uncompressed ``.npz`` file, atomically."""
    with atomic_output(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder; put it in the place of ``path`` on success.

    For a folder that a library fills file by file (DVCLive's training
    curves): the files are written into a temporary folder beside ``path``,
    and the old folder, if any, is replaced only when the block succeeds. The
    swap is two renames, not one, so a reader may find ``path`` missing for
    an instant, never half written. On any exception the temporary folder is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix, suffix = f".{path.name}.", ".tmp"
    # As in atomic_output: clear what a killed writer of this folder left.
    for stale in path.parent.glob(f"{glob.escape(prefix)}{'?' * 8}{suffix}"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_current_umask())
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=path.parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
