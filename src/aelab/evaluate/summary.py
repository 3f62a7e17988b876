"""The paper's figures beside ours: results/summary.md and results/summary.csv."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from aelab.errors import AelabError
from aelab.fileio import atomic_output
from aelab.paper import METHOD_NAMES, TEST_ERRORS

log = logging.getLogger(__name__)

COLUMNS = [
    "dataset",
    "method",
    "latent_size",
    "paper",
    "ours",
    "model",
    "profile",
    "train_seconds",
]


def read_tables(paths: Sequence[str | os.PathLike]) -> pd.DataFrame:
    """Concatenate the collect step's tables."""
    frames = []
    for path in paths:
        try:
            frames.append(pd.read_csv(path))
        except FileNotFoundError:
            raise AelabError(
                f"{path}: metrics table not found. Run the collect step first."
            ) from None
    return pd.concat(frames, ignore_index=True)


def compare(params: dict[str, Any], table: pd.DataFrame) -> pd.DataFrame:
    """One row per published figure, with ours where the sweep has it.

    ``ours`` is empty (NaN) where the model or code size was not run.
    """
    test = table[table["split"] == "test"]
    profile = params["summary"]["profile"]
    rows = []
    for result in TEST_ERRORS:
        model = params["summary"].get(result.dataset, {}).get(result.method)
        match = test[
            (test["dataset"] == result.dataset)
            & (test["model"] == model)
            & (test["latent_size"] == result.latent_size)
        ]
        rows.append(
            {
                "dataset": result.dataset,
                "method": result.method,
                "latent_size": result.latent_size,
                "paper": result.squared_error,
                "ours": match["squared_error"].iloc[0] if len(match) else None,
                "model": model,
                "profile": profile,
                "train_seconds": match["train_seconds"].iloc[0] if len(match) else None,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def read_recorded(path: str | os.PathLike) -> pd.DataFrame:
    """Results of earlier runs kept in the repository, in ``COLUMNS`` order.

    Used for runs too long for the job that writes the summary, such as the
    paper-scale MNIST autoencoder trained on a CPU; the file also names the
    device and the date of each run.
    """
    try:
        recorded = pd.read_csv(path)
    except FileNotFoundError:
        raise AelabError(
            f"{path}: file of recorded runs not found. Restore it from git or "
            "leave out --recorded."
        ) from None
    missing = [c for c in [*COLUMNS, "device", "date"] if c not in recorded]
    if missing:
        raise AelabError(
            f"{path}: columns {', '.join(missing)} are missing. The file needs "
            f"{', '.join([*COLUMNS, 'device', 'date'])}."
        )
    return recorded


def to_markdown(
    comparison: pd.DataFrame,
    table: pd.DataFrame,
    recorded: pd.DataFrame | None = None,
) -> str:
    """The comparison, runs on record, then every model's test error."""
    lines = [
        "# The paper's figures beside ours",
        "",
        "Squared error per test image: the sum over the 784 pixels (in [0, 1])",
        "of the squared difference between an image and its reconstruction,",
        "averaged over the test images. Paper: Hinton and Salakhutdinov,",
        "Science 313 (2006).",
        "",
        "| data set | method | code size | paper | ours | our model | profile |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for row in comparison.itertuples():
        ours = "not run" if pd.isna(row.ours) else f"{row.ours:.2f}"
        lines.append(
            f"| {row.dataset} | {METHOD_NAMES[row.method]} | {row.latent_size} | "
            f"{row.paper:.2f} | {ours} | {row.model} | {row.profile} |"
        )
    if recorded is not None and len(recorded):
        lines += [
            "",
            "## Runs on record",
            "",
            "Longer runs made earlier with this code and kept in",
            "`workflow/recorded/runs.csv`; this job does not rerun them.",
            "",
            "| data set | method | code size | paper | ours | our model | profile "
            "| device | training time | date |",
            "| --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: | --- |",
        ]
        for row in recorded.itertuples():
            lines.append(
                f"| {row.dataset} | {METHOD_NAMES[row.method]} | {row.latent_size} "
                f"| {row.paper:.2f} | {row.ours:.2f} | {row.model} | {row.profile} "
                f"| {row.device} | {row.train_seconds / 60:.0f} min | {row.date} |"
            )
    test = table[table["split"] == "test"]
    lines += _subspace_lines(test)
    for dataset, rows in test.groupby("dataset", sort=False):
        pivot = rows.pivot_table(
            index="model", columns="latent_size", values="squared_error", sort=False
        )
        sizes = list(pivot.columns)
        lines += [
            "",
            f"## Every model on {dataset}: test squared error per image",
            "",
            "| model | " + " | ".join(f"{s}-D" for s in sizes) + " |",
            "| --- |" + " ---: |" * len(sizes),
        ]
        for model, values in pivot.iterrows():
            cells = " | ".join("" if pd.isna(v) else f"{v:.2f}" for v in values)
            lines.append(f"| {model} | {cells} |")
    return "\n".join(lines) + "\n"


def _subspace_lines(test: pd.DataFrame) -> list[str]:
    """Linear autoencoders against PCA: their largest principal angle and error."""
    angle = "largest_principal_angle_degrees"
    if angle not in test or test[angle].isna().all():
        return []
    lines = [
        "",
        "## Linear autoencoders against PCA",
        "",
        "The largest principal angle between the decoder's column space and the",
        "top-k principal components of the training images (0 degrees when",
        "training has converged to the PCA subspace), and the test errors.",
        "",
        "| data set | model | code size | largest angle (degrees) | ours | PCA |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    pca = test[test["model"] == "pca"].set_index(["dataset", "latent_size"])
    for row in test[test[angle].notna()].itertuples():
        key = (row.dataset, row.latent_size)
        pca_error = (
            f"{pca.loc[key, 'squared_error']:.2f}" if key in pca.index else "not run"
        )
        lines.append(
            f"| {row.dataset} | {row.model} | {row.latent_size} | "
            f"{getattr(row, angle):.2f} | {row.squared_error:.2f} | {pca_error} |"
        )
    return lines


def summarise(
    params: dict[str, Any],
    table_paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    recorded_path: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Write ``out``.md and ``out``.csv; return the comparison.

    With ``recorded_path``, the runs on record join the CSV (their profile
    says which run made them) and get a table of their own in the Markdown.
    """
    table = read_tables(table_paths)
    comparison = compare(params, table)
    recorded = read_recorded(recorded_path) if recorded_path else None
    out = Path(out)
    rows = comparison
    if recorded is not None:
        rows = pd.concat([comparison, recorded[COLUMNS]], ignore_index=True)
    with atomic_output(out.with_name(out.name + ".csv")) as tmp:
        rows.to_csv(tmp, index=False, float_format="%.4f")
    with atomic_output(out.with_name(out.name + ".md")) as tmp:
        Path(tmp).write_text(to_markdown(comparison, table, recorded))
    for row in comparison.itertuples():
        ours = "not run" if pd.isna(row.ours) else f"{row.ours:.2f}"
        log.info(
            "%s %s %d-D: paper %.2f, ours %s (%s)",
            row.dataset,
            METHOD_NAMES[row.method],
            row.latent_size,
            row.paper,
            ours,
            row.profile,
        )
    log.info("wrote %s.md and %s.csv", out, out)
    return comparison
