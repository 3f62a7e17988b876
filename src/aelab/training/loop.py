"""The training loop shared by every autoencoder.

The training images live on the device as one tensor; each epoch draws a
random permutation there and slices mini-batches from it, so no DataLoader
and no host-device copies run per batch. The loss is summed on the device
and read back once per epoch; each batch's loss is kept there too, to be
searched only when the sum is not finite (see :mod:`aelab.training.divergence`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from aelab.errors import AelabError
from aelab.models.autoencoder import Autoencoder
from aelab.training.divergence import finite_epoch_mean

log = logging.getLogger(__name__)

Monitor = Callable[..., dict[str, float]]


def pick_device(name: str) -> torch.device:
    """The torch device for a ``compute.device`` value ("auto" prefers CUDA)."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AelabError(
            f"compute.device is '{name}' but torch sees no CUDA device. "
            "Set compute.device to auto or cpu in params.yaml."
        )
    return torch.device(name)


def make_optimizer(
    model: torch.nn.Module, settings: dict[str, Any], fused: bool = True
) -> torch.optim.Optimizer:
    """The optimizer a model's settings name, as one fused kernel per step.

    PyTorch's default Adam updates each parameter tensor with a chain of
    element-wise operations; the fused version does the same arithmetic in
    one pass over memory. For the deep MNIST autoencoder at batch 100 on a
    2-core CPU that cuts the step from about 7 ms to about 1 ms, a third of
    the time per batch (see benchmarks/). The results agree with the
    unfused optimizer to float rounding (tests/test_speed.py).
    """
    parameters = list(model.parameters())
    device = parameters[0].device.type
    fused = fused and device in ("cpu", "cuda")
    if settings["optimizer"] == "sgd":
        return torch.optim.SGD(
            parameters, lr=settings["learning_rate"], momentum=0.9, fused=fused
        )
    return torch.optim.Adam(parameters, lr=settings["learning_rate"], fused=fused)


def train(
    model: Autoencoder,
    images: torch.Tensor,
    settings: dict[str, Any],
    seed: int,
    name: str = "autoencoder",
    monitor: Monitor | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> list[dict[str, float]]:
    """Train ``model`` in place on ``images`` of shape (n, n_pixels).

    Parameters
    ----------
    model : Autoencoder
        Already on the same device as ``images``.
    images : Tensor of shape (n, n_pixels)
        The whole training set, resident on the device.
    settings : dict
        The model's entry in params.yaml (loss, optimizer, learning_rate,
        batch_size, epochs).
    seed : int
        Seeds the batch order.
    name : str
        Used in log lines and error messages.
    monitor : callable, optional
        Called as ``monitor(model, epoch=epoch)`` (model in evaluation mode,
        no gradients) after each epoch; the numbers it returns join that
        epoch's record and log line.
    on_epoch : callable, optional
        Called with each epoch's record once it is complete (to log curves
        or move a progress bar).

    Returns
    -------
    list of dict
        One record per epoch: epoch, loss (mean per image), seconds.

    Raises
    ------
    AelabError
        If the loss or a weight becomes NaN or infinite; no model should be
        saved then. The check runs once per epoch, so training stops at the
        end of the epoch in which this happened; the message names the model,
        the epoch and the first batch whose loss was not finite.
    """
    optimizer = make_optimizer(model, settings)
    generator = torch.Generator(device=images.device).manual_seed(seed)
    n_images, batch_size = len(images), settings["batch_size"]
    n_batches = math.ceil(n_images / batch_size)
    history = []

    for epoch in range(1, settings["epochs"] + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(n_images, device=images.device, generator=generator)
        loss_sum = torch.zeros((), device=images.device)
        batch_losses = torch.empty(n_batches, device=images.device)

        for index, first in enumerate(range(0, n_images, batch_size)):
            batch = images[order[first : first + batch_size]]  # (b, n_pixels)
            loss = model.loss(batch, settings["loss"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            batch_losses[index] = loss.detach()
            loss_sum += loss.detach() * len(batch)

        # One host sync per epoch: the summed loss and whether the weights
        # are all finite.
        mean_loss = finite_epoch_mean(
            loss_sum,
            batch_losses,
            list(model.parameters()),
            n_images,
            name=name,
            what="training loss",
            epoch=epoch,
            stopped="Training stopped at the end of that epoch and no model was "
            "written. Lower models.<name>.learning_rate in params.yaml and run "
            "again.",
        )
        seconds = time.perf_counter() - start
        watched: dict[str, float] = {}
        if monitor is not None:
            model.eval()
            with torch.no_grad():
                watched = monitor(model, epoch=epoch)
        history.append(
            {"epoch": epoch, "loss": mean_loss, "seconds": seconds, **watched}
        )
        if on_epoch is not None:
            on_epoch(history[-1])
        extra = "".join(f"  {k} {v:.3f}" for k, v in watched.items())
        log.info(
            "%s: epoch %d/%d  loss %.3f%s  %.1f s  %.0f images/s",
            name,
            epoch,
            settings["epochs"],
            mean_loss,
            extra,
            seconds,
            n_images / seconds,
        )
    return history


def squared_error(model: Autoencoder, images: torch.Tensor, chunk: int = 5000) -> float:
    """Squared error per image of ``model``'s reconstructions of ``images``.

    Summed over pixels, averaged over images, accumulated in float64.
    """
    total = torch.zeros((), dtype=torch.float64, device=images.device)
    with torch.no_grad():
        for first in range(0, len(images), chunk):
            batch = images[first : first + chunk]
            error = (model(batch) - batch).square().sum(dim=1)
            total += error.double().sum()
    return total.item() / len(images)


def squared_error_monitor(test_images: np.ndarray, every: int) -> Monitor:
    """A monitor that measures the test squared error every ``every`` epochs.

    The test images move to the model's device on first use and stay there.
    ``every`` = 0 measures only when called with ``force=True``.
    """
    cache: dict[str, torch.Tensor] = {}

    def measure(
        model: Autoencoder, epoch: int | None = None, force: bool = False
    ) -> dict[str, float]:
        due = every > 0 and epoch is not None and epoch % every == 0
        if not (due or force):
            return {}
        device = next(model.parameters()).device
        if "images" not in cache:
            cache["images"] = torch.from_numpy(test_images).to(device)
        return {"test_squared_error": squared_error(model, cache["images"])}

    return measure
