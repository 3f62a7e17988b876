"""Restricted Boltzmann machines, greedy pretraining of a stack, and unrolling.

This follows the procedure of Hinton & Salakhutdinov (2006) and of the
authors' released code:

- visible units take real values in [0, 1] and are logistic;
- each RBM is trained by one step of contrastive divergence (CD-1): the
  positive statistics are the data times the hidden probabilities, the
  hidden states are then sampled, the visible reconstruction is kept as
  probabilities and the negative hidden statistics are probabilities;
- updates use momentum and a weight cost on the weights only;
- the top RBM of a stack has linear hidden units whose sampled state is
  their mean plus unit-variance Gaussian noise;
- each layer's training data are the hidden probabilities of the layer below.

For documents the bottom RBM can have constrained Poisson visible units
(``visible_units="constrained_poisson"``, after the paper's document model):
the rate of word i in a document of N words is N times a softmax over the
vocabulary, and the hidden units are driven by the counts. The autoencoder
reads word probabilities (counts divided by N), so that the unrolled encoder
can be one linear layer on them, every document is given the same length
N: ``document_length``, the mean length of the training documents. The
data given to such an RBM are word probabilities; the statistics of CD-1
are taken on them times N (expected counts), and the reconstruction is kept
as the mean rates, not sampled counts, as the logistic reconstruction is
kept as probabilities. Unrolling multiplies the bottom encoder weights by N
and leaves the decoder's softmax layer as it is.

The trained stack is unrolled into an :class:`Autoencoder`: the encoder takes
the RBM weights and hidden biases, the decoder their transposes and the
visible biases.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from aelab.errors import AelabError
from aelab.models.autoencoder import Autoencoder
from aelab.training.divergence import finite_epoch_mean

log = logging.getLogger(__name__)

HIDDEN_UNITS = ("binary", "linear")
VISIBLE_UNITS = ("logistic", "constrained_poisson")


@dataclass
class RBM:
    """One RBM: weights of shape (n_visible, n_hidden) and two bias vectors.

    ``hidden_units`` is "binary" (logistic, sampled as 0/1) or "linear"
    (Gaussian with unit variance around the input they receive).
    ``visible_units`` is "logistic" (values in [0, 1]) or
    "constrained_poisson" (word probabilities: a softmax over all visible
    units, see the module's description).
    """

    weights: torch.Tensor
    visible_bias: torch.Tensor
    hidden_bias: torch.Tensor
    hidden_units: str = "binary"
    visible_units: str = "logistic"
    document_length: float = 1.0

    @property
    def input_scale(self) -> float:
        """What the visible data are multiplied by before the weights."""
        return self.document_length if self.visible_units != "logistic" else 1.0

    @classmethod
    def initial(
        cls,
        n_visible: int,
        n_hidden: int,
        hidden_units: str,
        init_std: float,
        generator: torch.Generator,
        device: torch.device | str = "cpu",
        visible_units: str = "logistic",
        document_length: float = 1.0,
    ) -> RBM:
        """Weights from N(0, init_std^2), biases at zero."""
        if hidden_units not in HIDDEN_UNITS:
            raise ValueError(f"hidden_units must be one of {HIDDEN_UNITS}")
        if visible_units not in VISIBLE_UNITS:
            raise ValueError(f"visible_units must be one of {VISIBLE_UNITS}")
        weights = torch.randn(
            n_visible, n_hidden, generator=generator, device=device
        ).mul_(init_std)
        return cls(
            weights,
            torch.zeros(n_visible, device=device),
            torch.zeros(n_hidden, device=device),
            hidden_units,
            visible_units,
            document_length,
        )

    def hidden_mean(self, visible: torch.Tensor) -> torch.Tensor:
        """Hidden probabilities (binary) or means (linear), shape (n, n_hidden)."""
        scale = self.input_scale
        total_input = torch.addmm(self.hidden_bias, visible, self.weights, alpha=scale)
        if self.hidden_units == "binary":
            return torch.sigmoid(total_input)
        return total_input

    def sample_hidden(
        self, mean: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Hidden states drawn around ``mean``: 0/1, or mean + N(0, 1)."""
        like = {"generator": generator, "device": mean.device, "dtype": mean.dtype}
        if self.hidden_units == "binary":
            return (torch.rand(mean.shape, **like) < mean).to(mean.dtype)
        return mean + torch.randn(mean.shape, **like)

    def visible_mean(self, hidden: torch.Tensor) -> torch.Tensor:
        """Visible probabilities given hidden states, shape (n, n_visible)."""
        total_input = torch.addmm(self.visible_bias, hidden, self.weights.T)
        if self.visible_units == "constrained_poisson":
            return torch.softmax(total_input, dim=1)
        return torch.sigmoid(total_input)

    def cd1(
        self, visible: torch.Tensor, generator: torch.Generator
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """One step of contrastive divergence on a batch of shape (n, n_visible).

        Returns
        -------
        gradients : dict of Tensor
            "weights", "visible_bias", "hidden_bias": positive minus negative
            statistics, averaged over the batch (no learning rate, momentum
            or weight cost applied).
        squared_error : Tensor (scalar)
            Summed squared difference between the batch and its one-step
            reconstruction, for monitoring only.
        """
        n = len(visible)
        positive_hidden = self.hidden_mean(visible)  # (n, n_hidden)
        hidden_states = self.sample_hidden(positive_hidden, generator)
        reconstruction = self.visible_mean(hidden_states)  # probabilities
        negative_hidden = self.hidden_mean(reconstruction)

        # Expected counts for constrained Poisson units, the data otherwise.
        scale = self.input_scale
        gradients = {
            "weights": (
                visible.T @ positive_hidden - reconstruction.T @ negative_hidden
            )
            * (scale / n),
            "visible_bias": (visible - reconstruction).mean(dim=0) * scale,
            "hidden_bias": (positive_hidden - negative_hidden).mean(dim=0),
        }
        squared_error = (visible - reconstruction).square().sum()
        return gradients, squared_error


@dataclass
class RBMTrainer:
    """CD-1 with momentum and weight cost, as in the authors' code.

    The update of each parameter is ``increment = momentum * increment +
    learning_rate * (gradient - weight_cost * parameter)``, the weight cost
    applying to the weights only; momentum is ``initial_momentum`` for the
    first ``momentum_switch_epoch`` epochs and ``final_momentum`` after.
    """

    learning_rate: float
    weight_cost: float = 0.0002
    initial_momentum: float = 0.5
    final_momentum: float = 0.9
    momentum_switch_epoch: int = 5
    increments: dict[str, torch.Tensor] = field(default_factory=dict)

    def step(self, rbm: RBM, gradients: dict[str, torch.Tensor], epoch: int) -> None:
        """Apply one update in place; ``epoch`` counts from 1."""
        momentum = (
            self.initial_momentum
            if epoch <= self.momentum_switch_epoch
            else self.final_momentum
        )
        for name, gradient in gradients.items():
            parameter = getattr(rbm, name)
            if name == "weights" and self.weight_cost:
                gradient = gradient - self.weight_cost * parameter
            increment = self.increments.get(name)
            if increment is None:
                increment = self.increments[name] = torch.zeros_like(parameter)
            increment.mul_(momentum).add_(gradient, alpha=self.learning_rate)
            parameter.add_(increment)


def train_rbm(
    data: torch.Tensor,
    n_hidden: int,
    hidden_units: str,
    settings: dict[str, Any],
    learning_rate: float,
    generator: torch.Generator,
    name: str = "rbm",
    visible_units: str = "logistic",
    document_length: float = 1.0,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> tuple[RBM, list[dict[str, float]]]:
    """Train one RBM on ``data`` of shape (n, n_visible), resident on its device.

    The data are cut into mini-batches of ``settings["batch_size"]`` from one
    permutation drawn at the start (the authors' batches are fixed too), and
    every epoch visits them in the same order.

    Returns the RBM and one record per epoch (epoch, reconstruction squared
    error per case, seconds); ``on_epoch``, when given, is called with each
    record as soon as it is complete.

    Raises
    ------
    AelabError
        If the reconstruction error or a weight becomes NaN or infinite. The
        check runs once per epoch, so training stops at the end of the epoch
        in which this happened; the message names the RBM (``name``), the
        epoch and the first batch whose error was not finite.
    """
    n_cases, n_visible = data.shape
    device = data.device
    rbm = RBM.initial(
        n_visible,
        n_hidden,
        hidden_units,
        settings["init_std"],
        generator,
        device,
        visible_units=visible_units,
        document_length=document_length,
    )
    trainer = RBMTrainer(
        learning_rate=learning_rate,
        weight_cost=settings["weight_cost"],
        initial_momentum=settings["initial_momentum"],
        final_momentum=settings["final_momentum"],
        momentum_switch_epoch=settings["momentum_switch_epoch"],
    )
    batch_size = settings["batch_size"]
    order = torch.randperm(n_cases, generator=generator, device=device)
    batches = [
        data[order[first : first + batch_size]]
        for first in range(0, n_cases, batch_size)
    ]

    history = []
    parameters = [rbm.weights, rbm.visible_bias, rbm.hidden_bias]
    for epoch in range(1, settings["epochs"] + 1):
        start = time.perf_counter()
        error_sum = torch.zeros((), device=device)
        batch_errors = torch.empty(len(batches), device=device)  # per case
        for index, batch in enumerate(batches):
            gradients, squared_error = rbm.cd1(batch, generator)
            trainer.step(rbm, gradients, epoch)
            batch_errors[index] = squared_error / len(batch)
            error_sum += squared_error

        # One host sync per epoch: the summed error and whether the weights
        # are all finite.
        error = finite_epoch_mean(
            error_sum,
            batch_errors,
            parameters,
            n_cases,
            name=name,
            what="reconstruction error",
            epoch=epoch,
            stopped="Pretraining stopped at the end of that epoch and no model "
            "was written. Lower the pretraining learning rates in params.yaml "
            "(models.<name>.pretraining.learning_rate, or top_learning_rate for "
            "the top RBM) and run again.",
        )
        seconds = time.perf_counter() - start
        history.append(
            {"epoch": epoch, "reconstruction_error": error, "seconds": seconds}
        )
        if on_epoch is not None:
            on_epoch(history[-1])
        log.info(
            "%s: pretraining epoch %d/%d  reconstruction error %.3f  %.1f s",
            name,
            epoch,
            settings["epochs"],
            error,
            seconds,
        )
    return rbm, history


def pretrain_stack(
    data: torch.Tensor,
    layer_sizes: Sequence[int],
    settings: dict[str, Any],
    top_hidden_units: str,
    seed: int,
    name: str = "stack",
    bottom_visible_units: str = "logistic",
    document_length: float = 1.0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[list[RBM], list[list[dict[str, float]]]]:
    """Train RBMs greedily, one per pair of adjacent ``layer_sizes``.

    ``layer_sizes`` runs from the visible layer to the code, e.g.
    [784, 1000, 500, 250, 30]. Hidden units are binary except in the top
    RBM, which has ``top_hidden_units`` and ``settings["top_learning_rate"]``;
    the bottom RBM (when not the top) takes ``settings["bottom_learning_rate"]``
    when that is set.
    Each RBM is trained on the hidden probabilities of the one below. The
    bottom RBM's visible units are ``bottom_visible_units``; the others are
    logistic, since they model hidden probabilities. ``document_length``
    is the bottom RBM's N when its units are constrained Poisson.
    ``on_epoch``, when given, is called as ``on_epoch(layer, record)`` after
    every epoch of every RBM, ``layer`` counting from 1.
    """
    generator = torch.Generator(device=data.device).manual_seed(seed)
    stack, histories = [], []
    layer_input = data
    n_layers = len(layer_sizes) - 1
    for index in range(n_layers):
        is_top = index == n_layers - 1
        label = (
            f"{name} RBM {index + 1} of {n_layers} "
            f"({layer_sizes[index]}-{layer_sizes[index + 1]})"
        )
        rbm, history = train_rbm(
            layer_input,
            layer_sizes[index + 1],
            top_hidden_units if is_top else "binary",
            settings,
            _learning_rate(settings, index, is_top),
            generator,
            name=label,
            visible_units=bottom_visible_units if index == 0 else "logistic",
            document_length=document_length,
            on_epoch=None if on_epoch is None else partial(on_epoch, index + 1),
        )
        stack.append(rbm)
        histories.append(history)
        if not is_top:
            with torch.no_grad():
                layer_input = rbm.hidden_mean(layer_input)
    return stack, histories


def _learning_rate(settings: dict[str, Any], index: int, is_top: bool) -> float:
    """The top RBM's rate, else the bottom one's when set, else the common one."""
    if is_top:
        return settings["top_learning_rate"]
    if index == 0 and settings.get("bottom_learning_rate") is not None:
        return settings["bottom_learning_rate"]
    return settings["learning_rate"]


def unroll(stack: Sequence[RBM], model: Autoencoder) -> Autoencoder:
    """Copy a trained RBM stack into ``model``'s weights, in place.

    Encoder layer i takes RBM i's weights (transposed to torch's
    (out, in) layout, times the document length for constrained Poisson
    units) and hidden biases; the mirrored decoder layer takes
    the weights as they are and the visible biases.
    """
    encoder = [m for m in model.encoder if isinstance(m, torch.nn.Linear)]
    decoder = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    if len(encoder) != len(stack):
        raise AelabError(
            f"cannot unroll {len(stack)} RBMs into an autoencoder with "
            f"{len(encoder)} encoder layers"
        )
    with torch.no_grad():
        for rbm, enc, dec in zip(stack, encoder, reversed(decoder), strict=True):
            if enc.weight.shape != rbm.weights.T.shape:
                raise AelabError(
                    f"RBM of shape {tuple(rbm.weights.shape)} does not fit an "
                    f"encoder layer of shape {tuple(enc.weight.shape)}"
                )
            enc.weight.copy_(rbm.weights.T * rbm.input_scale)
            enc.bias.copy_(rbm.hidden_bias)
            dec.weight.copy_(rbm.weights)
            dec.bias.copy_(rbm.visible_bias)
    return model


def stack_codes(stack: Sequence[RBM], data: torch.Tensor) -> torch.Tensor:
    """Mean-field activities of the stack's top layer for ``data``."""
    with torch.no_grad():
        for rbm in stack:
            data = rbm.hidden_mean(data)
    return data
