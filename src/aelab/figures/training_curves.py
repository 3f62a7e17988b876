"""How training went: every autoencoder's per-epoch curves for one data set.

Reads the DVCLive folders that the train step writes (see
:mod:`aelab.training.curves_log`): one column of panels per code size; on
top the squared error per image, test (solid) and training (dashed), below
the training loss that the optimiser minimised. Models without epochs (PCA,
logistic PCA) have no curves and are left out.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from aelab.errors import AelabError
from aelab.figures.common import DATASET_TITLES, plt, save

log = logging.getLogger(__name__)


def read_metric(folder: str | os.PathLike, name: str) -> pd.DataFrame | None:
    """One DVCLive metric's history: columns ``step`` and ``value``.

    ``name`` is DVCLive's metric name, e.g. "test/squared_error". Returns
    None when the folder has no such file (a model without epochs).
    """
    path = Path(folder) / f"{name}.tsv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, sep="\t")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise AelabError(
            f"{path}: not a DVCLive metric table ({err}). Run the train step "
            "again to rewrite it."
        ) from None
    return pd.DataFrame({"step": table["step"], "value": table.iloc[:, -1]})


def draw(
    training_dir: str | os.PathLike,
    models: Sequence[str],
    latent_sizes: Sequence[int],
    out_path: str | os.PathLike,
    dataset: str = "mnist",
) -> int:
    """Draw the curves of ``models`` x ``latent_sizes``; return how many.

    ``training_dir`` holds ``MODEL/latent-K/`` folders. A missing folder is
    an error (the train step has not run); a folder without epochs is not.
    """
    fig, axes = plt.subplots(
        2,
        len(latent_sizes),
        figsize=(4.2 * len(latent_sizes), 6.5),
        squeeze=False,
        sharex="col",
    )
    # Ten distinct colours while they last (the default sweep has eleven
    # MNIST models), then twenty.
    palette = plt.get_cmap("tab10" if len(models) <= 10 else "tab20").colors
    colours = {model: palette[i % len(palette)] for i, model in enumerate(models)}
    drawn = 0
    for column, size in enumerate(latent_sizes):
        error_ax, loss_ax = axes[0, column], axes[1, column]
        for model in models:
            folder = Path(training_dir) / model / f"latent-{size}"
            if not folder.is_dir():
                raise AelabError(
                    f"{folder}: no training curves. Run the train step for "
                    f"{model} at code size {size} first."
                )
            test = read_metric(folder, "test/squared_error")
            train = read_metric(folder, "train/squared_error")
            loss = read_metric(folder, "train/loss")
            if test is None and loss is None:
                continue  # no epochs: PCA or logistic PCA
            colour = colours[model]
            if test is not None:
                error_ax.plot(test["step"], test["value"], color=colour, label=model)
            if train is not None:
                error_ax.plot(
                    train["step"], train["value"], color=colour, linestyle="--"
                )
            if loss is not None:
                loss_ax.plot(loss["step"], loss["value"], color=colour, label=model)
            drawn += 1
        error_ax.set_title(f"code size {size}", fontsize=10)
        loss_ax.set_xlabel("fine-tuning epoch (0: before, when pretrained)")
        for ax in (error_ax, loss_ax):
            ax.grid(True, alpha=0.3)
        loss_ax.set_yscale("log")
    axes[0, 0].set_ylabel("squared error per image\n(solid: test, dashed: training)")
    axes[1, 0].set_ylabel("training loss per image (log scale)")
    if drawn:
        axes[0, -1].legend(fontsize=8)
    else:
        axes[0, 0].text(
            0.5,
            0.5,
            "no model with epochs in this sweep",
            ha="center",
            va="center",
            transform=axes[0, 0].transAxes,
        )
    fig.suptitle(
        f"{DATASET_TITLES.get(dataset, dataset)}: training curves of every autoencoder",
        fontsize=11,
    )
    save(fig, out_path)
    log.info("%d training curves drawn", drawn)
    return drawn
