"""The denoising autoencoder at work: corrupted test digits and their repair."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from aelab.data.prepared import load_images
from aelab.errors import AelabError
from aelab.figures.common import digit_grid, load_codes, plt, save
from aelab.models import regularizers, store


def draw(
    test_path: str | os.PathLike,
    model_path: str | os.PathLike,
    codes_path: str | os.PathLike,
    seed: int,
    out_path: str | os.PathLike,
) -> None:
    """Three rows: test digits, the same digits corrupted, the reconstructions.

    The digits are the evaluate step's showcase images (``codes_path``); they
    are corrupted as the model was in training (its ``corruption``
    settings), with noise drawn from ``seed``.
    """
    model, record = store.load(model_path)
    corruption = record["settings"].get("corruption")
    if not corruption:
        raise AelabError(
            f"{model_path}: model '{record['model']}' was trained without a "
            "corruption; figures.denoising.model must name a denoising model."
        )
    images, _ = load_images(test_path)
    shown = load_codes(codes_path)["showcase_indices"]
    clean = torch.from_numpy(images[shown])  # (n, 784)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        noisy = regularizers.corrupt(
            clean, corruption["kind"], corruption["level"], generator=generator
        )
        repaired = model.decode(model.encode(noisy))
    rows = [
        ("original", clean.numpy()),
        (f"{corruption['kind']}\n{corruption['level']:g}", noisy.numpy()),
        (f"{record['model']}\n{record['latent_size']}-D", repaired.numpy()),
    ]

    n_cols = len(shown)
    size = (0.8 * n_cols + 1.2, 2.7)
    fig, axes = plt.subplots(3, n_cols, figsize=size, squeeze=False)
    digit_grid(axes, rows)
    fig.suptitle(
        f"Denoising: corrupted test digits and {Path(model_path).parent.name}'s "
        "reconstructions",
        fontsize=10,
    )
    save(fig, out_path)
