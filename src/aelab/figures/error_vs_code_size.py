"""Squared error per image on the test set against code size, one line per model."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from aelab.data.prepared import load_prepared
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


def mean_image_error(
    train_path: str | os.PathLike, test_path: str | os.PathLike
) -> float:
    """Squared error per test image of the mean training image: a code of size 0.

    Permuting each pixel's values across images leaves both the mean image
    and this error unchanged, so it is the same for the shuffled control.
    """
    train, _ = load_prepared(train_path)
    test, _ = load_prepared(test_path)
    mean = train.mean(axis=0, dtype=np.float64)
    return float(np.square(test - mean).sum(axis=1).mean())


def draw_with_control(
    table_path: str | os.PathLike,
    control_path: str | os.PathLike,
    reference_error: float,
    out_path: str | os.PathLike,
    data_path: str | os.PathLike,
) -> pd.DataFrame:
    """Test error against code size on a data set and its shuffled control.

    One colour per model, solid on the data set, dashed on the control, and
    the mean-image error as a horizontal line: on the control, where pixels
    are uncorrelated, every model should stay close to that line. The
    plotted values go to ``data_path`` as CSV.
    """
    frames = []
    for path in (table_path, control_path):
        table = pd.read_csv(path)
        frames.append(table[table["split"] == "test"])
    both = pd.concat(frames, ignore_index=True)
    plotted = both[["dataset", "model", "latent_size", "squared_error"]]
    plotted = plotted.sort_values(["dataset", "latent_size"], kind="stable")
    with atomic_output(data_path) as tmp:
        plotted.to_csv(tmp, index=False, float_format="%.6f")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = {}
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    datasets = list(dict.fromkeys(plotted["dataset"]))
    for dataset, style in zip(datasets, ("-", "--"), strict=False):
        rows = plotted[plotted["dataset"] == dataset]
        for model, line in rows.groupby("model", sort=False):
            colour = colours.setdefault(model, cycle[len(colours) % len(cycle)])
            ax.plot(
                line["latent_size"],
                line["squared_error"],
                linestyle=style,
                marker="o",
                color=colour,
                label=f"{model} ({DATASET_TITLES.get(dataset, dataset)})",
            )
    ax.axhline(reference_error, color="black", linestyle=":", linewidth=1)
    ax.annotate(
        f"mean image {reference_error:.1f}",
        (plotted["latent_size"].min(), reference_error),
        textcoords="offset points",
        xytext=(0, 4),
        fontsize=7,
    )
    ax.set_xscale("log")
    sizes = sorted(set(plotted["latent_size"]))
    ax.set_xticks(sizes, [str(s) for s in sizes])
    ax.minorticks_off()
    top = max(reference_error, plotted["squared_error"].max())
    ax.set_ylim(bottom=0, top=top * 1.1)
    ax.set_xlabel("code size (latent dimensions)")
    ax.set_ylabel("squared error per image (test)")
    ax.set_title(
        "Compression needs correlated pixels: "
        f"{' (solid) against '.join(DATASET_TITLES.get(d, d) for d in datasets)}"
        " (dashed)",
        fontsize=9,
    )
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1, 0.5))
    save(fig, out_path)
    return plotted
