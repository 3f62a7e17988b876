"""Checking gradients against central finite differences.

``d f / d p[i]`` is estimated as ``(f(p + eps e_i) - f(p - eps e_i)) / (2 eps)``,
one element at a time, with every other element held fixed. The error of that
estimate shrinks with ``eps**2``, until rounding, which grows with ``1 / eps``,
takes over; in float64 ``eps = 1e-6`` balances the two and leaves about seven
correct digits, in float32 nothing useful, so inputs should be float64.

The same check serves numpy arrays (the hand-written MLP) and torch tensors or
an ``nn.Module``'s parameters (the autoencoders), whose analytic gradients are
then taken from torch.autograd.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GradCheckResult:
    """How far analytic gradients are from finite differences.

    Attributes
    ----------
    passed : bool
        True when every checked element satisfies
        ``|analytic - numeric| <= atol + rtol * |numeric|``.
    max_abs_error : float
        The largest ``|analytic - numeric|`` over the checked elements.
    worst : str
        The input and element with the largest error relative to its
        tolerance, and both gradients there.
    n_checked : int
        How many elements were perturbed.
    """

    passed: bool
    max_abs_error: float
    worst: str
    n_checked: int

    def __str__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"gradient check {verdict} on {self.n_checked} elements: "
            f"largest error {self.max_abs_error:.3g}, worst at {self.worst}"
        )


def gradcheck(
    func: Callable[[], Any],
    inputs: Sequence[Any] | Any,
    grads: Sequence[Any] | None = None,
    *,
    eps: float | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    max_per_input: int | None = None,
    seed: int = 0,
) -> GradCheckResult:
    """Compare analytic gradients of ``func`` with central differences.

    Parameters
    ----------
    func : callable
        Called with no arguments; returns a scalar (a float, or a 0-d numpy
        array or torch tensor) that depends on ``inputs``. The check changes
        the inputs in place between calls and restores them afterwards.
    inputs : ndarray, torch.Tensor, a sequence of them, or torch.nn.Module
        The arrays to differentiate with respect to; a module stands for its
        ``parameters()``.
    grads : sequence of array-like, optional
        The analytic gradients, one per input, each of its input's shape.
        Needed for numpy inputs; for torch inputs it defaults to
        ``torch.autograd.grad(func(), inputs)``.
    eps : float, optional
        The step; 1e-6 for float64 inputs, 1e-3 for float32 (with a warning).
    rtol, atol : float, default=1e-5, 1e-7
        Tolerances, as in :func:`numpy.allclose`.
    max_per_input : int, optional
        Perturb at most this many elements of each input, drawn at random
        with ``seed``; every element when None.
    seed : int, default=0
        Seeds the choice of elements.

    Returns
    -------
    GradCheckResult
        ``passed`` says whether the gradients agree; ``str()`` of it says
        where they differ most.
    """
    arrays = _as_list(inputs)
    torch_inputs = _is_torch(arrays[0]) if arrays else False
    if grads is None:
        if not torch_inputs:
            raise ValueError(
                "grads is required for numpy inputs: give the analytic gradient "
                "of each input (only torch inputs get theirs from autograd)"
            )
        grads = _autograd(func, arrays)
    if len(grads) != len(arrays):
        raise ValueError(
            f"{len(grads)} gradients for {len(arrays)} inputs; give one per input"
        )
    analytic = [_to_numpy(g) for g in grads]
    for index, (array, grad) in enumerate(zip(arrays, analytic, strict=True)):
        if tuple(grad.shape) != tuple(array.shape):
            raise ValueError(
                f"gradient {index} has shape {tuple(grad.shape)} but input "
                f"{index} has shape {tuple(array.shape)}; they must match"
            )

    rng = np.random.default_rng(seed)
    worst_ratio, worst, max_error, n_checked = -1.0, "nowhere", 0.0, 0
    for index, array in enumerate(arrays):
        elements = _chosen_elements(array, max_per_input, rng)
        numeric = numerical_gradient(func, array, elements, eps=eps)
        for element, estimate in zip(elements, numeric, strict=True):
            exact = float(analytic[index][element])
            error = float(abs(exact - estimate))
            tolerance = atol + rtol * abs(float(estimate))
            if np.isnan(error):
                # A nan, or inf - inf: a failure, and the worst one.
                error, ratio = np.inf, np.inf
            elif tolerance > 0:
                ratio = error / tolerance
            else:
                ratio = 0.0 if error == 0 else np.inf
            max_error = max(max_error, error)
            if ratio > worst_ratio:
                worst_ratio = ratio
                worst = (
                    f"input {index} element {element}: "
                    f"analytic {exact:.8g}, numeric {estimate:.8g}"
                )
        n_checked += len(elements)
    return GradCheckResult(
        passed=bool(worst_ratio <= 1.0),
        max_abs_error=float(max_error),
        worst=worst,
        n_checked=n_checked,
    )


def numerical_gradient(
    func: Callable[[], Any],
    array: Any,
    elements: Sequence[tuple[int, ...]] | None = None,
    *,
    eps: float | None = None,
) -> np.ndarray:
    """Central-difference estimates of ``d func() / d array[element]``.

    Parameters
    ----------
    func : callable
        Called with no arguments; returns a scalar depending on ``array``.
    array : ndarray or torch.Tensor
        Changed in place one element at a time, and restored.
    elements : sequence of tuple of int, optional
        Indices to estimate; every element of ``array`` when None.
    eps : float, optional
        The step; see :func:`gradcheck`.

    Returns
    -------
    ndarray of shape (len(elements),), float64
        One estimate per element; with ``elements`` None, the estimates
        reshaped to ``array``'s shape.
    """
    if elements is None:
        return numerical_gradient(
            func, array, list(np.ndindex(*array.shape)), eps=eps
        ).reshape(tuple(array.shape))
    eps = _step(array) if eps is None else eps
    # Writing through a detached view leaves autograd's graph out of it.
    target = array.detach() if _is_torch(array) else array
    estimates = np.empty(len(elements))
    for i, element in enumerate(elements):
        original = target[element].item()
        try:
            target[element] = original + eps
            above = _scalar(func())
            target[element] = original - eps
            below = _scalar(func())
        finally:
            target[element] = original
        estimates[i] = (above - below) / (2 * eps)
    return estimates


def _as_list(inputs: Sequence[Any] | Any) -> list[Any]:
    if hasattr(inputs, "parameters") and callable(inputs.parameters):
        return list(inputs.parameters())
    if isinstance(inputs, np.ndarray) or _is_torch(inputs):
        return [inputs]  # one array, not a sequence of its rows
    arrays = list(inputs)
    for index, array in enumerate(arrays):
        if not (_is_torch(array) or isinstance(array, np.ndarray)):
            raise TypeError(
                f"input {index} is a {type(array).__name__}; give numpy arrays or "
                "torch tensors, which the check can change in place"
            )
    return arrays


def _is_torch(array: Any) -> bool:
    # Never import torch here: a numpy-only caller should not pay for it.
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(array, torch.Tensor)


def _step(array: Any) -> float:
    dtype = str(array.dtype).removeprefix("torch.")
    if dtype == "float64":
        return 1e-6
    if dtype in ("float32", "float16", "bfloat16"):
        log.warning(
            "finite differences in %s are accurate to a few digits at best; "
            "convert to float64 (model.double(), array.astype(np.float64))",
            dtype,
        )
        return 1e-3
    raise TypeError(
        f"an input has dtype {dtype}; finite differences need floating point, "
        "preferably float64"
    )


def _chosen_elements(
    array: Any, max_per_input: int | None, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    shape = tuple(array.shape)
    size = int(np.prod(shape))
    if max_per_input is None or size <= max_per_input:
        flat = np.arange(size)
    else:
        flat = np.sort(rng.choice(size, size=max_per_input, replace=False))
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def _autograd(func: Callable[[], Any], tensors: list[Any]) -> list[Any]:
    import torch

    # autograd.grad, unlike backward(), leaves the tensors' .grad alone.
    grads = torch.autograd.grad(func(), tensors, allow_unused=True)
    return [
        torch.zeros_like(t) if g is None else g
        for t, g in zip(tensors, grads, strict=True)
    ]


def _to_numpy(array: Any) -> np.ndarray:
    if _is_torch(array):
        return array.detach().cpu().double().numpy()
    return np.asarray(array, dtype=np.float64)


def _scalar(value: Any) -> float:
    if _is_torch(value):
        return float(value.detach())
    return float(value)
