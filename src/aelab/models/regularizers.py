"""Penalties on the code and corruptions of the input, for the autoencoder family.

The sparse, contractive and denoising autoencoders are the one
:class:`~aelab.models.autoencoder.Autoencoder` with one of these added to
its loss: a penalty on the code (``regularizer`` in params.yaml) or a
corruption of the input it encodes (``corruption``). Every penalty is a mean
over the images of the batch, like the reconstruction loss it is added to.

Noise comes from torch's global generator (seeded by the training job) unless
a generator is passed, so a training run is repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

# Keeps log(rho_hat) and log(1 - rho_hat) finite when a unit is saturated.
EPSILON = 1e-6


def kl_sparsity(codes: torch.Tensor, target: float) -> torch.Tensor:
    """Sum over code units of KL(target || mean activation of the unit).

    Parameters
    ----------
    codes : Tensor of shape (n, k)
        Code activities in (0, 1) (a sigmoid code layer).
    target : float
        The wanted mean activation, rho, in (0, 1).

    Returns
    -------
    Tensor, a scalar
        sum_j rho log(rho / rho_j) + (1 - rho) log((1 - rho) / (1 - rho_j)),
        where rho_j is unit j's mean activation over the batch.
    """
    rate = codes.mean(dim=0).clamp(EPSILON, 1 - EPSILON)  # (k,)
    kl = target * torch.log(target / rate) + (1 - target) * torch.log(
        (1 - target) / (1 - rate)
    )
    return kl.sum()


def l1_sparsity(codes: torch.Tensor) -> torch.Tensor:
    """Sum of the code's absolute values, averaged over the images."""
    return codes.abs().sum(dim=1).mean()


def contractive(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Squared Frobenius norm of the encoder's Jacobian, averaged over images.

    For image x with code h(x), the penalty is sum_ij (dh_j / dx_i)^2: a sum
    of squares of every entry, not the square of a sum. One sigmoid layer
    h = sigmoid(W x + b) has the closed form sum_j (h_j (1 - h_j))^2
    sum_i W_ji^2; any other encoder gets its exact Jacobian from autograd,
    one backward pass per code unit (the images of a batch are independent,
    so the gradient of unit j's sum over the batch is each image's row j).

    Parameters
    ----------
    encoder : Module
        Maps images of shape (n, d) to codes of shape (n, k).
    x : Tensor of shape (n, d)

    Returns
    -------
    Tensor, a scalar, differentiable with respect to the encoder's weights.
    """
    if _is_one_sigmoid_layer(encoder):
        linear = encoder[0]
        h = torch.sigmoid(linear(x))  # (n, k)
        row_norms = linear.weight.square().sum(dim=1)  # (k,)
        return ((h * (1 - h)).square() * row_norms).sum(dim=1).mean()

    x = x.detach().requires_grad_(True)
    codes = encoder(x)  # (n, k)
    total = x.new_zeros(())
    for unit in range(codes.shape[1]):
        (row,) = torch.autograd.grad(codes[:, unit].sum(), x, create_graph=True)
        total = total + row.square().sum()
    return total / len(x)


def _is_one_sigmoid_layer(encoder: nn.Module) -> bool:
    return (
        isinstance(encoder, nn.Sequential)
        and len(encoder) == 2
        and isinstance(encoder[0], nn.Linear)
        and isinstance(encoder[1], nn.Sigmoid)
    )


def corrupt(
    x: torch.Tensor,
    kind: str,
    level: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A corrupted copy of images ``x`` of shape (n, d); ``x`` is not changed.

    ``kind`` "masking" sets exactly round(level * d) pixels of every image,
    chosen at random, to 0; "gaussian" adds independent normal noise of
    standard deviation ``level`` to every pixel (not clipped: the encoder
    sees the noise as it is).
    """
    if kind == "masking":
        n, d = x.shape
        n_masked = round(level * d)
        scores = torch.rand(n, d, device=x.device, generator=generator)
        masked = scores.topk(n_masked, dim=1).indices  # (n, n_masked)
        keep = torch.ones_like(x).scatter_(1, masked, 0.0)
        return x * keep
    if kind == "gaussian":
        noise = torch.randn(x.shape, device=x.device, generator=generator)
        return x + level * noise.to(x.dtype)
    raise ValueError(f"unknown corruption '{kind}'; expected masking or gaussian")


Penalty = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def penalty(settings: dict[str, Any]) -> Penalty:
    """The unweighted penalty of a ``regularizer`` entry, as f(encoder, x, codes)."""
    kind = settings["kind"]
    if kind == "kl_sparsity":
        target = settings["target"]
        return lambda encoder, x, codes: kl_sparsity(codes, target)
    if kind == "l1_sparsity":
        return lambda encoder, x, codes: l1_sparsity(codes)
    if kind == "contractive":
        return lambda encoder, x, codes: contractive(encoder, x)
    raise ValueError(
        f"unknown regularizer '{kind}'; expected kl_sparsity, l1_sparsity or "
        "contractive"
    )
