"""What every figure shares: a headless backend and atomic saving."""

from __future__ import annotations

import logging
import os

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
