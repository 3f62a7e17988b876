"""MNIST: the four IDX files, their parsing and the prepared arrays.

The IDX format: a 4-byte magic number (two zero bytes, a type code, the
number of dimensions), one big-endian uint32 per dimension, then the data.
MNIST uses unsigned bytes (type code 0x08): images of shape (n, 28, 28) and
labels of shape (n,).
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from aelab.data.download import GZIP_MAGIC, RemoteFile
from aelab.data.prepared import PIXELS, load_prepared  # noqa: F401 (re-exported)
from aelab.errors import AelabError
from aelab.fileio import write_npz

log = logging.getLogger(__name__)

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
UBYTE = 0x08
REFETCH = "Delete it and run the fetch step again."


def read_idx(path: str | os.PathLike, ndim: int) -> np.ndarray:
    """Read an unsigned-byte IDX file, gzip-compressed or not.

    Parameters
    ----------
    path : path-like
        The file; gzip data is recognised by its magic bytes, whatever the
        file's name.
    ndim : int
        The number of dimensions expected (3 for images, 1 for labels).

    Returns
    -------
    ndarray of uint8 with ``ndim`` dimensions

    Raises
    ------
    AelabError
        If the file is empty, truncated, corrupt, of another type, or its
        header counts more or fewer values than it holds.
    """
    path = Path(path)
    raw = path.read_bytes()
    if not raw:
        raise AelabError(f"{path}: the file is empty. {REFETCH}")
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as err:
            raise AelabError(
                f"{path}: this file is gzip-compressed but its data is cut short "
                f"or corrupt ({err}). {REFETCH}"
            ) from None

    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise AelabError(
            f"{path}: {len(raw)} bytes is shorter than an IDX header with "
            f"{ndim} dimension(s) ({header_size} bytes). {REFETCH}"
        )
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != UBYTE or dims != ndim:
        raise AelabError(
            f"{path}: not an unsigned-byte IDX file with {ndim} dimension(s) "
            f"(magic number {raw[:4].hex()}, expected 0000{UBYTE:02x}{ndim:02x})"
            f"{_looks_like(raw, ndim)}. {REFETCH}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    if 0 in shape:
        raise AelabError(
            f"{path}: the IDX header gives a dimension of size 0 {shape}. {REFETCH}"
        )
    item_size = int(np.prod(shape[1:]))
    present = len(raw) - header_size
    if present != shape[0] * item_size:
        raise AelabError(
            f"{path}: the header counts {shape[0]} items of {item_size} byte(s) "
            f"but the file holds {present / item_size:g} ({present} bytes after "
            f"the header). {REFETCH}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


# What a file that is not IDX often is instead, by its first bytes.
OTHER_FORMATS = {
    GZIP_MAGIC: "gzip-compressed a second time",
    b"PK\x03\x04": "a zip archive",
    b"BZh": "bzip2-compressed",
    b"\xfd7zXZ\x00": "xz-compressed",
}


def _looks_like(raw: bytes, ndim: int) -> str:
    """A clause saying what the bytes seem to be instead, or nothing."""
    if raw[:3] == b"\x00\x00\x08":
        return (
            f": an IDX file with {raw[3]} dimension(s), so probably the "
            f"{'labels' if raw[3] == 1 else 'images'} file in the place of the "
            f"{'labels' if ndim == 1 else 'images'} one (check data.mnist.files "
            "in params.yaml)"
        )
    for magic, kind in OTHER_FORMATS.items():
        if raw.startswith(magic):
            return f": the content is {kind}"
    if raw.lstrip()[:1] == b"<":
        return ": it looks like an HTML or XML page, such as a mirror's error page"
    return ""


def remote_files(files: dict[str, dict[str, str]]) -> dict[str, RemoteFile]:
    """The four files named in ``data.mnist.files`` of params.yaml, by role."""
    return {
        role: RemoteFile(files[role]["name"], files[role]["sha256"]) for role in ROLES
    }


def load_split(
    raw_dir: str | os.PathLike, split: str, names: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of one split ("train" or "test"), validated.

    ``names`` maps each role (``ROLES``) to its file name inside ``raw_dir``,
    as ``data.mnist.files`` in params.yaml gives them.

    Returns
    -------
    images : ndarray of float32, shape (n, 784), values in [0, 1]
    labels : ndarray of uint8, shape (n,), values 0-9
    """
    raw_dir = Path(raw_dir)
    images_path = raw_dir / names[f"{split}_images"]
    labels_path = raw_dir / names[f"{split}_labels"]
    images = read_idx(images_path, ndim=3)
    labels = read_idx(labels_path, ndim=1)

    if images.shape[1:] != (28, 28):
        raise AelabError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
            f"MNIST's are 28x28. {REFETCH}"
        )
    if len(images) != len(labels):
        raise AelabError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels. {REFETCH}"
        )
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise AelabError(
            f"{labels_path}: label {labels[bad[0]]} at index {bad[0]} is outside "
            f"0-9 ({bad.size} such labels in {len(labels)}). {REFETCH}"
        )
    pixels = images.reshape(len(images), PIXELS).astype(np.float32) / 255.0
    return pixels, labels.copy()


def prepare(
    raw_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    max_train_images: int | None,
    names: dict[str, str],
) -> dict[str, int]:
    """Write ``train.npz`` and ``test.npz`` (images, labels) into ``out_dir``.

    Returns the number of images written per split.
    """
    # Read and check both splits before writing either, so that a bad file
    # leaves no output at all rather than half of it.
    splits = {split: load_split(raw_dir, split, names) for split in ("train", "test")}
    counts = {}
    for split, (images, labels) in splits.items():
        if split == "train" and max_train_images is not None:
            images, labels = images[:max_train_images], labels[:max_train_images]
        path = Path(out_dir) / f"{split}.npz"
        write_npz(path, images=images, labels=labels)
        log.info("%s: %d images of %d pixels in [0, 1]", path, *images.shape)
        counts[split] = len(images)
    return counts
