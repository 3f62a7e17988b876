"""A multilayer perceptron in numpy, trained by hand-written backpropagation.

The same idea as the scalar engine, one layer at a time instead of one number
at a time: each layer's forward pass computes its output and keeps what its
backward pass will need; the backward pass takes the gradient of the loss
with respect to the layer's output, stores the gradients of its parameters,
and returns the gradient with respect to its input (its local gradient times
the gradient flowing in). The network runs its layers forward in order and
backward in reverse.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from aelab.backprop.losses import LOSSES, sigmoid

log = logging.getLogger(__name__)


class Linear:
    """``x @ weight + bias``, weights drawn uniformly in ``±sqrt(6/(in+out))``.

    Parameters
    ----------
    n_in, n_out : int
        Input and output widths.
    rng : numpy.random.Generator
        Draws the initial weights; biases start at 0.
    """

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator) -> None:
        # Glorot's range keeps the variance of tanh units about equal across
        # layers at the start, so that no layer starts saturated.
        bound = np.sqrt(6.0 / (n_in + n_out))
        self.weight = rng.uniform(-bound, bound, size=(n_in, n_out))
        self.bias = np.zeros(n_out)
        self.params = (self.weight, self.bias)
        self.grads = (np.zeros_like(self.weight), np.zeros_like(self.bias))

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Outputs of shape (n, n_out) for inputs of shape (n, n_in)."""
        self._x = x
        return x @ self.weight + self.bias

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        """Store the parameter gradients; return ``d loss / d x``, (n, n_in).

        The gradients are new arrays each time, so that those returned by an
        earlier call stay as they were.
        """
        self.grads = (self._x.T @ d_out, d_out.sum(axis=0))
        return d_out @ self.weight.T


class Tanh:
    """Elementwise tanh; its local gradient ``1 - tanh(x)**2`` uses the output."""

    params: tuple[np.ndarray, ...] = ()
    grads: tuple[np.ndarray, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = np.tanh(x)
        return self._out

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        return d_out * (1.0 - self._out**2)


class Sigmoid:
    """Elementwise logistic function; local gradient ``s * (1 - s)``."""

    params: tuple[np.ndarray, ...] = ()
    grads: tuple[np.ndarray, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = sigmoid(x)
        return self._out

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        return d_out * self._out * (1.0 - self._out)


class ReLU:
    """Elementwise ``max(x, 0)``; local gradient 1 where ``x > 0``, else 0."""

    params: tuple[np.ndarray, ...] = ()
    grads: tuple[np.ndarray, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._active = x > 0
        return np.where(self._active, x, 0.0)

    def backward(self, d_out: np.ndarray) -> np.ndarray:
        return d_out * self._active


ACTIVATIONS = {"tanh": Tanh, "sigmoid": Sigmoid, "relu": ReLU}


class MLP:
    """Fully connected layers with one nonlinearity between them.

    The last layer is linear: the network returns logits, and the loss
    applies any output nonlinearity itself, stably.

    Parameters
    ----------
    sizes : sequence of int
        Widths from input to output, e.g. ``(2, 16, 16, 1)``.
    activation : str, default="tanh"
        The hidden nonlinearity, a key of ``ACTIVATIONS``.
    seed : int, default=0
        Seeds the initial weights.
    """

    def __init__(
        self, sizes: Sequence[int], activation: str = "tanh", seed: int = 0
    ) -> None:
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(
                f"sizes {list(sizes)}: give at least an input and an output "
                "width, each a positive integer, e.g. (2, 16, 1)"
            )
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"activation '{activation}' is not one of {sorted(ACTIVATIONS)}"
            )
        rng = np.random.default_rng(seed)
        self.sizes = tuple(int(s) for s in sizes)
        self.layers: list = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True):
            self.layers += [Linear(n_in, n_out, rng), ACTIVATIONS[activation]()]
        self.layers.pop()  # no nonlinearity after the output layer

    @property
    def params(self) -> list[np.ndarray]:
        """Every weight and bias, input layer first: W0, b0, W1, b1, ..."""
        return [p for layer in self.layers for p in layer.params]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Logits of shape (n, sizes[-1]) for inputs of shape (n, sizes[0])."""
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, d_logits: np.ndarray) -> list[np.ndarray]:
        """Gradients of the loss for every parameter, after :meth:`forward`.

        Parameters
        ----------
        d_logits : ndarray of shape (n, sizes[-1])
            ``d loss / d logits``, from a loss function.

        Returns
        -------
        list of ndarray
            One per entry of :attr:`params`, each of its shape.
        """
        grad = d_logits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return [g for layer in self.layers for g in layer.grads]

    def loss_and_grads(
        self, x: np.ndarray, targets: np.ndarray, loss: str
    ) -> tuple[float, list[np.ndarray]]:
        """The loss on ``(x, targets)`` and its gradient for every parameter.

        Parameters
        ----------
        x : ndarray of shape (n, sizes[0])
        targets : ndarray
            Of shape (n, sizes[-1]) for "squared_error" and
            "binary_cross_entropy"; integer labels of shape (n,) for
            "softmax_cross_entropy".
        loss : str
            A key of :data:`aelab.backprop.losses.LOSSES`.
        """
        if loss not in LOSSES:
            raise ValueError(f"loss '{loss}' is not one of {sorted(LOSSES)}")
        value, d_logits = LOSSES[loss](self.forward(x), targets)
        return value, self.backward(d_logits)


def fit(
    model: MLP,
    x: np.ndarray,
    targets: np.ndarray,
    loss: str,
    steps: int = 1000,
    learning_rate: float = 0.1,
    momentum: float = 0.9,
    log_every: int = 200,
) -> list[float]:
    """Full-batch gradient descent with momentum, in place.

    Parameters
    ----------
    model : MLP
    x, targets, loss
        As for :meth:`MLP.loss_and_grads`.
    steps : int, default=1000
        Parameter updates, each on the whole of ``x``.
    learning_rate, momentum : float, default=0.1, 0.9
    log_every : int, default=200
        Log the loss every this many steps.

    Returns
    -------
    list of float
        The loss before each step.

    Raises
    ------
    FloatingPointError
        If the loss stops being finite; a smaller learning rate may help.
    """
    velocity = [np.zeros_like(p) for p in model.params]
    history = []
    start = time.perf_counter()
    for step in range(steps):
        value, grads = model.loss_and_grads(x, targets, loss)
        if not np.isfinite(value):
            raise FloatingPointError(
                f"the {loss} loss became {value} at step {step}; "
                f"try a learning rate below {learning_rate}"
            )
        history.append(value)
        for param, grad, v in zip(model.params, grads, velocity, strict=True):
            v *= momentum
            v -= learning_rate * grad
            param += v
        if log_every and (step % log_every == 0 or step == steps - 1):
            log.info(
                "step %d/%d  %s %.4f  %.2f s",
                step + 1,
                steps,
                loss,
                value,
                time.perf_counter() - start,
            )
    return history
