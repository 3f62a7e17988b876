"""Prepared data: the arrays every data set is turned into.

A prepared split is one ``.npz`` file holding ``images``, float32 of shape
(n, 784) with pixel intensities in [0, 1], and ``labels``, integers of shape
(n,) (a class per image; 0 for every image of a data set without classes).
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import numpy as np

from aelab.errors import AelabError
from aelab.fileio import write_npz

log = logging.getLogger(__name__)

PIXELS = 28 * 28


def load_prepared(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a prepared split: float32 images (n, 784) and integer labels (n,)."""
    path = Path(path)
    try:
        with np.load(path) as data:
            images, labels = data["images"], data["labels"]
    except FileNotFoundError:
        raise AelabError(
            f"{path}: prepared data not found. Run the prepare step first."
        ) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        reason = str(err).split(". ")[0]  # not numpy's advice to unpickle
        raise AelabError(
            f"{path}: not a prepared data file with 'images' and 'labels' "
            f"({reason}). "
            "Check that the path names the prepare step's train.npz or test.npz; "
            "if it does, delete it and run the prepare step again."
        ) from None
    if images.ndim != 2 or images.shape[1] != PIXELS or len(images) != len(labels):
        raise AelabError(
            f"{path}: expected images of shape (n, {PIXELS}) and n labels, found "
            f"{images.shape} and {labels.shape}. Run the prepare step again."
        )
    if len(images) == 0:
        raise AelabError(
            f"{path}: holds no images. Run the prepare step again, or point at "
            "a split that has some."
        )
    return images, labels


def check_pixels(images: np.ndarray, source: str | os.PathLike) -> None:
    """Refuse images that are not floats in [0, 1], saying how to scale them.

    Every model and loss of the pipeline assumes pixel intensities in [0, 1]
    (the cross-entropy treats them as probabilities); raw 0-255 bytes would
    train without an error and give meaningless numbers.
    """
    if not np.issubdtype(images.dtype, np.floating):
        raise AelabError(
            f"{source}: images are {images.dtype}, not floats in [0, 1]. Scale "
            "them before saving, e.g. images.astype(numpy.float32) / 255 for "
            "0-255 pixels, or make the file with the prepare step."
        )
    if images.size == 0:
        return
    if not np.isfinite(images).all():
        raise AelabError(
            f"{source}: some pixel values are NaN or infinite. Make the file "
            "again from the raw images (the prepare step writes finite values)."
        )
    low, high = float(images.min()), float(images.max())
    if not (low >= 0 and high <= 1):
        raise AelabError(
            f"{source}: pixel values run from {low:g} to {high:g}, outside [0, 1]. "
            "Scale them into [0, 1] before saving (divide 0-255 pixels by 255), "
            "or make the file with the prepare step."
        )


def load_images(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A prepared split that a model will read: float32 images in [0, 1].

    :func:`load_prepared`, then :func:`check_pixels`; float64 images are
    narrowed to the models' float32.
    """
    images, labels = load_prepared(path)
    check_pixels(images, path)
    return images.astype(np.float32, copy=False), labels


def write_prepared(
    out_dir: str | os.PathLike, splits: dict[str, np.ndarray]
) -> dict[str, int]:
    """Write unlabelled splits as ``<split>.npz`` files, every label 0.

    ``splits`` maps a split name ("train", "test") to float32 images of
    shape (n, 784). Returns the number of images written per split.
    """
    counts = {}
    for split, images in splits.items():
        path = Path(out_dir) / f"{split}.npz"
        labels = np.zeros(len(images), dtype=np.uint8)
        write_npz(path, images=images.astype(np.float32), labels=labels)
        log.info("%s: %d images of %d pixels in [0, 1]", path, *images.shape)
        counts[split] = len(images)
    return counts
