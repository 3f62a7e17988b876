"""Gathering every job's metrics into one tidy table."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from aelab.errors import AelabError
from aelab.fileio import atomic_output, write_json

log = logging.getLogger(__name__)

COLUMNS = [
    "dataset",
    "model",
    "latent_size",
    "split",
    "squared_error",
    "train_seconds",
    "seed",
    "largest_principal_angle_degrees",
]


def metrics_path(metrics_dir: str | os.PathLike, model: str, latent_size: int) -> Path:
    """Where the evaluate step writes one job's metrics."""
    return Path(metrics_dir) / model / f"latent-{latent_size}.json"


def collect(
    params: dict[str, Any],
    dataset: str,
    metrics_dir: str | os.PathLike,
    table_path: str | os.PathLike,
    summary_path: str | os.PathLike,
) -> pd.DataFrame:
    """Write the table of every metric (CSV) and a nested summary (JSON).

    Reads one JSON file per (model, latent size) in ``dataset``'s sweep, so
    files left by an earlier, larger sweep are not picked up.

    Returns
    -------
    DataFrame
        One row per model, latent size and split, columns ``COLUMNS``.
    """
    rows = []
    summary: dict[str, dict[str, Any]] = {}
    sweep = params["sweep"][dataset]
    for model in sweep["models"]:
        for size in sweep["latent_sizes"]:
            path = metrics_path(metrics_dir, model, size)
            try:
                job = json.loads(path.read_text())
            except FileNotFoundError:
                raise AelabError(
                    f"{path}: metrics missing for model '{model}' at latent size "
                    f"{size}. Run the evaluate step for it first."
                ) from None
            for split, error in sorted(job["squared_error"].items()):
                rows.append(
                    {
                        "dataset": job["dataset"],
                        "model": model,
                        "latent_size": size,
                        "split": split,
                        "squared_error": error,
                        "train_seconds": job["train_seconds"],
                        "seed": job["seed"],
                        # Linear autoencoders only; empty for other models.
                        "largest_principal_angle_degrees": job.get(
                            "largest_principal_angle_degrees"
                        ),
                    }
                )
            summary.setdefault(model, {})[f"latent_{size}"] = {
                "test_squared_error": job["squared_error"]["test"],
                "train_squared_error": job["squared_error"]["train"],
                "train_seconds": job["train_seconds"],
            }
            if "largest_principal_angle_degrees" in job:
                summary[model][f"latent_{size}"]["largest_principal_angle_degrees"] = (
                    job["largest_principal_angle_degrees"]
                )

    table = pd.DataFrame(rows, columns=COLUMNS)
    with atomic_output(table_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    write_json(summary_path, summary)
    test = table[table["split"] == "test"].pivot(
        index="model", columns="latent_size", values="squared_error"
    )
    log.info("test squared error per image:\n%s", test.round(2).to_string())
    log.info("wrote %s and %s", table_path, summary_path)
    return table
