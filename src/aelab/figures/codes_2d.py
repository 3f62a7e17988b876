"""The paper's figure of 2-D codes: test digits placed by each model's code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from aelab.figures.common import load_codes, plt, save


def draw(
    codes_dir: str | os.PathLike,
    models: Sequence[str],
    per_class: int | None,
    out_path: str | os.PathLike,
    noun: str = "digits",
    legend_title: str = "digit",
) -> None:
    """Side-by-side scatter plots of 2-D test codes, coloured by digit class.

    The first ``per_class`` test images of each class are drawn (the paper
    showed 500 of each; None: all), in test-set order so that no class is
    always on top. A codes file with ``class_names`` (Reuters) has its
    classes named by them; items of class -1 (no class) are left out.
    """
    fig, axes = plt.subplots(
        1, len(models), figsize=(4.5 * len(models), 4.5), squeeze=False
    )
    for ax, model in zip(axes[0], models, strict=True):
        data = load_codes(Path(codes_dir) / model / "latent-2.npz")
        scatter(ax, data, per_class)
        shown = "all" if per_class is None else f"up to {per_class}"
        ax.set_title(
            f"{model}: 2-D codes, {shown} test {noun} of each class",
            fontsize=9,
        )
    axes[0, -1].legend(
        title=legend_title,
        markerscale=4,
        fontsize=7,
        loc="center left",
        bbox_to_anchor=(1, 0.5),
    )
    save(fig, out_path)


def scatter(ax: plt.Axes, data: dict[str, np.ndarray], per_class: int | None) -> None:
    """Draw one evaluate step's 2-D codes on ``ax``, a colour per class.

    Classes are named by the codes file's ``class_names`` where it has them
    (Reuters topics), else by their numbers (digits).
    """
    cmap = plt.get_cmap("tab10")
    chosen = first_of_each_class(data["labels"], per_class)
    codes, labels = data["codes"][chosen], data["labels"][chosen]
    names = data.get("class_names")
    for label in np.unique(labels):
        mine = labels == label
        ax.scatter(
            codes[mine, 0],
            codes[mine, 1],
            s=3,
            color=cmap(int(label)),
            label=str(label) if names is None else str(names[label]),
            alpha=0.7,
            linewidths=0,
        )
    ax.set_xticks([])
    ax.set_yticks([])


def first_of_each_class(labels: np.ndarray, per_class: int | None) -> np.ndarray:
    """Indices of the first ``per_class`` images of every class (-1 is none)."""
    classes = [c for c in np.unique(labels) if c >= 0]
    chosen = [np.flatnonzero(labels == c)[:per_class] for c in classes]
    return np.sort(np.concatenate(chosen))
