"""One training job: one model at one latent size, from prepared data to a file."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import torch

from aelab.config import model_settings
from aelab.data.mnist import load_prepared
from aelab.errors import AelabError
from aelab.models import autoencoder, pca, store
from aelab.training import loop

log = logging.getLogger(__name__)


def train_model(
    params: dict[str, Any],
    model_name: str,
    latent_size: int,
    train_path: str | os.PathLike,
    out_path: str | os.PathLike,
    dataset: str = "mnist",
) -> dict[str, Any]:
    """Fit one model on the prepared training images and save it.

    Returns the record saved beside the weights: the model's settings, the
    seed, the device, the training time and the per-epoch history.
    """
    settings = model_settings(params, model_name)
    seed = params["compute"]["seed"]
    images, _ = load_prepared(train_path)
    n_images, input_size = images.shape
    if latent_size > min(input_size, n_images):
        raise AelabError(
            f"latent size {latent_size} for model '{model_name}' exceeds what "
            f"{train_path} allows ({n_images} images of {input_size} pixels). "
            "Use a smaller size in sweep.latent_sizes."
        )
    torch.manual_seed(seed)
    device = loop.pick_device(params["compute"]["device"])
    log.info(
        "%s latent %d: %d training images, device %s, %d CPU threads",
        model_name,
        latent_size,
        n_images,
        device,
        torch.get_num_threads(),
    )

    start = time.perf_counter()
    history: list[dict[str, float]] = []
    if settings["kind"] == "pca":
        model = pca.fit(images, latent_size, seed=seed)
    else:
        model = autoencoder.build(settings, input_size, latent_size).to(device)
        data = torch.from_numpy(images).to(device)  # (n, 784), resident
        history = loop.train(
            model, data, settings, seed, name=f"{model_name} latent {latent_size}"
        )
    seconds = time.perf_counter() - start

    record = {
        "dataset": dataset,
        "model": model_name,
        "kind": settings["kind"],
        "settings": settings,
        "latent_size": latent_size,
        "input_size": input_size,
        "seed": seed,
        "device": str(device),
        "n_train": n_images,
        "train_seconds": seconds,
        "history": history,
        "params": params,
    }
    store.save(out_path, model, record)
    log.info(
        "%s: %s latent %d trained in %.1f s", out_path, model_name, latent_size, seconds
    )
    return record
