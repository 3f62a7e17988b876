"""RBMs: the CD-1 statistics by hand, against the exact gradient, unrolling."""

import itertools

import numpy as np
import pytest
import torch

from aelab.models.autoencoder import Autoencoder
from aelab.models.rbm import RBM, RBMTrainer, pretrain_stack, stack_codes, unroll

SETTINGS = {
    "epochs": 3,
    "batch_size": 10,
    "learning_rate": 0.1,
    "top_learning_rate": 0.001,
    "weight_cost": 0.0002,
    "initial_momentum": 0.5,
    "final_momentum": 0.9,
    "momentum_switch_epoch": 5,
    "init_std": 0.1,
}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def small_rbm(hidden_units="binary"):
    weights = torch.tensor(
        [[0.5, -0.3, 0.1], [-0.2, 0.4, 0.6], [0.3, 0.2, -0.5], [-0.1, -0.4, 0.2]],
        dtype=torch.float64,
    )
    return RBM(
        weights,
        torch.tensor([0.1, -0.1, 0.2, 0.0], dtype=torch.float64),
        torch.tensor([-0.2, 0.3, 0.0], dtype=torch.float64),
        hidden_units,
    )


BATCH = torch.tensor(
    [[1.0, 0.0, 0.5, 0.2], [0.0, 1.0, 1.0, 0.0], [0.3, 0.7, 0.0, 1.0]],
    dtype=torch.float64,
)


@pytest.mark.parametrize("hidden_units", ["binary", "linear"])
def test_cd1_statistics_match_a_hand_computation(hidden_units):
    rbm = small_rbm(hidden_units)
    gradients, squared_error = rbm.cd1(BATCH, torch.Generator().manual_seed(3))

    # The same step written out in numpy, with the same random numbers.
    replay = torch.Generator().manual_seed(3)
    v0, w = BATCH.numpy(), rbm.weights.numpy()
    vb, hb = rbm.visible_bias.numpy(), rbm.hidden_bias.numpy()
    if hidden_units == "binary":
        h0 = sigmoid(v0 @ w + hb)
        uniform = torch.rand(h0.shape, generator=replay, dtype=torch.float64)
        states = (uniform.numpy() < h0).astype(float)
    else:
        h0 = v0 @ w + hb
        noise = torch.randn(h0.shape, generator=replay, dtype=torch.float64)
        states = h0 + noise.numpy()
    v1 = sigmoid(states @ w.T + vb)  # probabilities, not samples
    h1 = sigmoid(v1 @ w + hb) if hidden_units == "binary" else v1 @ w + hb
    n = len(v0)
    expected_w = (v0.T @ h0 - v1.T @ h1) / n

    # Tolerance: float64 round-off only.
    np.testing.assert_allclose(gradients["weights"].numpy(), expected_w, atol=1e-12)
    np.testing.assert_allclose(
        gradients["visible_bias"].numpy(), (v0 - v1).mean(axis=0), atol=1e-12
    )
    np.testing.assert_allclose(
        gradients["hidden_bias"].numpy(), (h0 - h1).mean(axis=0), atol=1e-12
    )
    assert squared_error.item() == pytest.approx(((v0 - v1) ** 2).sum(), abs=1e-12)


def test_binary_hidden_states_are_zero_or_one():
    rbm = small_rbm()
    states = rbm.sample_hidden(rbm.hidden_mean(BATCH), torch.Generator().manual_seed(0))
    assert set(states.unique().tolist()) <= {0.0, 1.0}


def test_trainer_applies_momentum_and_weight_cost_to_weights_only():
    rbm = small_rbm()
    w0, vb0 = rbm.weights.clone(), rbm.visible_bias.clone()
    grads = {
        "weights": torch.ones_like(w0),
        "visible_bias": torch.ones_like(vb0),
        "hidden_bias": torch.ones(3, dtype=torch.float64),
    }
    trainer = RBMTrainer(learning_rate=0.1, weight_cost=0.01, momentum_switch_epoch=1)

    trainer.step(rbm, grads, epoch=1)  # momentum 0.5, no earlier increment
    first_w = 0.1 * (1 - 0.01 * w0)
    torch.testing.assert_close(rbm.weights, w0 + first_w, rtol=0, atol=1e-15)
    torch.testing.assert_close(rbm.visible_bias, vb0 + 0.1, rtol=0, atol=1e-15)

    w1 = rbm.weights.clone()
    trainer.step(rbm, grads, epoch=2)  # momentum 0.9 from now on
    second_w = 0.9 * first_w + 0.1 * (1 - 0.01 * w1)
    torch.testing.assert_close(rbm.weights, w1 + second_w, rtol=0, atol=1e-15)
    torch.testing.assert_close(
        rbm.visible_bias, vb0 + 0.1 + (0.9 * 0.1 + 0.1), rtol=0, atol=1e-15
    )


