"""Training the usual way: a DataLoader, an unfused optimizer, a host sync per batch.

This is how most notebooks and tutorials train an autoencoder or an RBM,
kept here as the yardstick that ``benchmarks/speed.py`` measures the
project's own loops against, and that the tests use to show the fast loops
compute the same thing. Nothing in the pipeline trains with it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, TensorDataset

from aelab.models.autoencoder import Autoencoder
from aelab.models.rbm import RBM, RBMTrainer


def loader(
    images: torch.Tensor,
    batch_size: int,
    seed: int,
    order: torch.Tensor | None = None,
) -> DataLoader:
    """Mini-batches of ``images`` (on the CPU) the usual way.

    Without ``order`` the batches are drawn by ``shuffle=True``; with it,
    they follow that permutation, so a test can feed this path exactly the
    batches the fast loop saw.
    """
    dataset = TensorDataset(images)
    if order is None:
        generator = torch.Generator().manual_seed(seed)
        return DataLoader(
            dataset, batch_size=batch_size, shuffle=True, generator=generator
        )
    batches = [
        order[first : first + batch_size].tolist()
        for first in range(0, len(order), batch_size)
    ]
    return DataLoader(dataset, batch_sampler=batches)


def train_epoch(
    model: Autoencoder,
    batches: DataLoader,
    optimizer: torch.optim.Optimizer,
    loss_kind: str,
    device: torch.device | str = "cpu",
) -> float:
    """One epoch of the usual loop; returns the mean training loss per image.

    Each batch is copied to ``device`` and its loss read back with
    ``.item()``, as such loops do.
    """
    model.train()
    total, count = 0.0, 0
    for (batch,) in batches:
        batch = batch.to(device)
        loss = model.loss(batch, loss_kind)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
        count += len(batch)
    return total / count


def adam(model: torch.nn.Module, settings: dict[str, Any]) -> torch.optim.Optimizer:
    """PyTorch's default Adam (one operation per tensor, not fused)."""
    return torch.optim.Adam(model.parameters(), lr=settings["learning_rate"])


def rbm_epoch(
    rbm: RBM,
    batches: DataLoader,
    trainer: RBMTrainer,
    epoch: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> float:
    """One CD-1 epoch the usual way; returns the reconstruction error per case."""
    total, count = 0.0, 0
    for (batch,) in batches:
        batch = batch.to(device)
        gradients, squared_error = rbm.cd1(batch, generator)
        trainer.step(rbm, gradients, epoch)
        total += squared_error.item()
        count += len(batch)
    return total / count


def epochs(
    model: Autoencoder,
    images: torch.Tensor,
    settings: dict[str, Any],
    seed: int,
    device: torch.device | str = "cpu",
) -> Iterator[float]:
    """Train epoch after epoch the usual way, yielding each epoch's mean loss."""
    batches = loader(images, settings["batch_size"], seed)
    optimizer = adam(model, settings)
    while True:
        yield train_epoch(model, batches, optimizer, settings["loss"], device)
