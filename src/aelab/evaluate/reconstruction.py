"""The paper's measure: squared error per image, and codes for the figures."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

BATCH = 2000


def squared_error_per_image(images: np.ndarray, reconstructions: np.ndarray) -> float:
    """Sum over pixels of the squared difference, averaged over images.

    Parameters
    ----------
    images, reconstructions : ndarray of shape (n, n_pixels)

    Returns
    -------
    float
        Computed in float64 whatever the inputs' precision.
    """
    diff = images.astype(np.float64) - reconstructions.astype(np.float64)
    return float(np.square(diff).sum(axis=1).mean())


@torch.no_grad()
def encode_and_reconstruct(
    model: nn.Module, images: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (n, latent_size) and reconstructions (n, n_pixels) of ``images``.

    Runs in batches on the CPU in the model's own precision.
    """
    dtype = next(iter(model.state_dict().values())).dtype
    codes, recons = [], []
    for first in range(0, len(images), BATCH):
        x = torch.from_numpy(images[first : first + BATCH]).to(dtype)
        z = model.encode(x)
        codes.append(z.numpy())
        recons.append(model.decode(z).numpy())
    return np.concatenate(codes), np.concatenate(recons)


def showcase_indices(labels: np.ndarray, count: int) -> np.ndarray:
    """Indices of ``count`` images cycling through the classes in order.

    The first image of class 0, of class 1, ... of class 9, then the second
    of each, and so on: a row of digits that shows every class.
    """
    by_class = [list(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    chosen: list[int] = []
    rank = 0
    while len(chosen) < count and any(rank < len(c) for c in by_class):
        chosen += [c[rank] for c in by_class if rank < len(c)]
        rank += 1
    return np.array(chosen[:count], dtype=np.int64)
