"""The paper's reconstruction figure: test digits, then each model's copies."""

from __future__ import annotations

import os
from collections.abc import Sequence

from aelab.data.prepared import load_prepared
from aelab.figures.common import DATASET_TITLES, digit_grid, plt, save, showcase_rows


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
    indices, pictures = showcase_rows(codes_dir, list(rows))
    pictures.insert(0, ("original", images[indices]))

    n_cols = len(indices)
    fig, axes = plt.subplots(
        len(pictures),
        n_cols,
        figsize=(0.8 * n_cols + 1.2, 0.85 * len(pictures)),
        squeeze=False,
    )
    digit_grid(axes, pictures)
    title = DATASET_TITLES.get(dataset, dataset)
    fig.suptitle(f"{title} test images and their reconstructions", fontsize=10)
    save(fig, out_path)