def exact_weight_gradient(rbm, data):
    """d mean log p(v) / dW, by enumerating all 2^(4+3) joint states."""
    w, vb, hb = (t.numpy() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias))
    states = np.array(list(itertools.product([0, 1], repeat=7)), dtype=float)
    v, h = states[:, :4], states[:, 4:]
    log_weight = np.einsum("si,ij,sj->s", v, w, h) + v @ vb + h @ hb
    p = np.exp(log_weight - log_weight.max())
    p /= p.sum()
    model_term = np.einsum("s,si,sj->ij", p, v, h)
    data_term = data.T @ sigmoid(data @ w + hb) / len(data)
    return data_term - model_term


def test_cd1_agrees_in_sign_with_the_exact_gradient():
    # Data far from what the model believes: two units always on, two off.
    # Then the exact gradient pulls hard, and CD-1 must pull the same way.
    rbm = small_rbm()
    data = np.tile([1.0, 1.0, 0.0, 0.0], (4000, 1))
    exact = exact_weight_gradient(rbm, data)

    generator = torch.Generator().manual_seed(0)
    mean_cd = rbm.cd1(torch.from_numpy(data), generator)[0]["weights"].numpy()

    strong = np.abs(exact) > 0.02
    assert strong.sum() >= 6
    np.testing.assert_array_equal(np.sign(mean_cd[strong]), np.sign(exact[strong]))


def test_training_with_more_hidden_than_visible_units_stays_finite():
    generator = torch.Generator().manual_seed(1)
    data = torch.rand(50, 4, generator=generator)
    stack, histories = pretrain_stack(data, [4, 12, 3], SETTINGS, "linear", seed=0)
    for rbm in stack:
        for tensor in (rbm.weights, rbm.visible_bias, rbm.hidden_bias):
            assert torch.isfinite(tensor).all()
    errors = [record["reconstruction_error"] for record in histories[0]]
    assert all(np.isfinite(errors))


def test_pretraining_lowers_the_reconstruction_error():
    generator = torch.Generator().manual_seed(2)
    prototypes = (torch.rand(3, 20, generator=generator) > 0.5).float()
    data = prototypes[torch.randint(0, 3, (300,), generator=generator)]
    settings = {**SETTINGS, "epochs": 10, "batch_size": 30, "learning_rate": 1.0}
    _, histories = pretrain_stack(data, [20, 8], settings, "binary", seed=0)
    errors = [record["reconstruction_error"] for record in histories[0]]
    assert errors[-1] < 0.9 * errors[0]


def test_pretraining_is_reproducible_with_a_seed():
    data = torch.rand(40, 6, generator=torch.Generator().manual_seed(5))
    first, _ = pretrain_stack(data, [6, 5, 2], SETTINGS, "linear", seed=7)
    again, _ = pretrain_stack(data, [6, 5, 2], SETTINGS, "linear", seed=7)
    for a, b in zip(first, again, strict=True):
        assert torch.equal(a.weights, b.weights)


