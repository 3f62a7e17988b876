"""Deep against shallow: PCA, shallow, deep linear and deep nonlinear codes.

One figure in two parts: the same test digits reconstructed by every model
at every chosen code size (one row each, under the originals), and each
model's 2-D codes of the test digits side by side.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from aelab.data.prepared import load_prepared
from aelab.figures.codes_2d import scatter
from aelab.figures.common import digit_grid, load_codes, plt, save, showcase_rows


def draw(
    test_path: str | os.PathLike,
    codes_dir: str | os.PathLike,
    models: Sequence[str],
    latent_sizes: Sequence[int],
    per_class: int,
    out_path: str | os.PathLike,
) -> None:
    """Reconstruction rows for every (model, code size); then 2-D scatter plots.

    The scatter plots are drawn when 2 is among ``latent_sizes``.
    """
    images, _ = load_prepared(test_path)
    runs = [(model, size) for size in latent_sizes for model in models]
    indices, rows = showcase_rows(codes_dir, runs)
    rows.insert(0, ("original", images[indices]))
    with_codes = 2 in latent_sizes

    n_cols = len(indices)
    fig = plt.figure(figsize=(max(0.8 * n_cols + 1.2, 3.2 * len(models)), 12))
    top, bottom = fig.subfigures(
        2, 1, height_ratios=[0.85 * len(rows), 3.4 if with_codes else 0.01]
    )
    axes = top.subplots(len(rows), n_cols, squeeze=False)
    digit_grid(axes, rows, fontsize=8)
    top.suptitle("Test digits and their reconstructions, deep against shallow")

    if with_codes:
        panels = bottom.subplots(1, len(models), squeeze=False)[0]
        for ax, model in zip(panels, models, strict=True):
            scatter(ax, load_codes(Path(codes_dir) / model / "latent-2.npz"), per_class)
            ax.set_title(f"{model}, 2-D codes", fontsize=9)
        panels[-1].legend(
            title="digit",
            markerscale=4,
            fontsize=7,
            loc="center left",
            bbox_to_anchor=(1, 0.5),
        )
    save(fig, out_path)
