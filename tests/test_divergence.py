"""Training that meets a NaN or infinite loss stops, names where, writes nothing.

The loops read the loss back once per epoch, so they stop at the end of the
epoch in which it went bad; the tests record every batch's loss themselves
(wrapping the model's loss or the RBM's CD-1 step) to know which batch the
error must name.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

from aelab.cli import main
from aelab.errors import AelabError
from aelab.models import autoencoder
from aelab.models.rbm import RBM, pretrain_stack
from aelab.training import loop
from aelab.training.divergence import where_it_failed
from conftest import cli_project, synthetic_digits

LINEAR = {
    "kind": "autoencoder",
    "hidden_sizes": [],
    "hidden_activation": "linear",
    "code_activation": "linear",
    "output_activation": "linear",
    "loss": "squared_error",
    "optimizer": "sgd",
    "learning_rate": 0.0002,
    "batch_size": 16,
    "epochs": 3,
}
PRETRAINING = {
    "epochs": 2,
    "batch_size": 16,
    "learning_rate": 0.1,
    "top_learning_rate": 0.001,
    "weight_cost": 0.0002,
    "initial_momentum": 0.5,
    "final_momentum": 0.9,
    "momentum_switch_epoch": 5,
    "init_std": 0.1,
}
FINE_TUNING_ADVICE = (
    "Training stopped at the end of that epoch and no model was written. Lower "
    "models.<name>.learning_rate in params.yaml and run again."
)


@pytest.fixture
def images():
    """60 images of shape (60, 784) in [0, 1]: four batches of 16, 16, 16, 12."""
    digits, _ = synthetic_digits(60, seed=1)
    return torch.from_numpy(digits.reshape(60, 784).astype(np.float32) / 255)


def first_bad(values, per_epoch):
    """(epoch, batch) of the first value that is not finite, both from 1."""
    index = next(i for i, v in enumerate(values) if not math.isfinite(v))
    return index // per_epoch + 1, index % per_epoch + 1, values[index]


def recording_model(settings):
    """A model whose loss also lands, read back, in the returned list."""
    torch.manual_seed(0)
    model = autoencoder.build(settings, 784, 2)
    seen = []
    loss = model.loss

    def recorded(batch, kind):
        value = loss(batch, kind)
        seen.append(value.item())
        return value

    model.loss = recorded
    return model, seen


@pytest.mark.parametrize(
    ("nan_image", "learning_rate"),
    [(37, 0.0002), (None, 0.004)],
    ids=["nan-pixel", "diverging-learning-rate"],
)
def test_fine_tuning_names_model_epoch_and_first_bad_batch(
    images, nan_image, learning_rate
):
    if nan_image is not None:
        images[nan_image, 300] = float("nan")
    settings = {**LINEAR, "learning_rate": learning_rate}
    model, seen = recording_model(settings)
    with pytest.raises(AelabError) as info:
        loop.train(model, images, settings, seed=0, name="linear latent 2")

    epoch, batch, value = first_bad(seen, per_epoch=4)
    assert str(info.value) == (
        f"linear latent 2: the training loss became {value} in epoch {epoch}, "
        f"batch {batch} of 4. {FINE_TUNING_ADVICE}"
    )
    # It stopped at the end of that epoch, not later.
    assert len(seen) == 4 * epoch
    if nan_image is not None:
        assert (epoch, str(value)) == (1, "nan")
    else:
        assert epoch >= 2 and value == math.inf  # diverged after a good epoch


def test_fine_tuning_reads_the_device_once_per_epoch(images, monkeypatch):
    reads = []
    for method in ("item", "tolist", "__float__", "__bool__"):
        original = getattr(torch.Tensor, method)

        def counted(self, *args, _original=original, _name=method):
            reads.append(_name)
            return _original(self, *args)

        monkeypatch.setattr(torch.Tensor, method, counted)
    torch.manual_seed(0)
    model = autoencoder.build(LINEAR, 784, 2)
    history = loop.train(model, images, LINEAR, seed=0)
    assert len(history) == 3
    assert reads == ["tolist"] * 3


@pytest.fixture
def recorded_cd1(monkeypatch):
    """Every CD-1 step's reconstruction error per case, read back."""
    seen = []
    cd1 = RBM.cd1

    def recorded(self, visible, generator):
        gradients, squared_error = cd1(self, visible, generator)
        seen.append((squared_error / len(visible)).item())
        return gradients, squared_error

    monkeypatch.setattr(RBM, "cd1", recorded)
    return seen


