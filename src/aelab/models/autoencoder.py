"""The one configurable autoencoder class behind every autoencoder model.

A model is its layer sizes and three nonlinearities: input -> hidden layers
-> code -> mirrored hidden layers -> output. The shallow linear, shallow
sigmoid and deep autoencoders are all this class with other settings; the
sparse and contractive ones add a penalty on the code to its loss, the
denoising one corrupts the input it encodes (:mod:`aelab.models.regularizers`),
and the convolutional one swaps its layers (:mod:`aelab.models.conv`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from aelab.models import regularizers

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
    regularizer : dict, optional
        A penalty on the code added to the training loss: ``kind``
        (kl_sparsity, l1_sparsity or contractive), ``weight`` and, for
        kl_sparsity, ``target``.
    corruption : dict, optional
        ``kind`` (masking or gaussian) and ``level``: the training loss
        encodes a corrupted copy of each batch and scores its reconstruction
        against the clean images. Evaluation always sees clean images.
    """

    def __init__(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        latent_size: int,
        hidden_activation: str = "sigmoid",
        code_activation: str = "linear",
        output_activation: str = "sigmoid",
        regularizer: dict[str, Any] | None = None,
        corruption: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.latent_size = latent_size
        # The decoder stops at the output layer's pre-activation (logits), so
        # that the cross-entropy can be computed from logits, stably.
        self.encoder, self.decoder = self.make_layers(
            input_size, hidden_sizes, latent_size, hidden_activation, code_activation
        )
        self.output_activation = ACTIVATIONS[output_activation]()
        self.regularizer = regularizer
        self.penalty = regularizers.penalty(regularizer) if regularizer else None
        self.corruption = corruption

    def make_layers(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        latent_size: int,
        hidden_activation: str,
        code_activation: str,
    ) -> tuple[nn.Module, nn.Module]:
        """The encoder, (n, input_size) to codes, and the decoder, codes to logits.

        Fully connected layers here; a subclass with other layers overrides
        only this.
        """
        sizes = [input_size, *hidden_sizes, latent_size]
        n_hidden = len(hidden_sizes)
        encoder = _stack(sizes, [hidden_activation] * n_hidden + [code_activation])
        decoder = _stack(sizes[::-1], [hidden_activation] * n_hidden + ["linear"])
        return encoder, decoder

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Codes of shape (n, latent_size) for images of shape (n, input_size).

        Images of shape (n, 1, side, side) are flattened first.
        """
        return self.encoder(x.flatten(1))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstructions of shape (n, input_size)."""
        return self.output_activation(self.decoder(codes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstructions in the shape of ``x``."""
        return self.decode(self.encode(x)).reshape(x.shape)

    def loss(self, x: torch.Tensor, kind: str) -> torch.Tensor:
        """Training loss summed over pixels and averaged over the batch.

        ``kind`` is "cross_entropy" (logistic outputs against pixel
        intensities), "softmax_cross_entropy" (a softmax output layer against
        inputs that are probabilities summing to 1, such as a document's
        word probabilities) or "squared_error". In training mode the input is
        corrupted first if the model has a corruption; the target is always
        the clean ``x``. The weighted penalty, if any, is added.
        """
        clean = x.flatten(1)  # (b, n_pixels)
        seen = clean
        if self.corruption and self.training:
            seen = regularizers.corrupt(
                clean, self.corruption["kind"], self.corruption["level"]
            )
        codes = self.encode(seen)
        pre_output = self.decoder(codes)
        if kind == "softmax_cross_entropy":
            # log_softmax, not log(softmax): no log of an underflowed zero.
            per_pixel = -clean * F.log_softmax(pre_output, dim=1)
        elif kind == "cross_entropy":
            per_pixel = F.binary_cross_entropy_with_logits(
                pre_output, clean, reduction="none"
            )
        else:
            per_pixel = (self.output_activation(pre_output) - clean).square()
        loss = per_pixel.sum(dim=1).mean()
        if self.penalty is not None:
            weight = self.regularizer["weight"]
            loss = loss + weight * self.penalty(self.encoder, seen, codes)
        return loss


def build(settings: dict[str, Any], input_size: int, latent_size: int) -> Autoencoder:
    """An autoencoder from one model's entry in params.yaml.

    ``layers: convolutional`` makes a :class:`~aelab.models.conv.ConvAutoencoder`
    (its ``hidden_sizes`` are channel counts); entries saved before the
    family of penalties existed lack the new keys and get plain layers.
    """
    from aelab.models.conv import ConvAutoencoder  # conv builds on this module

    kind = settings.get("layers", "dense")
    model_class = ConvAutoencoder if kind == "convolutional" else Autoencoder
    return model_class(
        input_size=input_size,
        hidden_sizes=settings["hidden_sizes"],
        latent_size=latent_size,
        hidden_activation=settings["hidden_activation"],
        code_activation=settings["code_activation"],
        output_activation=settings["output_activation"],
        regularizer=settings.get("regularizer"),
        corruption=settings.get("corruption"),
    )
