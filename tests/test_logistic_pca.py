"""Logistic PCA on images drawn from a known low-rank log-odds model."""

import logging

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA

from aelab.errors import AelabError
from aelab.models.logistic_pca import LogisticPCACodec, code_loss, fit

N_PIXELS, LATENT_SIZE = 36, 3
SETTINGS = {"max_train_images": None, "iterations": 200, "code_iterations": 100}
CPU = torch.device("cpu")


def low_rank_logistic_images(n_images: int, seed: int) -> np.ndarray:
    """Pixels whose log-odds are a 3-D linear model plus noise, shape (n, 36).

    The basis and bias come from a fixed stream, so that every call draws
    images of one model; ``seed`` draws the codes and the noise.
    """
    model = np.random.default_rng(0)
    basis = model.normal(size=(LATENT_SIZE, N_PIXELS)) * 1.5
    bias = model.normal(size=N_PIXELS) - 1.0
    rng = np.random.default_rng(seed)
    codes = rng.normal(size=(n_images, LATENT_SIZE)) * 2.0
    logits = codes @ basis + bias + rng.normal(size=(n_images, N_PIXELS)) * 0.5
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # The tests share two cores with whatever else runs; one thread is
    # plenty for matrices of 36 columns.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def train_images() -> np.ndarray:
    return low_rank_logistic_images(300, seed=1)


@pytest.fixture(scope="module")
def test_images() -> np.ndarray:
    return low_rank_logistic_images(100, seed=2)


@pytest.fixture(scope="module")
def fitted(train_images):
    return fit(train_images, LATENT_SIZE, SETTINGS, seed=0, device=CPU)


def gradient_norms(codec: LogisticPCACodec, codes, images) -> torch.Tensor:
    """Each image's gradient of its cross-entropy w.r.t. its code, in float64."""
    codes = codes.detach().double().requires_grad_()
    x = torch.as_tensor(images, dtype=torch.float64)
    loss = code_loss(codes, x, codec.basis.double(), codec.bias.double())
    (gradient,) = torch.autograd.grad(loss, codes)
    return gradient.norm(dim=1)


def test_fit_beats_its_start_and_ordinary_pca(fitted, train_images):
    codec, history = fitted
    start, end = history[0], history[-1]
    assert start["iteration"] == 0 and end["iteration"] > 0
    assert [r["iteration"] for r in history] == sorted(
        {r["iteration"] for r in history}
    )
    assert all(np.isfinite(r["squared_error"]) and r["seconds"] >= 0 for r in history)
    # The start is PCA's subspace put on the log-odds scale; fitting by the
    # likelihood takes about 3 nats per image off it here (12.95 to 9.98).
    assert end["loss"] < start["loss"] - 2.0

    pca = PCA(n_components=LATENT_SIZE, svd_solver="full").fit(train_images)
    pca_recons = pca.inverse_transform(pca.transform(train_images))
    pca_error = np.square(pca_recons - train_images).sum(axis=1).mean()
    with torch.no_grad():
        recons = codec(torch.from_numpy(train_images)).numpy()
    error = np.square(recons - train_images).sum(axis=1).mean()
    # On data from a logistic model the margin is large (about 0.10
    # against 0.71); asking for under half of PCA's error leaves room.
    assert error < 0.5 * pca_error


def test_encode_reaches_the_optimum_and_leaves_the_model_alone(fitted, test_images):
    codec, _ = fitted
    before = {k: v.clone() for k, v in codec.state_dict().items()}
    x = torch.from_numpy(test_images)
    start = gradient_norms(codec, torch.zeros(len(x), LATENT_SIZE), x)

    with torch.no_grad():  # as the evaluation calls it
        codes = codec.encode(x)

    end = gradient_norms(codec, codes, x)
    # A convex problem per image: the gradient vanishes at the optimum.
    # L-BFGS stops on its loss-change tolerance, at norms near 2e-5 here,
    # from about 2 at zero codes.
    assert end.max() < 1e-3
    assert (end / start).max() < 1e-4
    assert all(torch.equal(before[k], v) for k, v in codec.state_dict().items())
    assert not codes.requires_grad


