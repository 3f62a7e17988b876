"""Losses with their gradients, for the hand-written MLP.

Each loss takes the network's outputs before any output nonlinearity (the
logits) and returns the loss and its gradient with respect to them. Like the
autoencoders' losses, each is summed over output units and averaged over the
samples of a batch.

The two cross-entropies are computed from the logits directly, through
softplus and log-sum-exp, never as ``log(sigmoid(z))`` or
``log(softmax(z))``: those round to ``log(0) = -inf`` once a logit passes
about 37 (float64), while the forms here stay finite for any finite logit and
are exact (zero) for an infinite logit whose sign matches the target.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LossFunction = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def softplus(z: np.ndarray) -> np.ndarray:
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-z))``, taking exp of non-positive numbers only."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise ``z - log(sum(exp(z)))``, shifted by the row maximum.

    A row with ``+inf`` logits puts all its probability on them, shared
    equally; their log-probability is ``-log(count)`` and the others' -inf.
    A row of only ``-inf`` has no softmax and gives nan.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)

    Returns
    -------
    ndarray of shape (n_samples, n_classes)
    """
    infinite = np.isposinf(logits)
    has_infinite = infinite.any(axis=1, keepdims=True)
    top = logits.max(axis=1, keepdims=True)
    # Shifting by the maximum keeps exp() at or below 1; a +inf row would
    # shift by inf and give inf - inf, so it is handled on its own below.
    shift = np.where(has_infinite | ~np.isfinite(top), 0.0, top)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        shifted = logits - shift
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        result = shifted - log_sum
    share = -np.log(np.maximum(infinite.sum(axis=1, keepdims=True), 1))
    return np.where(has_infinite, np.where(infinite, share, -np.inf), result)


def squared_error(outputs: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """Squared error, summed over outputs and averaged over samples.

    Parameters
    ----------
    outputs, targets : ndarray of shape (n_samples, n_outputs)

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_samples, n_outputs)
        ``d loss / d outputs``.
    """
    _check_same_shape(outputs, targets)
    n = outputs.shape[0]
    difference = outputs - targets
    loss = float((difference**2).sum() / n)

    return loss, 2.0 * difference / n


def binary_cross_entropy(
    logits: np.ndarray, targets: np.ndarray
) -> tuple[float, np.ndarray]:
    """Cross-entropy of independent logistic outputs, from their logits.

    Per element, ``t * softplus(-z) + (1 - t) * softplus(z)``, which is
    ``-t log(sigmoid(z)) - (1 - t) log(1 - sigmoid(z))``; a term whose weight
    is 0 counts as 0 even where its softplus is infinite.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_outputs)
    targets : ndarray of shape (n_samples, n_outputs)
        Probabilities in [0, 1].

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_samples, n_outputs)
        ``(sigmoid(z) - t) / n_samples``.
    """
    _check_same_shape(logits, targets)
    n = logits.shape[0]
    positive = targets * np.where(targets == 0, 0.0, softplus(-logits))
    negative = (1 - targets) * np.where(targets == 1, 0.0, softplus(logits))
    loss = float((positive + negative).sum() / n)

    return loss, (sigmoid(logits) - targets) / n


def softmax_cross_entropy(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[float, np.ndarray]:
    """Cross-entropy of a softmax over classes, from the logits.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
    labels : ndarray of shape (n_samples,)
        Integer classes in ``[0, n_classes)``.

    Returns
    -------
    loss : float
        ``-mean(log_softmax(logits)[i, labels[i]])``.
    grad : ndarray of shape (n_samples, n_classes)
        ``(softmax(logits) - one_hot(labels)) / n_samples``.
    """
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(
            f"logits of shape {logits.shape} and labels of shape {labels.shape}: "
            "expected (n_samples, n_classes) and (n_samples,)"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels have dtype {labels.dtype}; give integer class indices"
        )
    n, n_classes = logits.shape
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(
            f"labels range over [{labels.min()}, {labels.max()}] but there are "
            f"{n_classes} classes; labels must lie in [0, {n_classes - 1}]"
        )
    log_p = log_softmax(logits)
    rows = np.arange(n)
    loss = float(-log_p[rows, labels].sum() / n)

    grad = np.exp(log_p)
    grad[rows, labels] -= 1.0
    return loss, grad / n


LOSSES: dict[str, LossFunction] = {
    "squared_error": squared_error,
    "binary_cross_entropy": binary_cross_entropy,
    "softmax_cross_entropy": softmax_cross_entropy,
}


def _check_same_shape(outputs: np.ndarray, targets: np.ndarray) -> None:
    if outputs.ndim != 2 or outputs.shape != targets.shape:
        raise ValueError(
            f"outputs of shape {outputs.shape} and targets of shape "
            f"{targets.shape}: expected both (n_samples, n_outputs)"
        )
