"""One evaluation job: squared errors, test codes and showcase reconstructions."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from aelab.data.prepared import load_images
from aelab.evaluate import subspace
from aelab.evaluate.reconstruction import (
    encode_and_reconstruct,
    showcase_indices,
    squared_error_per_image,
)
from aelab.fileio import write_json, write_npz
from aelab.models import store

log = logging.getLogger(__name__)


def evaluate_model(
    model_path: str | os.PathLike,
    train_path: str | os.PathLike | None,
    test_path: str | os.PathLike | None,
    metrics_path: str | os.PathLike,
    codes_path: str | os.PathLike,
    n_reconstructions: int,
) -> dict[str, Any]:
    """Measure one trained model and write its metrics (JSON) and codes (npz).

    ``train_path`` and ``test_path`` default (None) to the prepared splits of
    the data set the model was trained on.

    The metrics hold the squared error per image on the training and test
    images. The codes file holds the test codes (n_test, latent_size), the
    test labels, and the reconstructions of ``n_reconstructions`` showcase
    test images with their indices.
    """
    model, record = store.load(model_path)
    prepared = Path("data") / record["dataset"] / "prepared"
    train_path = train_path or prepared / "train.npz"
    test_path = test_path or prepared / "test.npz"
    errors = {}
    angle = None
    linear = record["kind"] == "autoencoder" and subspace.is_linear(record["settings"])
    for split, path in (("train", train_path), ("test", test_path)):
        images, labels = load_images(path)
        codes, recons = encode_and_reconstruct(model, images)
        errors[split] = squared_error_per_image(images, recons)
        if split == "train" and linear:
            angle = subspace.largest_principal_angle(model, images)
    # After the loop, images/labels/codes/recons are the test split's.
    shown = showcase_indices(labels, n_reconstructions)

    metrics = {
        "dataset": record["dataset"],
        "model": record["model"],
        "latent_size": record["latent_size"],
        "seed": record["seed"],
        "device": record["device"],
        "n_train": record["n_train"],
        "n_test": len(images),
        "train_seconds": record["train_seconds"],
        "epochs": len(record["history"]),
        "squared_error": errors,
    }
    if angle is not None:
        # Between the decoder's column space and the top-k principal
        # components of the training images (0 at the optimum).
        metrics["largest_principal_angle_degrees"] = angle
        log.info("largest principal angle to the PCA subspace: %.3f degrees", angle)
    write_json(metrics_path, metrics)
    write_npz(
        codes_path,
        codes=codes.astype(np.float32),
        labels=labels,
        showcase_indices=shown,
        showcase_reconstructions=recons[shown].astype(np.float32),
    )
    log.info(
        "%s %s latent %d: squared error per image, test %.2f, train %.2f",
        record["dataset"],
        record["model"],
        record["latent_size"],
        errors["test"],
        errors["train"],
    )
    return metrics
