"""The autoencoder family's penalties, corruptions and layers on tiny networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aelab.data.prepared import check_pixels
from aelab.data.shuffled import shuffle_pixels
from aelab.errors import AelabError
from aelab.evaluate import subspace
from aelab.models import autoencoder, regularizers
from aelab.models.conv import ConvAutoencoder
from aelab.training import loop


def jacobian_frobenius(encoder: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Mean over images of sum_ij (dh_j / dx_i)^2, by torch's own jacobian."""
    total = x.new_zeros(())
    for image in x:
        jac = torch.autograd.functional.jacobian(
            lambda v: encoder(v.unsqueeze(0)).squeeze(0), image
        )  # (k, d)
        total = total + jac.square().sum()
    return total / len(x)


@pytest.mark.parametrize(
    ("hidden_sizes", "code_activation"),
    [([], "sigmoid"), ([5], "sigmoid"), ([5, 4], "tanh"), ([], "linear")],
)
def test_contractive_penalty_is_the_jacobians_squared_frobenius_norm(
    hidden_sizes, code_activation
):
    torch.manual_seed(0)
    model = autoencoder.Autoencoder(
        7, hidden_sizes, 3, "sigmoid", code_activation, "sigmoid"
    ).double()
    x = torch.rand(6, 7, dtype=torch.float64)
    got = regularizers.contractive(model.encoder, x)
    expected = jacobian_frobenius(model.encoder, x)
    assert got.item() == pytest.approx(expected.item(), abs=1e-6)
    # One image: a sum of squares, not the square of a sum, nor a mean of
    # the squares.
    one = regularizers.contractive(model.encoder, x[:1]).item()
    jac = torch.autograd.functional.jacobian(
        lambda v: model.encoder(v.unsqueeze(0)).squeeze(0), x[0]
    )  # (3, 7)
    assert one == pytest.approx(jac.square().sum().item(), abs=1e-6)
    assert one != pytest.approx(jac.sum().square().item(), rel=1e-2)
    assert one != pytest.approx(jac.square().mean().item(), rel=1e-2)


def test_contractive_penalty_of_a_convolutional_encoder():
    torch.manual_seed(1)
    model = ConvAutoencoder(36, [2], 2, "tanh", "linear", "sigmoid").double()
    x = torch.rand(3, 36, dtype=torch.float64)
    got = regularizers.contractive(model.encoder, x)
    assert got.item() == pytest.approx(
        jacobian_frobenius(model.encoder, x).item(), abs=1e-6
    )


def test_kl_sparsity_matches_the_formula_by_hand():
    codes = torch.tensor([[0.1, 0.8], [0.3, 0.6]], dtype=torch.float64)
    rho = 0.2
    # Mean activations 0.2 and 0.7: the first unit is on target (KL 0).
    second = rho * np.log(rho / 0.7) + (1 - rho) * np.log((1 - rho) / 0.3)
    got = regularizers.kl_sparsity(codes, rho)
    assert got.item() == pytest.approx(0.0 + second, abs=1e-12)


def test_kl_sparsity_stays_finite_for_saturated_units():
    codes = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    assert torch.isfinite(regularizers.kl_sparsity(codes, 0.05))


def test_l1_sparsity_sums_units_and_averages_images():
    codes = torch.tensor([[1.0, -2.0], [0.5, 0.5]])
    # (1 + 2 + 0.5 + 0.5) / 2 images
    assert regularizers.l1_sparsity(codes).item() == pytest.approx(2.0)


def test_masking_noise_zeroes_the_stated_fraction_of_every_image():
    torch.manual_seed(0)
    x = torch.rand(50, 784) * 0.9 + 0.1  # no pixel is 0 to begin with
    noisy = regularizers.corrupt(x, "masking", 0.25)
    masked = (noisy == 0).sum(dim=1)
    assert torch.all(masked == 196)  # round(0.25 * 784) in every image
    kept = noisy != 0
    assert torch.equal(noisy[kept], x[kept])  # the rest is untouched
    assert x.min() > 0  # the input itself is not changed


def test_gaussian_noise_has_the_stated_standard_deviation():
    torch.manual_seed(0)
    x = torch.full((200, 784), 0.5)
    noise = regularizers.corrupt(x, "gaussian", 0.3) - x
    assert noise.mean().item() == pytest.approx(0.0, abs=0.005)
    assert noise.std().item() == pytest.approx(0.3, rel=0.01)


def test_denoising_loss_scores_corrupted_input_against_clean_targets():
    torch.manual_seed(0)
    settings = {"kind": "masking", "level": 0.5}
    model = autoencoder.Autoencoder(
        8, [], 3, "sigmoid", "sigmoid", "sigmoid", corruption=settings
    ).double()
    x = torch.rand(4, 8, dtype=torch.float64)
    torch.manual_seed(5)
    got = model.loss(x, "cross_entropy")
    torch.manual_seed(5)
    noisy = regularizers.corrupt(x, "masking", 0.5)
    logits = model.decoder(model.encoder(noisy))
    expected = (
        torch.nn.functional.binary_cross_entropy_with_logits(
            logits, x, reduction="none"
        )
        .sum(dim=1)
        .mean()
    )
    assert got.item() == pytest.approx(expected.item(), abs=1e-12)
    # Evaluation mode sees the clean images: no noise.
    model.eval()
    clean = (
        torch.nn.functional.binary_cross_entropy_with_logits(
            model.decoder(model.encoder(x)), x, reduction="none"
        )
        .sum(dim=1)
        .mean()
    )
    assert model.loss(x, "cross_entropy").item() == pytest.approx(clean.item())


