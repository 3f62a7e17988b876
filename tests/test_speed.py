"""The fast training loops compute what the usual DataLoader loops compute.

The fast path keeps the data on the device, slices batches from a permuted
index, uses fused optimizers and syncs once per epoch; the usual path
(aelab.training.reference) uses a DataLoader, PyTorch's default optimizers
and a .item() per batch. Fed the same batches from the same starting
weights, they must agree to float rounding.
"""

from __future__ import annotations

import copy

import pytest
import torch

from aelab.models.autoencoder import Autoencoder
from aelab.models.rbm import RBM, RBMTrainer, train_rbm
from aelab.training import loop, reference

N_IMAGES, N_PIXELS, SEED = 120, 16, 3


def tiny_images() -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(N_IMAGES, N_PIXELS, generator=generator)


def settings(optimizer: str, loss: str) -> dict:
    return {
        "optimizer": optimizer,
        "learning_rate": 0.01,
        "batch_size": 25,  # the last batch is short (120 = 4 x 25 + 20)
        "epochs": 3,
        "loss": loss,
    }


@pytest.mark.parametrize(
    ("optimizer", "loss"),
    [("adam", "cross_entropy"), ("adam", "squared_error"), ("sgd", "squared_error")],
)
def test_fast_loop_matches_the_usual_loop(optimizer, loss):
    images = tiny_images()
    config = settings(optimizer, loss)
    torch.manual_seed(1)
    fast = Autoencoder(N_PIXELS, [8], 3)
    usual = copy.deepcopy(fast)

    history = loop.train(fast, images, config, seed=SEED)

    # The same permutations, epoch by epoch, that the fast loop drew.
    generator = torch.Generator().manual_seed(SEED)
    if optimizer == "adam":
        optimiser = reference.adam(usual, config)
    else:
        optimiser = torch.optim.SGD(usual.parameters(), lr=0.01, momentum=0.9)
    usual_losses = []
    for _ in range(config["epochs"]):
        order = torch.randperm(N_IMAGES, generator=generator)
        batches = reference.loader(images, config["batch_size"], SEED, order=order)
        usual_losses.append(reference.train_epoch(usual, batches, optimiser, loss))

    # Float32 arithmetic in another order: agree to about 1e-6 relative.
    fast_losses = [record["loss"] for record in history]
    assert fast_losses == pytest.approx(usual_losses, rel=1e-5, abs=1e-6)
    for a, b in zip(fast.parameters(), usual.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_fused_optimizer_is_used_on_the_cpu():
    model = Autoencoder(N_PIXELS, [8], 3)
    optimizer = loop.make_optimizer(model, settings("adam", "squared_error"))
    assert optimizer.defaults["fused"] is True


def test_fast_rbm_epochs_match_the_usual_rbm_epochs():
    images = tiny_images()
    config = {
        "epochs": 3,
        "batch_size": 25,
        "init_std": 0.1,
        "weight_cost": 0.0002,
        "initial_momentum": 0.5,
        "final_momentum": 0.9,
        "momentum_switch_epoch": 1,
    }
    fast, history = train_rbm(
        images, 6, "binary", config, 0.1, torch.Generator().manual_seed(SEED)
    )

    # train_rbm draws the weights, then one fixed batch order, then the
    # hidden samples, all from one generator: replay that on the usual path.
    generator = torch.Generator().manual_seed(SEED)
    usual = RBM.initial(N_PIXELS, 6, "binary", 0.1, generator)
    order = torch.randperm(N_IMAGES, generator=generator)
    batches = reference.loader(images, config["batch_size"], SEED, order=order)
    trainer = RBMTrainer(
        learning_rate=0.1,
        weight_cost=config["weight_cost"],
        initial_momentum=config["initial_momentum"],
        final_momentum=config["final_momentum"],
        momentum_switch_epoch=config["momentum_switch_epoch"],
    )
    errors = [
        reference.rbm_epoch(usual, batches, trainer, epoch, generator)
        for epoch in range(1, config["epochs"] + 1)
    ]

    assert [r["reconstruction_error"] for r in history] == pytest.approx(
        errors, rel=1e-5
    )
    torch.testing.assert_close(fast.weights, usual.weights, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast.hidden_bias, usual.hidden_bias)
    torch.testing.assert_close(fast.visible_bias, usual.visible_bias)