def test_encode_is_deterministic(fitted, test_images):
    codec, _ = fitted
    x = torch.from_numpy(test_images)
    with torch.no_grad():
        assert torch.equal(codec.encode(x), codec.encode(x))


def test_encoding_the_training_images_reproduces_the_fit(fitted, train_images):
    codec, history = fitted
    x = torch.from_numpy(train_images).double()
    with torch.no_grad():
        codes = codec.encode(x)
        logits = codes @ codec.basis.double() + codec.bias.double()
    loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    error = (torch.sigmoid(logits) - x).square().sum(dim=1).mean()

    # L-BFGS stopped on its own tolerances before the cap on iterations.
    assert history[-1]["iteration"] < SETTINGS["iterations"]
    # The fit converged, so its training codes are (nearly) the optimal codes
    # for its basis: encoding finds the same cross-entropy, or a hair lower
    # (the fit's loss is float32), and the same squared error.
    assert history[-1]["loss"] * (1 - 1e-3) < loss < history[-1]["loss"] * (1 + 1e-5)
    assert error.item() == pytest.approx(history[-1]["squared_error"], rel=1e-3)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_reconstructions_are_probabilities(fitted, test_images, dtype):
    codec, _ = fitted
    with torch.no_grad():
        codes = codec.encode(torch.from_numpy(test_images).to(dtype))
        recons = codec.decode(codes)
        # Far outside any fitted code: saturated, still in [0, 1].
        extreme = codec.decode(torch.full((2, LATENT_SIZE), 1e4, dtype=dtype))
    assert codes.dtype == recons.dtype == dtype
    assert recons.shape == test_images.shape
    assert torch.all((recons >= 0) & (recons <= 1))
    assert torch.all((extreme >= 0) & (extreme <= 1))

    by_hand = 1 / (
        1
        + np.exp(
            -(codes.double() @ codec.basis.double()).numpy()
            - codec.bias.double().numpy()
        )
    )
    np.testing.assert_allclose(recons.double().numpy(), by_hand, atol=1e-6)


def test_max_train_images_fits_on_the_first_images(train_images, caplog):
    settings = {**SETTINGS, "max_train_images": 120, "iterations": 20}
    with caplog.at_level(logging.INFO, logger="aelab.models.logistic_pca"):
        limited, _ = fit(train_images, LATENT_SIZE, settings, seed=0, device=CPU)
    assert "first 120 of 300 training images" in caplog.text

    settings = {**settings, "max_train_images": None}
    direct, _ = fit(train_images[:120], LATENT_SIZE, settings, seed=0, device=CPU)
    assert torch.equal(limited.basis, direct.basis)
    assert torch.equal(limited.bias, direct.bias)


def test_a_nan_pixel_stops_the_fit_with_the_models_name(train_images):
    images = train_images.copy()
    images[5, 7] = np.nan
    with pytest.raises(
        AelabError, match="logistic 7: the loss became nan at iteration 0"
    ):
        fit(images, LATENT_SIZE, SETTINGS, seed=0, device=CPU, name="logistic 7")


@pytest.mark.parametrize(
    ("images", "latent_size", "message"),
    [
        (np.full((10, 4), 2.0, dtype=np.float32), 2, "range from 2.0 to 2.0"),
        (np.zeros((10, 4, 4), dtype=np.float32), 2, r"shape \(10, 4, 4\)"),
        (np.zeros((10, 4), dtype=np.float32), 5, "latent size 5 must be between"),
        (np.zeros((10, 4), dtype=np.float32), 0, "latent size 0 must be between"),
    ],
)
def test_bad_input_is_named(images, latent_size, message):
    with pytest.raises(AelabError, match=message):
        fit(images, latent_size, SETTINGS, seed=0, device=CPU)


def test_codec_rejects_mismatched_buffers_and_zero_iterations():
    with pytest.raises(AelabError, match=r"got \(2, 5\) and \(4,\)"):
        LogisticPCACodec(np.zeros((2, 5)), np.zeros(4))
    with pytest.raises(AelabError, match="code_iterations is 0"):
        LogisticPCACodec(np.zeros((2, 5)), np.zeros(5), code_iterations=0)
