"""The convolutional autoencoder: the one autoencoder class with other layers.

Encoder: 3x3 convolutions of stride 2 (each halves the image side, rounding
up), then one fully connected layer to the k-D code. Decoder: a fully
connected layer back to the last feature maps, then 3x3 transposed
convolutions of stride 2 that restore each side exactly, the last one to a
single channel of logits. Loss, corruption and penalties are the parent's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from aelab.models.autoencoder import ACTIVATIONS, Autoencoder


class ConvAutoencoder(Autoencoder):
    """A convolutional autoencoder for square single-channel images.

    It takes images flat, of shape (n, side * side), as the pipeline stores
    them, or as (n, 1, side, side); ``hidden_sizes`` are the channel counts
    of the convolutions, input side first (at least one).
    """

    def make_layers(
        self,
        input_size: int,
        hidden_sizes: Sequence[int],
        latent_size: int,
        hidden_activation: str,
        code_activation: str,
    ) -> tuple[nn.Module, nn.Module]:
        side = math.isqrt(input_size)
        if side * side != input_size or not hidden_sizes:
            raise ValueError(
                "a convolutional autoencoder needs square images and at least "
                f"one channel count; got {input_size} pixels and {hidden_sizes}"
            )
        channels = [1, *hidden_sizes]
        sides = [side]
        for _ in hidden_sizes:
            sides.append((sides[-1] + 1) // 2)  # stride 2, padding 1, 3x3
        flat = channels[-1] * sides[-1] ** 2

        encoder: list[nn.Module] = [nn.Unflatten(1, (1, side, side))]
        for n_in, n_out in zip(channels[:-1], channels[1:], strict=True):
            encoder += [
                nn.Conv2d(n_in, n_out, 3, stride=2, padding=1),
                ACTIVATIONS[hidden_activation](),
            ]
        encoder += [
            nn.Flatten(),
            nn.Linear(flat, latent_size),
            ACTIVATIONS[code_activation](),
        ]

        decoder: list[nn.Module] = [
            nn.Linear(latent_size, flat),
            ACTIVATIONS[hidden_activation](),
            nn.Unflatten(1, (channels[-1], sides[-1], sides[-1])),
        ]
        # Deepest layer first: (channels in, channels out, side in, side out).
        ins, outs = channels[:0:-1], channels[-2::-1]
        steps = list(zip(ins, outs, sides[:0:-1], sides[-2::-1], strict=True))
        for index, (n_in, n_out, small, big) in enumerate(steps):
            # A stride-2 transposed 3x3 convolution with padding 1 gives
            # 2 * small - 1 pixels; output_padding adds the one that rounding
            # up lost, so every side comes back exactly.
            decoder.append(
                nn.ConvTranspose2d(
                    n_in,
                    n_out,
                    3,
                    stride=2,
                    padding=1,
                    output_padding=big - (2 * small - 1),
                )
            )
            if index < len(steps) - 1:
                decoder.append(ACTIVATIONS[hidden_activation]())
        decoder.append(nn.Flatten())  # (n, side * side) logits
        return nn.Sequential(*encoder), nn.Sequential(*decoder)
