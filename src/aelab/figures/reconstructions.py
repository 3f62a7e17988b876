"""The paper's reconstruction figure: test digits, then each model's copies."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aelab.data.mnist import load_prepared
from aelab.figures.common import load_codes, plt, save


def draw(
    test_path: str | os.PathLike,
    codes_dir: str | os.PathLike,
    models: Sequence[str],
    latent_size: int,
    out_path: str | os.PathLike,
) -> None:
    """One row of original test digits, then one row per model.

    Every model's row shows the reconstructions of the same test images,
    from codes of ``latent_size`` dimensions.
    """
    images, _ = load_prepared(test_path)
    rows = []
    indices = None
    for model in models:
        codes = load_codes(Path(codes_dir) / model / f"latent-{latent_size}.npz")
        if indices is None:
            indices = codes["showcase_indices"]
        rows.append((f"{model}\n{latent_size}-D", codes["showcase_reconstructions"]))
    rows.insert(0, ("original", images[indices]))

    n_cols = len(indices)
    fig, axes = plt.subplots(
        len(rows), n_cols, figsize=(0.8 * n_cols + 1.2, 0.85 * len(rows)), squeeze=False
    )
    for row, (label, pictures) in enumerate(rows):
        for col in range(n_cols):
            ax = axes[row, col]
            ax.imshow(
                np.clip(pictures[col], 0, 1).reshape(28, 28),
                cmap="gray",
                vmin=0,
                vmax=1,
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("MNIST test digits and their reconstructions", fontsize=10)
    save(fig, out_path)