@pytest.mark.parametrize("code_activation", ["linear", "sigmoid"])
def test_unrolled_code_layer_reproduces_the_stack_activities(code_activation):
    torch.manual_seed(0)
    data = torch.rand(64, 12, dtype=torch.float64)
    top = "linear" if code_activation == "linear" else "binary"
    stack, _ = pretrain_stack(data.float(), [12, 8, 5, 3], SETTINGS, top, seed=0)
    for rbm in stack:  # compare in float64, so only round-off can differ
        rbm.weights, rbm.visible_bias, rbm.hidden_bias = (
            t.double() for t in (rbm.weights, rbm.visible_bias, rbm.hidden_bias)
        )
    model = Autoencoder(12, [8, 5], 3, "sigmoid", code_activation, "sigmoid")
    unroll(stack, model.double())

    with torch.no_grad():
        codes = model.encode(data)
        # Tolerance: float64 round-off from a transposed matrix layout.
        torch.testing.assert_close(codes, stack_codes(stack, data), rtol=0, atol=1e-12)

        # The decoder runs the stack downwards with the visible biases.
        down = codes
        for rbm in reversed(stack):
            down = torch.sigmoid(down @ rbm.weights.T + rbm.visible_bias)
        torch.testing.assert_close(model.decode(codes), down, rtol=0, atol=1e-12)


def test_unroll_refuses_a_network_of_another_shape():
    stack, _ = pretrain_stack(torch.rand(20, 6), [6, 4, 2], SETTINGS, "linear", 0)
    with pytest.raises(Exception, match="cannot unroll 2 RBMs"):
        unroll(stack, Autoencoder(6, [], 2))
    with pytest.raises(Exception, match=r"does not fit an encoder layer"):
        unroll(stack, Autoencoder(6, [5], 2))


def test_constrained_poisson_cd1_matches_a_hand_computation():
    rbm = small_rbm("binary")
    rbm.visible_units, rbm.document_length = "constrained_poisson", 7.0
    # Word probabilities: each row sums to 1.
    batch = BATCH / BATCH.sum(dim=1, keepdim=True)
    gradients, squared_error = rbm.cd1(batch, torch.Generator().manual_seed(3))

    replay = torch.Generator().manual_seed(3)
    p0, w = batch.numpy(), rbm.weights.numpy()
    vb, hb = rbm.visible_bias.numpy(), rbm.hidden_bias.numpy()
    n_words = 7.0
    h0 = sigmoid(n_words * p0 @ w + hb)  # driven by the (expected) counts
    uniform = torch.rand(h0.shape, generator=replay, dtype=torch.float64)
    states = (uniform.numpy() < h0).astype(float)
    logits = states @ w.T + vb
    p1 = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # rates / N
    h1 = sigmoid(n_words * p1 @ w + hb)
    n = len(p0)

    np.testing.assert_allclose(
        gradients["weights"].numpy(),
        (n_words * p0.T @ h0 - n_words * p1.T @ h1) / n,
        atol=1e-12,
    )
    np.testing.assert_allclose(
        gradients["visible_bias"].numpy(), n_words * (p0 - p1).mean(axis=0), atol=1e-12
    )
    np.testing.assert_allclose(
        gradients["hidden_bias"].numpy(), (h0 - h1).mean(axis=0), atol=1e-12
    )
    assert squared_error.item() == pytest.approx(((p0 - p1) ** 2).sum(), abs=1e-12)
    np.testing.assert_allclose(rbm.visible_mean(torch.from_numpy(states)).sum(1), 1.0)


def test_unrolled_document_network_reads_word_probabilities():
    torch.manual_seed(0)
    counts = torch.poisson(torch.full((30, 12), 0.8, dtype=torch.float64)) + 1
    probabilities = (counts / counts.sum(dim=1, keepdim=True)).float()
    settings = {**SETTINGS, "epochs": 2}
    stack, _ = pretrain_stack(
        probabilities,
        [12, 6, 2],
        settings,
        "linear",
        seed=0,
        bottom_visible_units="constrained_poisson",
        document_length=15.0,
    )
    assert stack[0].visible_units == "constrained_poisson"
    assert stack[1].visible_units == "logistic"
    model = unroll(stack, Autoencoder(12, [6], 2, output_activation="softmax"))
    with torch.no_grad():
        np.testing.assert_allclose(
            model.encode(probabilities).numpy(),
            stack_codes(stack, probabilities).numpy(),
            rtol=1e-5,
            atol=1e-5,
        )
        # The decoder's softmax layer is the bottom RBM's visible layer.
        hidden = stack[0].hidden_mean(probabilities)
        np.testing.assert_allclose(
            model.decoder[-2](hidden).softmax(dim=1).numpy(),
            stack[0].visible_mean(hidden).numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
