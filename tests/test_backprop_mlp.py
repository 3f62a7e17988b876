"""The numpy MLP: gradients against torch.autograd and finite differences,
learning two small problems, and losses that stay finite for extreme logits.

Tolerances: against torch.autograd (float64), ``|ours - torch| <= 1e-10 +
1e-10 |torch|``; against central differences (eps 1e-6), ``|ours - numeric|
<= 1e-7 + 1e-5 |numeric|``, about what the differences themselves can resolve.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import make_moons
from torch.nn import functional as F

from aelab.backprop import gradcheck
from aelab.backprop.losses import (
    binary_cross_entropy,
    softmax_cross_entropy,
    squared_error,
)
from aelab.backprop.mlp import MLP, fit
from aelab.models.autoencoder import Autoencoder

TORCH_TOL = 1e-10
FD_RTOL, FD_ATOL = 1e-5, 1e-7
LOSSES = ("squared_error", "binary_cross_entropy", "softmax_cross_entropy")


def problem(loss: str, seed: int, n: int = 7, sizes=(3, 5, 4)):
    """Random inputs and targets of the right kind for ``loss``."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, sizes[0]))
    n_out = sizes[-1]
    if loss == "squared_error":
        targets = rng.normal(size=(n, n_out))
    elif loss == "binary_cross_entropy":
        targets = rng.uniform(size=(n, n_out))  # soft targets, to test those too
    else:
        targets = rng.integers(0, n_out, size=n)
    return x, targets


def torch_loss(model: MLP, x: np.ndarray, targets: np.ndarray, loss: str):
    """The same network and loss in torch: the loss and its parameters."""
    params = [torch.tensor(p, requires_grad=True) for p in model.params]
    activation = {
        "Tanh": torch.tanh,
        "Sigmoid": torch.sigmoid,
        "ReLU": torch.relu,
    }[type(model.layers[1]).__name__]
    h = torch.tensor(x)
    for i in range(0, len(params), 2):
        h = h @ params[i] + params[i + 1]
        if i + 2 < len(params):
            h = activation(h)
    if loss == "squared_error":
        value = ((h - torch.tensor(targets)) ** 2).sum(dim=1).mean()
    elif loss == "binary_cross_entropy":
        per_unit = F.binary_cross_entropy_with_logits(
            h, torch.tensor(targets), reduction="none"
        )
        value = per_unit.sum(dim=1).mean()
    else:
        value = F.cross_entropy(h, torch.tensor(targets))
    return value, params


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    "seed, activation", [(0, "tanh"), (1, "relu"), (2, "sigmoid"), (3, "tanh")]
)
def test_gradients_match_torch_autograd(loss, seed, activation):
    model = MLP((3, 5, 6, 4), activation, seed=seed)
    x, targets = problem(loss, seed)
    value, grads = model.loss_and_grads(x, targets, loss)

    expected, params = torch_loss(model, x, targets, loss)
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=TORCH_TOL, abs=TORCH_TOL)
    for ours, param in zip(grads, params, strict=True):
        np.testing.assert_allclose(
            ours, param.grad.numpy(), rtol=TORCH_TOL, atol=TORCH_TOL
        )


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradients_match_finite_differences(loss, seed):
    model = MLP((3, 5, 4), "tanh", seed=seed)
    x, targets = problem(loss, seed)
    _, grads = model.loss_and_grads(x, targets, loss)

    def func():
        return model.loss_and_grads(x, targets, loss)[0]

    result = gradcheck(func, model.params, grads, rtol=FD_RTOL, atol=FD_ATOL)
    assert result.passed, str(result)
    assert result.n_checked == sum(p.size for p in model.params)


# ----------------------------------------------------------------------
# Learning.


def moons(seed: int = 0):
    x, y = make_moons(n_samples=400, noise=0.1, random_state=seed)
    return (x[:300], y[:300]), (x[300:], y[300:])


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "softmax_cross_entropy"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_two_moons_to_97_percent_on_held_out_points(loss, seed):
    (x, y), (x_test, y_test) = moons()
    n_out = 1 if loss == "binary_cross_entropy" else 2
    targets = y[:, None].astype(float) if n_out == 1 else y
    model = MLP((2, 16, 16, n_out), "tanh", seed=seed)
    history = fit(model, x, targets, loss, steps=500, learning_rate=0.1)

    logits = model.forward(x_test)
    predicted = logits[:, 0] > 0 if n_out == 1 else logits.argmax(axis=1)
    assert (predicted == y_test).mean() >= 0.97
    assert history[-1] < 0.05 * history[0]


def test_learns_xor_exactly_with_squared_error():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    model = MLP((2, 4, 1), "tanh", seed=0)
    fit(model, x, y, "squared_error", steps=500, learning_rate=0.1)
    outputs = model.forward(x)
    np.testing.assert_array_equal(outputs > 0.5, y > 0.5)
    assert np.abs(outputs - y).max() < 0.1


# ----------------------------------------------------------------------
# Extreme logits.


