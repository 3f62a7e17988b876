"""Models, the training loop and the squared error, against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from aelab.config import load_params
from aelab.errors import AelabError
from aelab.evaluate.reconstruction import (
    encode_and_reconstruct,
    showcase_indices,
    squared_error_per_image,
)
from aelab.models import autoencoder, pca, store
from aelab.training import loop
from conftest import ROOT, synthetic_digits


@pytest.fixture(scope="module")
def digits():
    images, labels = synthetic_digits(200, seed=3)
    return images.reshape(200, 784).astype(np.float32) / 255.0, labels


def test_squared_error_per_image_sums_pixels_and_averages_images():
    x = np.zeros((2, 4))
    y = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    # Image 1: 1 + 1 = 2; image 2: 4; mean over the two images: 3.
    assert squared_error_per_image(x, y) == pytest.approx(3.0, abs=1e-12)


def test_pca_error_matches_direct_numpy_computation(digits):
    images, _ = digits
    train, test = images[:150], images[150:]
    model = pca.fit(train, latent_size=5)
    _, recon = encode_and_reconstruct(model, test)

    # Direct computation: top right-singular vectors of the centred data.
    mean = train.astype(np.float64).mean(axis=0)
    _, _, vt = np.linalg.svd(train.astype(np.float64) - mean, full_matrices=False)
    basis = vt[:5]
    direct = (test - mean) @ basis.T @ basis + mean
    expected = np.square(test - direct).sum(axis=1).mean()
    assert squared_error_per_image(test, recon) == pytest.approx(expected, rel=1e-6)


def test_pca_codes_are_orthonormal_projections(digits):
    images, _ = digits
    model = pca.fit(images, latent_size=3)
    gram = (model.components @ model.components.T).numpy()
    np.testing.assert_allclose(gram, np.eye(3), atol=1e-10)


@pytest.mark.parametrize("kind", ["cross_entropy", "squared_error"])
def test_autoencoder_loss_matches_hand_computation(kind):
    torch.manual_seed(0)
    model = autoencoder.Autoencoder(6, [4], 2, "sigmoid", "linear", "sigmoid")
    x = torch.rand(5, 6, dtype=torch.float32)
    out = model(x)
    if kind == "cross_entropy":
        per_pixel = -(x * torch.log(out) + (1 - x) * torch.log(1 - out))
    else:
        per_pixel = (out - x) ** 2
    expected = per_pixel.sum(dim=1).mean()
    assert model.loss(x, kind).item() == pytest.approx(expected.item(), rel=1e-5)


def test_autoencoder_layers_follow_settings():
    settings = load_params(ROOT / "params.yaml")["models"]["deep"]
    model = autoencoder.build(settings, 784, 30)
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [tuple(m.weight.shape) for m in linear]
    assert shapes == [
        (1000, 784),
        (500, 1000),
        (250, 500),
        (30, 250),
        (250, 30),
        (500, 250),
        (1000, 500),
        (784, 1000),
    ]
    assert isinstance(model.encoder[-1], torch.nn.Identity)  # linear code
    codes = model.encode(torch.rand(3, 784))
    assert codes.shape == (3, 30)
    assert model(torch.rand(3, 784)).min() >= 0  # logistic output


def _settings(**changes):
    base = {
        "hidden_sizes": [32],
        "hidden_activation": "sigmoid",
        "code_activation": "linear",
        "output_activation": "sigmoid",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 20,
        "epochs": 15,
    }
    return base | changes


def test_training_lowers_the_error_and_is_seeded(digits):
    images, _ = digits
    data = torch.from_numpy(images)
    results = []
    for _ in range(2):
        torch.manual_seed(0)
        model = autoencoder.build(_settings(), 784, 4)
        with torch.no_grad():
            before = squared_error_per_image(images, model(data).numpy())
        history = loop.train(model, data, _settings(), seed=0)
        with torch.no_grad():
            results.append(squared_error_per_image(images, model(data).numpy()))
    assert len(history) == 15
    assert history[-1]["loss"] < history[0]["loss"]
    assert results[0] < 0.5 * before
    assert results[0] == results[1]  # same seed, same numbers, exactly


def test_nan_loss_stops_training_with_the_epoch(digits):
    images, _ = digits
    model = autoencoder.build(_settings(epochs=2), 784, 4)
    with torch.no_grad():
        model.encoder[0].weight.fill_(float("nan"))
    with pytest.raises(AelabError, match="loss became nan in epoch 1"):
        loop.train(model, torch.from_numpy(images), _settings(epochs=2), 0, "bad")


def test_save_and_load_round_trip(tmp_path, digits):
    images, _ = digits
    torch.manual_seed(0)
    settings = _settings()
    model = autoencoder.build(settings, 784, 4).eval()
    record = {
        "kind": "autoencoder",
        "settings": settings,
        "latent_size": 4,
        "input_size": 784,
    }
    store.save(tmp_path / "m.pt", model, record)
    loaded, loaded_record = store.load(tmp_path / "m.pt")
    assert loaded_record == record
    x = torch.from_numpy(images[:5])
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)

    codec = pca.fit(images, 3)
    store.save(tmp_path / "p.pt", codec, {"kind": "pca", "latent_size": 3})
    loaded, _ = store.load(tmp_path / "p.pt")
    torch.testing.assert_close(loaded.components, codec.components)


def test_damaged_model_file_is_named(tmp_path):
    path = tmp_path / "half.pt"
    path.write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(AelabError, match=r"half\.pt: not a readable aelab model"):
        store.load(path)


def test_showcase_indices_cycle_through_classes():
    labels = np.array([3, 0, 1, 0, 2, 1, 3, 2, 0])
    # First of each class (0, 1, 2, 3), then the second of each.
    assert showcase_indices(labels, 6).tolist() == [1, 2, 4, 0, 3, 5]
    assert len(showcase_indices(labels, 100)) == len(labels)
