"""Document retrieval: fraction in the query's class against number retrieved."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from aelab.errors import AelabError
from aelab.figures.common import plt, save


def draw(
    table_path: str | os.PathLike,
    runs: Sequence[tuple[str, int]],
    out_path: str | os.PathLike,
) -> pd.DataFrame:
    """One line per (model, latent size) of ``runs``, on a log axis of k.

    Returns the plotted rows of the retrieval table.
    """
    try:
        table = pd.read_csv(table_path)
    except FileNotFoundError:
        raise AelabError(
            f"{table_path}: retrieval table not found. Run collect-retrieval first."
        ) from None
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    plotted = []
    for model, size in runs:
        rows = table[(table["model"] == model) & (table["latent_size"] == size)]
        if rows.empty:
            raise AelabError(
                f"{table_path}: no retrieval results for model '{model}' at "
                f"latent size {size}. Add the run to reuters.runs, or remove it "
                "from reuters.figures.retrieval."
            )
        rows = rows.sort_values("retrieved")
        ax.plot(
            rows["retrieved"],
            rows["fraction_same_class"],
            marker="o",
            markersize=4,
            label=f"{model} {size}-D",
        )
        plotted.append(rows)
    ks = sorted(table["retrieved"].unique())
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_ylim(0, 1)
    ax.set_xlabel("documents retrieved")
    ax.set_ylabel("fraction in the query's class (test stories)")
    ax.set_title("Reuters-21578: retrieval by the cosine of codes", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, out_path)
    return pd.concat(plotted, ignore_index=True)
