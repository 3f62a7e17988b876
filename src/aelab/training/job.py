"""One training job: one model at one latent size, from prepared data to a file."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import torch

from aelab.config import model_settings
from aelab.data import reuters
from aelab.data.prepared import load_images
from aelab.errors import AelabError
from aelab.models import autoencoder, logistic_pca, lsa, pca, rbm, store
from aelab.training import curves_log, loop

log = logging.getLogger(__name__)


def train_model(
    params: dict[str, Any],
    model_name: str,
    latent_size: int,
    train_path: str | os.PathLike,
    out_path: str | os.PathLike,
    dataset: str = "mnist",
    test_path: str | os.PathLike | None = None,
    curves_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Fit one model on the prepared training images and save it.

    When ``test_path`` is given, an autoencoder's squared error per test
    image is measured after every ``evaluate.monitor_every`` epochs (and
    after pretraining), for the training curves only: nothing is selected
    by it; so is the squared error of as many training images. With
    ``curves_dir``, every epoch's numbers are also logged there with DVCLive
    (see :mod:`aelab.training.curves_log`).

    Returns the record saved beside the weights: the model's settings, the
    seed, the device, the training time, the per-epoch history and, for a
    pretrained model, the pretraining history.
    """
    settings = model_settings(params, model_name)
    seed = params["compute"]["seed"]
    if dataset == "reuters":
        # Documents: word counts for LSA, word probabilities for the rest.
        counts = reuters.load_documents(train_path).counts
        images = reuters.model_inputs(counts, settings["kind"])
        document_length = float(counts.sum() / counts.shape[0])
        test_path = None  # the test monitor measures images' squared error
    else:
        images, _ = load_images(train_path)
        document_length = 1.0
    n_images, input_size = images.shape
    # PCA-like methods find at most as many directions as there are images.
    bound = (
        input_size if settings["kind"] == "autoencoder" else min(input_size, n_images)
    )
    if latent_size > bound:
        sizes_key = (
            "reuters.runs" if dataset == "reuters" else f"sweep.{dataset}.latent_sizes"
        )
        raise AelabError(
            f"latent size {latent_size} for model '{model_name}' exceeds what "
            f"{train_path} allows ({n_images} images of {input_size} pixels). "
            f"Use a smaller size in {sizes_key}."
        )
    torch.manual_seed(seed)
    device = loop.pick_device(params["compute"]["device"])
    if device.type == "cuda" and device.index is None:
        # Name the device that a device slot made current, for the record.
        device = torch.device("cuda", torch.cuda.current_device())
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
    pretraining: dict[str, Any] | None = None
    label = f"{model_name} latent {latent_size}"
    with curves_log.training_curves(curves_dir, label, _epochs(settings)) as curves:
        if settings["kind"] == "pca":
            model = pca.fit(images, latent_size, seed=seed)
        elif settings["kind"] == "lsa":
            model = lsa.fit(images, latent_size, seed=seed)
        elif settings["kind"] == "logistic_pca":
            model, history = logistic_pca.fit(
                images, latent_size, settings, seed, device
            )
        else:
            model = autoencoder.build(settings, input_size, latent_size).to(device)
            data = torch.from_numpy(images).to(device)  # (n, 784), resident
            monitor = None
            if test_path is not None:
                every = params["evaluate"]["monitor_every"]
                test_images = load_images(test_path)[0]
                monitor = curves_log.with_train_error(
                    loop.squared_error_monitor(test_images, every),
                    data,
                    len(test_images),
                )
            if settings["pretraining"]:
                pretraining = _pretrain(
                    model, data, settings, seed, label, monitor, curves, document_length
                )
                curves.before_fine_tuning(pretraining["before_fine_tuning"])
            history = loop.train(
                model,
                data,
                settings,
                seed,
                name=label,
                monitor=monitor,
                on_epoch=curves.fine_tuning_epoch,
            )
        # The model is written before the curves folder is moved into place
        # (when the with-block ends), so a job killed while writing it leaves
        # neither output and Snakemake has nothing incomplete to complain of.
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
            "pretraining": pretraining,
            "params": params,
        }
        store.save(out_path, model, record)
    log.info(
        "%s: %s latent %d trained in %.1f s", out_path, model_name, latent_size, seconds
    )
    return record


def _pretrain(
    model: autoencoder.Autoencoder,
    data: torch.Tensor,
    settings: dict[str, Any],
    seed: int,
    label: str,
    monitor: loop.Monitor | None,
    curves: curves_log.TrainingCurves,
    document_length: float = 1.0,
) -> dict[str, Any]:
    """Pretrain ``model``'s layers as a stack of RBMs and unroll them into it.

    ``document_length`` is the mean length of the training documents, used
    by constrained Poisson visible units only.
    """
    sizes = [data.shape[1], *settings["hidden_sizes"], model.latent_size]
    top_units = "linear" if settings["code_activation"] == "linear" else "binary"
    start = time.perf_counter()
    visible_units = settings["pretraining"].get("visible_units", "logistic")
    stack, histories = rbm.pretrain_stack(
        data,
        sizes,
        settings["pretraining"],
        top_units,
        seed,
        name=label,
        bottom_visible_units=visible_units,
        document_length=document_length,
        on_epoch=curves.pretraining_epoch,
    )
    rbm.unroll(stack, model)
    seconds = time.perf_counter() - start

    # How good the unrolled network is before any fine-tuning.
    model.eval()
    with torch.no_grad():
        unrolled = {"train_squared_error": loop.squared_error(model, data)}
        if monitor is not None:
            unrolled.update(monitor(model, force=True))
    log.info(
        "%s: pretrained %s in %.1f s; unrolled network before fine-tuning: %s",
        label,
        "-".join(map(str, sizes)),
        seconds,
        ", ".join(f"{k} {v:.3f}" for k, v in unrolled.items()),
    )
    return {
        "layer_sizes": sizes,
        "bottom_visible_units": visible_units,
        "document_length": document_length,
        "top_hidden_units": top_units,
        "seconds": seconds,
        "before_fine_tuning": unrolled,
        "history": histories,
    }


def _epochs(settings: dict[str, Any]) -> int:
    """Every epoch the job will run, RBM pretraining included (for the bar)."""
    if settings["kind"] != "autoencoder":
        return 0
    epochs = settings["epochs"]
    if settings["pretraining"]:
        n_rbms = len(settings["hidden_sizes"]) + 1
        epochs += n_rbms * settings["pretraining"]["epochs"]
    return epochs
