"""The control data set: MNIST with the correlations between pixels destroyed.

Compression by PCA or an autoencoder works only because the pixels of an
image are correlated. Here each pixel's column of values is permuted across
the images, with its own random permutation: every pixel keeps exactly its
distribution over the images (so the mean image and each pixel's variance
are unchanged), but which values occur together in one image is now
chance. No code much smaller than the image should beat the mean image by
much on such data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from aelab.data.prepared import load_images, write_prepared

log = logging.getLogger(__name__)


def shuffle_pixels(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``images`` (n, n_pixels) with every column permuted on its own."""
    # permuted(axis=0) draws an independent permutation for each column.
    return rng.permuted(images, axis=0)


def make_shuffled(
    source_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    seed: int,
    max_train_images: int | None = None,
) -> dict[str, int]:
    """Write ``out_dir``/{train,test}.npz, the shuffled copies of ``source_dir``'s.

    Training and test images are shuffled separately (a pixel's test values
    stay test values), from two streams of one seed; only the first
    ``max_train_images`` training images are kept (None: all). Labels are
    all 0: an image of shuffled pixels shows no digit.
    """
    streams = np.random.SeedSequence(seed).spawn(2)
    splits = {}
    for split, stream in zip(("train", "test"), streams, strict=True):
        images, _ = load_images(Path(source_dir) / f"{split}.npz")
        if split == "train":
            images = images[:max_train_images]
        splits[split] = shuffle_pixels(images, np.random.default_rng(stream))
    counts = write_prepared(out_dir, splits)
    log.info("shuffled every pixel across images independently (seed %d)", seed)
    return counts