def test_penalised_loss_adds_the_weighted_penalty():
    torch.manual_seed(0)
    regularizer = {"kind": "kl_sparsity", "weight": 0.5, "target": 0.1}
    model = autoencoder.Autoencoder(
        8, [], 3, "sigmoid", "sigmoid", "sigmoid", regularizer=regularizer
    ).double()
    plain = autoencoder.Autoencoder(8, [], 3, "sigmoid", "sigmoid", "sigmoid").double()
    plain.load_state_dict(model.state_dict())
    x = torch.rand(4, 8, dtype=torch.float64)
    penalty = regularizers.kl_sparsity(model.encode(x), 0.1)
    expected = plain.loss(x, "squared_error") + 0.5 * penalty
    got = model.loss(x, "squared_error")
    assert got.item() == pytest.approx(expected.item(), abs=1e-12)


@pytest.mark.parametrize("shape", [(5, 1, 28, 28), (5, 784)])
def test_convolutional_model_maps_images_to_codes_and_back(shape):
    torch.manual_seed(0)
    model = ConvAutoencoder(784, [4, 8], 7, "relu", "linear", "sigmoid")
    x = torch.rand(shape)
    codes = model.encode(x)
    assert codes.shape == (5, 7)
    assert model.decode(codes).shape == (5, 784)
    assert model(x).shape == shape
    assert torch.isfinite(model.loss(x, "cross_entropy"))


def test_convolutional_model_restores_odd_sides():
    model = ConvAutoencoder(784, [2, 2, 2], 3, "relu", "linear", "sigmoid")
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)  # 28-14-7-4


def test_build_picks_the_layers_from_the_settings():
    settings = {
        "hidden_sizes": [4],
        "hidden_activation": "relu",
        "code_activation": "linear",
        "output_activation": "sigmoid",
        "layers": "convolutional",
        "regularizer": {"kind": "contractive", "weight": 0.1, "target": 0.05},
        "corruption": None,
    }
    model = autoencoder.build(settings, 784, 2)
    assert isinstance(model, ConvAutoencoder)
    assert model.regularizer["kind"] == "contractive"
    assert type(autoencoder.build({**settings, "layers": "dense"}, 784, 2)) is (
        autoencoder.Autoencoder
    )


def test_a_non_finite_penalised_loss_stops_training():
    torch.manual_seed(0)
    regularizer = {"kind": "contractive", "weight": float("inf")}
    model = autoencoder.Autoencoder(
        16, [8], 2, "sigmoid", "sigmoid", "sigmoid", regularizer=regularizer
    )
    images = torch.rand(40, 16)
    settings = {
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 10,
        "epochs": 2,
        "loss": "cross_entropy",
    }
    with pytest.raises(AelabError, match="contractive latent 2: the training loss"):
        loop.train(model, images, settings, seed=0, name="contractive latent 2")


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (
            np.full((3, 784), 255, dtype=np.uint8),
            r"images are uint8, not floats in \[0, 1\]\. Scale them before saving, "
            r"e\.g\. images\.astype\(numpy\.float32\) / 255",
        ),
        (
            np.full((3, 784), 255.0, dtype=np.float32),
            r"pixel values run from 255 to 255, outside \[0, 1\]\. .*divide 0-255 "
            r"pixels by 255",
        ),
        (
            np.full((3, 784), np.nan, dtype=np.float32),
            r"some pixel values are NaN or infinite",
        ),
    ],
)
def test_images_outside_the_unit_interval_are_refused(images, expected):
    with pytest.raises(AelabError, match="^train.npz: " + expected):
        check_pixels(images, "train.npz")
    check_pixels(np.zeros((2, 784), dtype=np.float32), "train.npz")  # fine


def test_shuffling_keeps_each_pixels_values_and_breaks_correlations():
    rng = np.random.default_rng(0)
    base = rng.random((2000, 1))
    images = np.hstack([base, base, rng.random((2000, 1))]).astype(np.float32)
    shuffled = shuffle_pixels(images, np.random.default_rng(1))
    for column in range(3):
        np.testing.assert_array_equal(
            np.sort(shuffled[:, column]), np.sort(images[:, column])
        )
    assert np.corrcoef(images[:, 0], images[:, 1])[0, 1] == pytest.approx(1.0)
    assert abs(np.corrcoef(shuffled[:, 0], shuffled[:, 1])[0, 1]) < 0.1


def test_principal_angle_is_zero_for_a_decoder_spanning_the_pca_subspace():
    rng = np.random.default_rng(0)
    # Variance 9, 4, 1, 0.01: the top-2 subspace is the first two axes,
    # rotated by a random orthogonal matrix.
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    images = (rng.normal(size=(5000, 4)) * [3, 2, 1, 0.1]) @ rotation.T
    top = subspace.principal_components(images, 2)
    model = autoencoder.Autoencoder(4, [3], 2, "linear", "linear", "linear")
    mixing = torch.tensor([[1.0, 2.0], [0.5, -1.0]], dtype=torch.float64)
    # A three-layer linear decoder whose product is top @ mixing.
    first, second = (m for m in model.decoder if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
        second.weight.copy_(torch.from_numpy(top) @ mixing @ first.weight.T.double())
    assert subspace.largest_principal_angle(model, images) == pytest.approx(
        0.0, abs=1e-4
    )
    # Swap the second direction for the fourth: 90 degrees off.
    direction = rotation[:, [0, 3]]
    with torch.no_grad():
        second.weight.copy_(torch.from_numpy(direction) @ first.weight.T.double())
    assert subspace.largest_principal_angle(model, images) == pytest.approx(
        90.0, abs=0.1
    )
    assert subspace.is_linear(
        {
            "hidden_activation": "linear",
            "code_activation": "linear",
            "output_activation": "linear",
        }
    )
