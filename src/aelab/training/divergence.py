"""Finding where training stopped being finite, at no cost per batch.

The training loops (fine-tuning in :mod:`aelab.training.loop`, RBM
pretraining in :mod:`aelab.models.rbm`) keep each batch's loss in a tensor of
shape (n_batches,) on the device and read back once per epoch only: the
epoch's summed loss and whether every weight is still finite. Reading a value
per batch would make the host wait for the device after every batch.

So a loss that turns NaN or infinite stops training at the end of the epoch
in which it happened, not at the batch itself; the per-batch tensor, searched
only then, names the first batch whose loss was not finite.
"""

from __future__ import annotations

import math

import torch

from aelab.errors import AelabError


def finite_epoch_mean(
    loss_sum: torch.Tensor,
    batch_losses: torch.Tensor,
    parameters: list[torch.Tensor],
    n_cases: int,
    *,
    name: str,
    what: str,
    epoch: int,
    stopped: str,
) -> float:
    """The epoch's loss per case, read back in one sync; raise if not finite.

    The error names ``name`` and the first bad batch (see
    :func:`where_it_failed`); ``stopped``, the rest of its message, says what
    stopped and what the user should change.
    """
    total, weights_finite = epoch_summary(loss_sum, parameters)
    mean = total / n_cases
    if not (math.isfinite(mean) and weights_finite):
        where = where_it_failed(batch_losses, what, epoch, weights_finite)
        raise AelabError(f"{name}: {where}. {stopped}")
    return mean


def epoch_summary(
    loss_sum: torch.Tensor, parameters: list[torch.Tensor]
) -> tuple[float, bool]:
    """The summed loss and whether all ``parameters`` are finite, in one sync."""
    finite = torch.stack([p.detach().isfinite().all() for p in parameters]).all()
    total, weights_finite = torch.stack([loss_sum, finite.to(loss_sum.dtype)]).tolist()
    return total, bool(weights_finite)


def where_it_failed(
    batch_losses: torch.Tensor, what: str, epoch: int, weights_finite: bool
) -> str:
    """Say which batch of an epoch first went wrong, and how.

    Parameters
    ----------
    batch_losses : Tensor of shape (n_batches,)
        The epoch's loss per batch, in the order the batches were used.
    what : str
        The name of the loss, such as "training loss".
    epoch : int
        The epoch's number, from 1.
    weights_finite : bool
        Whether every weight was finite at the end of the epoch.

    Returns
    -------
    str
        For example "the training loss became nan in epoch 2, batch 3 of 10".
    """
    n_batches = len(batch_losses)
    bad = torch.nonzero(~torch.isfinite(batch_losses))
    if len(bad):
        index = int(bad[0, 0])
        value = float(batch_losses[index])
        return (
            f"the {what} became {value} in epoch {epoch}, batch {index + 1} of "
            f"{n_batches}"
        )
    if not weights_finite:
        # Saturated sigmoid units give a finite loss even from infinite
        # weights, so no loss points at the batch; finding it would cost a
        # check of every weight after every batch.
        return (
            f"the weights became nan or infinite in epoch {epoch} (of "
            f"{n_batches} batches) though every batch's {what} stayed finite, "
            "so no single batch can be named"
        )
    largest = int(torch.argmax(batch_losses))
    return (
        f"the {what} summed over epoch {epoch} overflowed, though every batch's "
        f"was finite (the largest, {float(batch_losses[largest]):g}, in batch "
        f"{largest + 1} of {n_batches})"
    )