@pytest.mark.parametrize(
    "z, t", [(1e4, 1.0), (-1e4, 0.0), (np.inf, 1.0), (-np.inf, 0.0)]
)
def test_binary_cross_entropy_is_zero_for_extreme_logits_that_match(z, t):
    loss, grad = binary_cross_entropy(np.array([[z]]), np.array([[t]]))
    assert loss == 0.0
    assert grad[0, 0] == 0.0


@pytest.mark.parametrize("z, t", [(1e4, 0.0), (-1e4, 1.0)])
def test_binary_cross_entropy_is_finite_for_extreme_logits_that_miss(z, t):
    loss, grad = binary_cross_entropy(np.array([[z]]), np.array([[t]]))
    # -log(sigmoid(-1e4)) is exactly 1e4; log(sigmoid(z)) would give inf.
    assert loss == 1e4
    assert grad[0, 0] == pytest.approx(1.0 if t == 0 else -1.0)
    expected = F.binary_cross_entropy_with_logits(
        torch.tensor([[z]]), torch.tensor([[t]])
    )
    assert loss == pytest.approx(expected.item(), rel=TORCH_TOL)


def test_softmax_cross_entropy_is_finite_for_extreme_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [1e4, 1e4, -1e4]])
    labels = np.array([1, 1, 0])
    loss, grad = softmax_cross_entropy(logits, labels)
    assert np.isfinite(loss) and np.isfinite(grad).all()
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(labels))
    assert loss == pytest.approx(expected.item(), rel=TORCH_TOL)


@pytest.mark.parametrize(
    "logits, label, loss_value",
    [
        ([np.inf, 0.0, -np.inf], 0, 0.0),
        ([-np.inf, 3.0, -np.inf], 1, 0.0),
        ([np.inf, np.inf, 0.0], 1, np.log(2)),
    ],
)
def test_softmax_cross_entropy_with_infinite_logits(logits, label, loss_value):
    loss, grad = softmax_cross_entropy(np.array([logits]), np.array([label]))
    assert loss == pytest.approx(loss_value, abs=1e-15)
    assert np.isfinite(grad).all()


def test_squared_error_is_finite_for_large_outputs():
    loss, grad = squared_error(np.array([[1e4, -1e4]]), np.array([[0.0, 1.0]]))
    assert loss == 1e8 + (1e4 + 1) ** 2
    assert np.isfinite(grad).all()


def test_bad_labels_and_losses_are_named():
    with pytest.raises(ValueError, match=r"labels range over \[0, 3\] but there are 3"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="loss 'hinge' is not one of"):
        MLP((2, 1)).loss_and_grads(np.zeros((1, 2)), np.zeros((1, 1)), "hinge")


# ----------------------------------------------------------------------
# The gradient check itself: it must catch a wrong gradient, leave its inputs
# as they were, and work on a torch module.


def test_gradcheck_catches_a_wrong_gradient_and_says_where():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=4)
    before = a.copy(), b.copy()

    def func():
        return np.tanh(a @ b).sum()

    d_out = 1 - np.tanh(a @ b) ** 2
    right = [np.outer(d_out, b), a.T @ d_out]
    assert gradcheck(func, [a, b], right).passed

    wrong = [right[0].copy(), right[1].copy()]
    wrong[1][2] += 1e-3
    result = gradcheck(func, [a, b], wrong)
    assert not result.passed
    assert "input 1 element (2,)" in str(result)
    np.testing.assert_array_equal(a, before[0])
    np.testing.assert_array_equal(b, before[1])


def test_gradcheck_on_the_autoencoder_module():
    torch.manual_seed(0)
    model = Autoencoder(6, [5], 2, "sigmoid", "linear", "sigmoid").double()
    images = torch.rand(4, 6, dtype=torch.float64)
    before = [p.detach().clone() for p in model.parameters()]

    result = gradcheck(
        lambda: model.loss(images, "cross_entropy"),
        model,
        rtol=FD_RTOL,
        atol=FD_ATOL,
        max_per_input=8,
    )
    assert result.passed, str(result)
    for old, new in zip(before, model.parameters(), strict=True):
        assert torch.equal(old, new)
        assert new.grad is None  # autograd.grad, not backward()


def test_gradcheck_takes_a_single_array():
    a = np.array([[0.5, -1.0], [2.0, 0.25]])
    result = gradcheck(lambda: (a**3).sum(), a, [3 * a**2])
    assert result.passed and result.n_checked == 4


def test_gradcheck_fails_on_nan():
    a = np.array([1.0, -1.0])

    def func():
        with np.errstate(invalid="ignore"):  # log(-1) is the point here
            return np.log(a).sum()

    result = gradcheck(func, a, [1 / a])
    assert not result.passed
    assert result.max_abs_error == np.inf


def test_gradcheck_needs_gradients_for_numpy_inputs():
    with pytest.raises(ValueError, match="grads is required for numpy inputs"):
        gradcheck(lambda: 0.0, [np.zeros(2)])
