"""The paper's reconstruction figure: test digits, then each model's copies."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aelab.data.prepared import load_prepared
from aelab.errors import AelabError
from aelab.figures.common import DATASET_TITLES, load_codes, plt, save


def draw(
    test_path: str | os.PathLike,
    codes_dir: str | os.PathLike,
    rows: Sequence[tuple[str, int]],
    out_path: str | os.PathLike,
    dataset: str = "mnist",
) -> None:
    """One row of original test images, then one row per (model, code size).

    Every row shows the reconstructions of the same test images (the
    evaluate step's showcase images).
    """
    images, _ = load_prepared(test_path)
    pictures = []
    indices = None
    for model, latent_size in rows:
        codes = load_codes(Path(codes_dir) / model / f"latent-{latent_size}.npz")
        if indices is None:
            indices = codes["showcase_indices"]
        elif not np.array_equal(indices, codes["showcase_indices"]):
            raise AelabError(
                f"{codes_dir}: the codes of {model} at {latent_size}-D show other "
                "test images than the first row's. Run the evaluate step of "
                "every model again with the same evaluate.n_reconstructions."
            )
        pictures.append(
            (f"{model}\n{latent_size}-D", codes["showcase_reconstructions"])
        )
    pictures.insert(0, ("original", images[indices]))

    n_cols = len(indices)
    fig, axes = plt.subplots(
        len(pictures),
        n_cols,
        figsize=(0.8 * n_cols + 1.2, 0.85 * len(pictures)),
        squeeze=False,
    )
    for row, (label, shown) in enumerate(pictures):
        for col in range(n_cols):
            ax = axes[row, col]
            ax.imshow(
                np.clip(shown[col], 0, 1).reshape(28, 28),
                cmap="gray",
                vmin=0,
                vmax=1,
            )
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    title = DATASET_TITLES.get(dataset, dataset)
    fig.suptitle(f"{title} test images and their reconstructions", fontsize=10)
    save(fig, out_path)
