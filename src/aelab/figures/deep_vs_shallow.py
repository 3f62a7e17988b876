"""Deep against shallow: PCA, shallow, deep linear and deep nonlinear codes.

One figure in two parts: the same test digits reconstructed by every model
at every chosen code size (one row each, under the originals), and each
model's 2-D codes of the test digits side by side.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aelab.data.prepared import load_prepared
from aelab.errors import AelabError
from aelab.figures.codes_2d import scatter
from aelab.figures.common import load_codes, plt, save


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
    rows = []
    indices = None
    for size in latent_sizes:
        for model in models:
            codes = load_codes(Path(codes_dir) / model / f"latent-{size}.npz")
            if indices is None:
                indices = codes["showcase_indices"]
            elif not np.array_equal(indices, codes["showcase_indices"]):
                raise AelabError(
                    f"{codes_dir}: the codes of {model} at {size}-D show other "
                    "test images than the first row's. Run the evaluate step of "
                    "every model again with the same evaluate.n_reconstructions."
                )
            rows.append((f"{model}\n{size}-D", codes["showcase_reconstructions"]))
    rows.insert(0, ("original", images[indices]))
    with_codes = 2 in latent_sizes

    n_cols = len(indices)
    fig = plt.figure(figsize=(max(0.8 * n_cols + 1.2, 3.2 * len(models)), 12))
    top, bottom = fig.subfigures(
        2, 1, height_ratios=[0.85 * len(rows), 3.4 if with_codes else 0.01]
    )
    axes = top.subplots(len(rows), n_cols, squeeze=False)
    for row, (label, shown) in enumerate(rows):
        for col in range(n_cols):
            ax = axes[row, col]
            picture = np.clip(shown[col], 0, 1).reshape(28, 28)
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
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
