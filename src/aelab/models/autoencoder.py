"""The one configurable autoencoder class behind every autoencoder model.

A model is its layer sizes and three nonlinearities: input -> hidden layers
-> code -> mirrored hidden layers -> output. The shallow linear, shallow
sigmoid and deep autoencoders are all this class with other settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    # Over the whole output layer: word probabilities of a document.
    "softmax": lambda: nn.Softmax(dim=1),
}


def _stack(sizes: Sequence[int], activations: Sequence[str]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for n_in, n_out, name in zip(sizes[:-1], sizes[1:], activations, strict=True):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[name]()]
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """A fully connected autoencoder.

    Parameters
    ----------
    input_size : int
        Pixels per image (784 for MNIST).
    hidden_sizes : sequence of int
        Encoder hidden widths, input side first; the decoder mirrors them.
    latent_size : int
        Width of the code layer.
    hidden_activation, code_activation, output_activation : str
        Names from ``ACTIVATIONS``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        latent_size: int,
        hidden_activation: str = "sigmoid",
        code_activation: str = "linear",
        output_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        self.latent_size = latent_size
        sizes = [input_size, *hidden_sizes, latent_size]
        n_hidden = len(hidden_sizes)
        self.encoder = _stack(sizes, [hidden_activation] * n_hidden + [code_activation])
        # The decoder stops at the output layer's pre-activation (logits), so
        # that the cross-entropy can be computed from logits, stably.
        self.decoder = _stack(sizes[::-1], [hidden_activation] * n_hidden + ["linear"])
        self.output_activation = ACTIVATIONS[output_activation]()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of shape (n, latent_size) for images of shape (n, input_size)."""
        return self.encoder(x)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstructions of shape (n, input_size)."""
        return self.output_activation(self.decoder(codes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """Training loss summed over pixels and averaged over the batch.

        ``kind`` is "cross_entropy" (logistic outputs against pixel
        intensities), "softmax_cross_entropy" (a softmax output layer against
        inputs that are probabilities summing to 1, such as a document's
        word probabilities) or "squared_error".
        """
        pre_output = self.decoder(self.encode(x))
        if kind == "softmax_cross_entropy":
            # log_softmax, not log(softmax): no log of an underflowed zero.
            per_pixel = -x * F.log_softmax(pre_output, dim=1)
        elif kind == "cross_entropy":
            per_pixel = F.binary_cross_entropy_with_logits(
                pre_output, x, reduction="none"
            )
        else:
            per_pixel = (self.output_activation(pre_output) - x).square()
        return per_pixel.sum(dim=1).mean()


def build(settings: dict[str, Any], input_size: int, latent_size: int) -> Autoencoder:
    """An autoencoder from one model's entry in params.yaml."""
    return Autoencoder(
        input_size=input_size,
        hidden_sizes=settings["hidden_sizes"],
        latent_size=latent_size,
        hidden_activation=settings["hidden_activation"],
        code_activation=settings["code_activation"],
        output_activation=settings["output_activation"],
    )
