"""Document retrieval: how often the stories nearest a query share its class.

Every test story with a class is a query; the others with a class are the
collection it searches. They are ranked by the cosine between their codes
and the query's, and for each number retrieved the fraction of the
retrieved stories in the query's class is averaged over all queries (the
paper's measure for its documents). Stories without a class (none, or more
than one, of the commonest topics) take part in neither role.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from aelab.data import reuters
from aelab.errors import AelabError
from aelab.fileio import atomic_output, write_json, write_npz
from aelab.models import store

log = logging.getLogger(__name__)

COLUMNS = ["dataset", "model", "latent_size", "retrieved", "fraction_same_class"]


def fraction_same_class(
    codes: np.ndarray,
    labels: np.ndarray,
    retrieved: Sequence[int],
    chunk: int = 1024,
) -> np.ndarray:
    """Mean fraction of the ``k`` nearest documents in the query's class.

    Parameters
    ----------
    codes : ndarray of shape (n, latent_size)
        One code per document; each document queries all the others.
    labels : ndarray of shape (n,)
        The documents' classes.
    retrieved : sequence of int
        Numbers of documents retrieved, each at most n - 1.
    chunk : int
        Queries ranked at a time (memory: chunk * n floats).

    Returns
    -------
    ndarray of shape (len(retrieved),)
        For each k, the fraction of the k documents with the highest cosine
        to the query that share its class, averaged over the queries. Ties
        in cosine go to the document that comes first.
    """
    n = len(codes)
    largest = max(retrieved)
    if largest > n - 1:
        raise AelabError(
            f"cannot retrieve {largest} documents per query from {n - 1} "
            "others. Use smaller numbers in reuters.retrieved."
        )
    codes = np.asarray(codes, dtype=np.float64)
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    # A zero code (a story with no vocabulary word) has cosine 0 to all.
    unit = codes / np.where(norms > 0, norms, 1.0)
    hits = np.zeros(largest)  # hits[j]: summed same-class count at rank j
    for first in range(0, n, chunk):
        rows = np.arange(first, min(first + chunk, n))
        cosine = unit[rows] @ unit.T  # (chunk, n)
        cosine[np.arange(len(rows)), rows] = -np.inf  # never retrieve oneself
        # A stable sort of the negated cosines breaks ties by index.
        order = np.argsort(-cosine, axis=1, kind="stable")[:, :largest]
        hits += (labels[order] == labels[rows, None]).sum(axis=0)
    cumulative = np.cumsum(hits)
    ks = np.asarray(retrieved)
    return cumulative[ks - 1] / (ks * n)


def evaluate_retrieval(
    model_path: str | os.PathLike,
    test_path: str | os.PathLike,
    metrics_path: str | os.PathLike,
    codes_path: str | os.PathLike,
    retrieved: Sequence[int],
) -> dict[str, Any]:
    """Encode the test stories, measure retrieval, write metrics and codes.

    The codes file holds every test story's code, class (-1: none), NEWID
    and the class names, for the figures.
    """
    model, record = store.load(model_path)
    documents = reuters.load_documents(test_path)
    inputs = reuters.model_inputs(documents.counts, record["kind"])
    if record["kind"] == "lsa":
        inputs = inputs.toarray()
    with torch.no_grad():
        codes = model.encode(torch.from_numpy(inputs)).double().numpy()

    has_class = documents.labels != reuters.NO_CLASS
    fractions = fraction_same_class(
        codes[has_class], documents.labels[has_class], retrieved
    )
    metrics = {
        "dataset": record["dataset"],
        "model": record["model"],
        "latent_size": record["latent_size"],
        "seed": record["seed"],
        "n_train": record["n_train"],
        "n_queries": int(has_class.sum()),
        "train_seconds": record["train_seconds"],
        "epochs": len(record["history"]),
        "fraction_same_class": {
            str(k): float(f) for k, f in zip(retrieved, fractions, strict=True)
        },
    }
    write_json(metrics_path, metrics)
    write_npz(
        codes_path,
        codes=codes.astype(np.float32),
        labels=documents.labels,
        newid=documents.newid,
        class_names=documents.class_names,
    )
    log.info(
        "reuters %s latent %d: %d queries; fraction in the query's class at %s",
        record["model"],
        record["latent_size"],
        metrics["n_queries"],
        ", ".join(f"{k}: {f:.3f}" for k, f in zip(retrieved, fractions, strict=True)),
    )
    return metrics


def collect_retrieval(
    runs: Sequence[dict[str, Any]],
    metrics_dir: str | os.PathLike,
    table_path: str | os.PathLike,
    summary_path: str | os.PathLike,
) -> pd.DataFrame:
    """One table of every run's retrieval (CSV), and a nested summary (JSON)."""
    rows, summary = [], {}
    for run in runs:
        model, size = run["model"], run["latent_size"]
        path = Path(metrics_dir) / model / f"latent-{size}.json"
        try:
            job = json.loads(path.read_text())
        except FileNotFoundError:
            raise AelabError(
                f"{path}: retrieval metrics missing for model '{model}' at "
                f"latent size {size}. Run the evaluate step for it first."
            ) from None
        # JSON keys are strings: order the rows by the number retrieved.
        by_number = sorted(job["fraction_same_class"].items(), key=lambda i: int(i[0]))
        for k, fraction in by_number:
            rows.append(
                {
                    "dataset": job["dataset"],
                    "model": model,
                    "latent_size": size,
                    "retrieved": int(k),
                    "fraction_same_class": fraction,
                }
            )
        summary.setdefault(model, {})[f"latent_{size}"] = {
            "fraction_same_class": job["fraction_same_class"],
            "train_seconds": job["train_seconds"],
        }
    table = pd.DataFrame(rows, columns=COLUMNS)
    with atomic_output(table_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6f")
    write_json(summary_path, summary)
    wide = table.pivot_table(
        index=["model", "latent_size"],
        columns="retrieved",
        values="fraction_same_class",
    )
    log.info("fraction retrieved in the query's class:\n%s", wide.round(3))
    return table