def test_pretraining_names_the_rbm_epoch_and_first_bad_batch(images, recorded_cd1):
    images[41, 500] = float("nan")
    with pytest.raises(AelabError) as info:
        pretrain_stack(images, [784, 16, 8, 2], PRETRAINING, "linear", 0, "deep 2")
    epoch, batch, value = first_bad(recorded_cd1, per_epoch=4)
    assert (epoch, str(value)) == (1, "nan")
    assert str(info.value) == (
        f"deep 2 RBM 1 of 3 (784-16): the reconstruction error became nan in "
        f"epoch 1, batch {batch} of 4. Pretraining stopped at the end of that "
        "epoch and no model was written. Lower the pretraining learning rates in "
        "params.yaml (models.<name>.pretraining.learning_rate, or "
        "top_learning_rate for the top RBM) and run again."
    )
    assert len(recorded_cd1) == 4


def test_pretraining_catches_infinite_weights_behind_a_finite_error(
    images, recorded_cd1
):
    # A huge rate blows up the top RBM's weights while its logistic visible
    # units keep every reconstruction error finite.
    settings = {**PRETRAINING, "top_learning_rate": 1e6}
    with pytest.raises(AelabError) as info:
        pretrain_stack(images, [784, 16, 8, 2], settings, "linear", 0, "deep 2")
    assert all(math.isfinite(v) for v in recorded_cd1)
    message = str(info.value)
    assert re.match(
        r"deep 2 RBM 3 of 3 \(8-2\): the weights became nan or infinite in epoch "
        r"\d \(of 4 batches\) though every batch's reconstruction error stayed "
        r"finite, so no single batch can be named\. Pretraining stopped",
        message,
    ), message


@pytest.mark.parametrize(
    ("losses", "weights_finite", "expected"),
    [
        (
            [1.0, float("inf"), float("nan")],
            False,
            "became inf in epoch 4, batch 2 of 3",
        ),
        ([float("nan"), 2.0], False, "became nan in epoch 4, batch 1 of 2"),
        (
            [1.0, 2.0],
            False,
            "the weights became nan or infinite in epoch 4 (of 2 batches) though "
            "every batch's loss stayed finite, so no single batch can be named",
        ),
        (
            [3e38, 3e38, 1.0],
            True,
            "the loss summed over epoch 4 overflowed, though every batch's was "
            "finite (the largest, 3e+38, in batch 1 of 3)",
        ),
    ],
    ids=["inf-then-nan", "nan-first", "weights-only", "sum-overflow"],
)
def test_where_it_failed(losses, weights_finite, expected):
    text = where_it_failed(torch.tensor(losses), "loss", 4, weights_finite)
    assert text.endswith(expected)


@pytest.fixture
def project(tmp_path, monkeypatch, mnist_mirror):
    def diverging(params):
        params["models"]["linear"].update(optimizer="sgd", learning_rate=0.004)
        pretraining = params["models"]["deep_pretrained"]["pretraining"]
        pretraining["top_learning_rate"] = 1e6

    project = cli_project(tmp_path, monkeypatch, mnist_mirror, change=diverging)
    assert main(["fetch"]) == 0 and main(["prepare"]) == 0
    return project


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            "linear",
            r"linear latent 2: the training loss became (inf|nan) in epoch \d+, "
            r"batch \d of 4\. Training stopped at the end of that epoch and no "
            r"model was written\.",
        ),
        (
            "deep_pretrained",
            r"deep_pretrained latent 2 RBM 3 of 3 \(8-2\): the weights became nan "
            r"or infinite in epoch \d+ .* Pretraining stopped at the end of that "
            r"epoch and no model was written\.",
        ),
    ],
)
def test_train_step_that_diverges_writes_no_model(project, capsys, model, expected):
    out = project / "results/mnist/models" / model / "latent-2.pt"
    code = main(["train", "--model", model, "--latent", "2", "--out", str(out)])
    assert code == 1
    assert re.search(expected, capsys.readouterr().err)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []
