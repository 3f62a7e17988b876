"""Squared error per image on the test set against code size, one line per model."""

from __future__ import annotations

import os

import pandas as pd

from aelab.figures.common import DATASET_TITLES, plt, save
from aelab.fileio import atomic_output
from aelab.paper import METHOD_NAMES, published


def draw(
    table_path: str | os.PathLike,
    out_path: str | os.PathLike,
    data_path: str | os.PathLike,
) -> pd.DataFrame:
    """Plot the collected table's test errors; write the plotted data as CSV.

    The paper's figures for the table's data set (for MNIST at 30-D: PCA
    13.87, logistic PCA 8.01, pretrained deep autoencoder 3.00) are drawn as
    reference marks.
    """
    table = pd.read_csv(table_path)
    dataset = str(table["dataset"].iloc[0]) if len(table) else ""
    marks = published(dataset)
    # Stable sort: models keep the sweep's order (the table's), for the legend.
    test = table[table["split"] == "test"].sort_values("latent_size", kind="stable")
    plotted = test[["model", "latent_size", "squared_error"]]
    with atomic_output(data_path) as tmp:
        plotted.to_csv(tmp, index=False, float_format="%.6f")

    fig, ax = plt.subplots(figsize=(6, 4))
    for model, rows in plotted.groupby("model", sort=False):
        ax.plot(rows["latent_size"], rows["squared_error"], marker="o", label=model)
    for mark in marks:
        size, error = mark.latent_size, mark.squared_error
        ax.plot(size, error, marker="*", color="black", markersize=10, linestyle="")
        ax.annotate(
            f"paper: {METHOD_NAMES[mark.method]} {error:.2f}",
            (size, error),
            textcoords="offset points",
            xytext=(8, 0),
            ha="left",
            va="center",
            fontsize=7,
        )
    ax.set_xscale("log")
    sizes = sorted(set(plotted["latent_size"]) | {m.latent_size for m in marks})
    ax.set_xticks(sizes, [str(s) for s in sizes])
    # Room on the right for the paper's labels.
    ax.set_xlim(sizes[0] / 1.25, sizes[-1] * 3.5)
    ax.minorticks_off()  # the swept sizes are the only ticks worth reading
    ax.set_ylim(bottom=0)
    ax.set_xlabel("code size (latent dimensions)")
    ax.set_ylabel("squared error per image (test)")
    ax.set_title(
        f"{DATASET_TITLES.get(dataset, dataset)}: reconstruction error against "
        "code size (stars: the paper)",
        fontsize=10,
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, out_path)
    return plotted
