"""Fetching data files from an offline folder or a list of mirrors.

Each file is identified by the SHA-256 of its *decompressed* content: mirrors
recompress files, so the bytes of a ``.gz`` differ between mirrors while the
content does not. A tar archive can be identified by the files it holds
instead (``RemoteFile.members``, a name pattern): the hash then covers the
names and bytes of the matching members only, so that copies of a collection
packed with other extras (a README, a DTD) or other timestamps agree. A file
is written to a temporary name and renamed into place only once its content
hash matches; anything else is removed.

HTTP transfers use pooch's downloader (requests underneath); the mirror loop,
the offline folder and the content hash are ours, since pooch checks only the
hash of the bytes it downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import shutil
import tarfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests

from aelab.errors import AelabError
from aelab.fileio import atomic_output

log = logging.getLogger(__name__)

OFFLINE_MIRROR_ENV = "AELAB_OFFLINE_MIRROR"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
# Seconds to wait for a connection, and then for each piece of the body: a
# mirror that stops sending is given up after this long, not waited on forever.
TIMEOUT_S = 60


@dataclass(frozen=True)
class RemoteFile:
    """A file known by its original name and the SHA-256 of its content.

    ``members``, when set, makes the file a tar archive whose content is the
    members matching that pattern (see :func:`content_sha256`).
    """

    name: str
    sha256: str
    members: str | None = None


class ContentError(Exception):
    """A fetched file whose content is not what it should be."""


def content_sha256(path: str | os.PathLike, members: str | None = None) -> str:
    """SHA-256 of a file's content, decompressed first if it is gzip.

    With ``members`` (a pattern such as "*.sgm"), the file is read as a tar
    archive and the hash is taken over each matching member, in name order:
    its base name, a zero byte, its size in decimal, a zero byte, its bytes.

    Raises
    ------
    ContentError
        If the file is gzip but cut short or corrupt, or not the tar archive
        that ``members`` asks for.
    """
    path = Path(path)
    if members is not None:
        return _members_sha256(path, members)
    digest = hashlib.sha256()
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
    opener = gzip.open if is_gzip else open
    try:
        with opener(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ContentError(f"corrupt or truncated gzip data ({err})") from None
    return digest.hexdigest()


def _members_sha256(path: Path, pattern: str) -> str:
    digest = hashlib.sha256()
    try:
        with tarfile.open(path, "r:*") as archive:
            chosen = sorted(
                (m for m in archive.getmembers() if m.isfile()),
                key=lambda m: Path(m.name).name,
            )
            for member in chosen:
                name = Path(member.name).name
                if not Path(name).match(pattern):
                    continue
                digest.update(f"{name}\0{member.size}\0".encode())
                handle = archive.extractfile(member)
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise ContentError(f"not a readable tar archive ({err})") from None
    return digest.hexdigest()


def offline_mirror(configured: str | None) -> Path | None:
    """The offline mirror folder: the environment variable, else the param."""
    value = os.environ.get(OFFLINE_MIRROR_ENV) or configured
    if not value:
        return None
    folder = Path(value).expanduser()
    if not folder.is_dir():
        log.warning(
            "offline mirror %s (from %s) is not a folder; using the online "
            "mirrors only",
            folder,
            OFFLINE_MIRROR_ENV if os.environ.get(OFFLINE_MIRROR_ENV) else "params",
        )
        return None
    return folder


def fetch(
    remote: RemoteFile,
    dest_dir: str | os.PathLike,
    mirrors: Sequence[str],
    offline: Path | None = None,
    dataset: str = "",
) -> Path:
    """Make ``dest_dir/remote.name`` hold the verified file, fetching it if needed.

    Parameters
    ----------
    remote : RemoteFile
        The file's name and the SHA-256 of its decompressed content.
    dest_dir : path-like
        Folder to write the file into.
    mirrors : sequence of str
        Base URLs tried in order; ``remote.name`` is appended to each.
    offline : Path or None
        A local folder tried first: ``offline/name``, then
        ``offline/dataset/name``.
    dataset : str
        Subfolder name looked for inside the offline folder.

    Returns
    -------
    Path
        The verified file.

    Raises
    ------
    AelabError
        If no source gives a file with the right content; the message lists
        every source tried and why it failed.
    """
    dest = Path(dest_dir) / remote.name
    if dest.exists():
        try:
            actual = content_sha256(dest, remote.members)
        except ContentError as err:
            actual = f"unreadable: {err}"
        if actual == remote.sha256:
            log.info("%s: already present, content hash verified", dest)
            return dest
        log.warning(
            "%s: existing file has the wrong content (expected sha256 %s, got %s); "
            "removing it and fetching again",
            dest,
            remote.sha256,
            actual,
        )
        dest.unlink()

    failures = []
    for source in _sources(remote.name, mirrors, offline, dataset):
        problem = _try_source(source, dest, remote)
        if problem is None:
            log.info("%s: fetched from %s, content hash verified", dest, source)
            return dest
        log.warning("%s: %s", source, problem)
        failures.append(f"  {source}: {problem}")
    tried = "\n".join(failures) or "  (no sources: the mirror list is empty)"
    raise AelabError(
        f"could not fetch {remote.name} into {dest_dir}; every source failed:\n"
        f"{tried}\n"
        f"Check the network or the mirrors in params.yaml (data.*.mirrors), or "
        f"set {OFFLINE_MIRROR_ENV} to a folder that holds {remote.name}."
    )


def _sources(
    name: str, mirrors: Sequence[str], offline: Path | None, dataset: str
) -> list[str]:
    sources = []
    if offline is not None:
        for folder in (offline, offline / dataset):
            if (folder / name).is_file():
                sources.append(str(folder / name))
                break
    sources += [mirror.rstrip("/") + "/" + name for mirror in mirrors]
    return sources


def _try_source(source: str, dest: Path, remote: RemoteFile) -> str | None:
    """Copy or download one source into ``dest``; return the failure, if any."""
    try:
        with atomic_output(dest) as tmp:
            if "://" in source:
                _download(source, tmp)
            else:
                shutil.copyfile(source, tmp)
            if tmp.stat().st_size == 0:
                raise ContentError("empty file")
            actual = content_sha256(tmp, remote.members)
            if actual != remote.sha256:
                with open(tmp, "rb") as handle:
                    magic = handle.read(2)
                kind = "" if magic == GZIP_MAGIC else " (not gzip data)"
                raise ContentError(
                    f"wrong content{kind}: expected sha256 {remote.sha256}, "
                    f"got {actual}"
                )
    except ContentError as err:
        return f"{err}; the fetched copy was discarded"
    except requests.HTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        return f"HTTP status {status}"
    except requests.exceptions.ChunkedEncodingError as err:
        return (
            f"the connection broke before the whole file arrived ({_reason(err)}); "
            "the partial copy was discarded"
        )
    except (requests.Timeout, requests.ConnectionError) as err:
        if "timed out" in str(err).lower():
            return (
                f"no answer for {TIMEOUT_S} s, gave up ({type(err).__name__}); "
                "any partial copy was discarded"
            )
        return f"could not connect ({type(err).__name__}: {_reason(err)})"
    except (requests.RequestException, OSError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def _reason(err: Exception) -> str:
    """The innermost reason requests gives, without its repetitions."""
    args = err.args
    while len(args) == 1 and isinstance(args[0], Exception) and args[0].args:
        args = args[0].args
    return str(args[0]) if args else str(err)


def _download(url: str, path: Path) -> None:
    downloader = pooch.HTTPDownloader(progressbar=False, timeout=TIMEOUT_S)
    downloader(url, str(path), None)
