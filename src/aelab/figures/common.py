"""What every figure shares: a headless backend and atomic saving."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # figures are files; no display is needed or assumed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from aelab.errors import AelabError  # noqa: E402
from aelab.fileio import atomic_output  # noqa: E402

log = logging.getLogger(__name__)

DATASET_TITLES = {
    "mnist": "MNIST",
    "curves": "Curves",
    "mnist_shuffled": "MNIST, pixels shuffled",
}


def save(fig: plt.Figure, path: str | os.PathLike) -> None:
    """Save ``fig`` as PNG atomically and close it."""
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    plt.close(fig)
    log.info("wrote %s", path)


def load_codes(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read one evaluate step's codes file."""
    try:
        with np.load(path) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise AelabError(
            f"{path}: codes not found. Run the evaluate step first."
        ) from None


def showcase_rows(
    codes_dir: str | os.PathLike, runs: list[tuple[str, int]]
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """The showcase test images' indices and one labelled row per run.

    ``runs`` are (model, code size) pairs; each row holds that run's
    reconstructions of the evaluate step's showcase images, which must be
    the same images for every run.
    """
    indices = None
    rows = []
    for model, latent_size in runs:
        codes = load_codes(Path(codes_dir) / model / f"latent-{latent_size}.npz")
        if indices is None:
            indices = codes["showcase_indices"]
        elif not np.array_equal(indices, codes["showcase_indices"]):
            raise AelabError(
                f"{codes_dir}: the codes of {model} at {latent_size}-D show other "
                "test images than the first row's. Run the evaluate step of "
                "every model again with the same evaluate.n_reconstructions."
            )
        rows.append((f"{model}\n{latent_size}-D", codes["showcase_reconstructions"]))
    return indices, rows


def digit_grid(
    axes: np.ndarray, rows: list[tuple[str, np.ndarray]], fontsize: int = 9
) -> None:
    """Draw each row of 28x28 pictures (values clipped to [0, 1]) on ``axes``,
    an array of shape (len(rows), n_columns), each row labelled on the left."""
    for row, (label, pictures) in enumerate(rows):
        for col, ax in enumerate(axes[row]):
            picture = np.clip(pictures[col], 0, 1).reshape(28, 28)
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[row, 0].set_ylabel(
            label, rotation=0, ha="right", va="center", fontsize=fontsize
        )
