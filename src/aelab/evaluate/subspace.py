"""How far a linear autoencoder's decoder is from the PCA subspace.

A linear autoencoder trained to its optimum under squared error spans the
same subspace as the top-k principal components (its weights need not be
the components themselves, only span them). The principal angles between
the decoder's column space and that subspace measure how close training
came; the largest one is 0 degrees at the optimum. scipy computes them.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.linalg import subspace_angles
from torch import nn


def is_linear(settings: dict) -> bool:
    """Whether an autoencoder's entry in params.yaml makes an affine map."""
    return settings.get("layers", "dense") == "dense" and all(
        settings[key] == "linear"
        for key in ("hidden_activation", "code_activation", "output_activation")
    )


@torch.no_grad()
def decoder_columns(model: nn.Module) -> np.ndarray:
    """The columns (n_pixels, k) of a linear decoder's matrix, in float64.

    A linear decoder is affine, decode(z) = A z + c, however many layers it
    has; column j of A is decode(e_j) - decode(0).
    """
    model = copy.deepcopy(model).double()  # the caller's model stays as it is
    eye = torch.eye(model.latent_size, dtype=torch.float64)
    origin = model.decode(torch.zeros(1, model.latent_size, dtype=torch.float64))
    return (model.decode(eye) - origin).T.numpy()


def principal_components(images: np.ndarray, k: int) -> np.ndarray:
    """The top ``k`` principal directions (n_pixels, k) of ``images`` (n, n_pixels).

    From the eigenvectors of the pixels' scatter matrix in float64: a
    784 x 784 problem, much faster than the SVD of all the images, and the
    same subspace.
    """
    centred = images.astype(np.float64) - images.mean(axis=0, dtype=np.float64)
    _, vectors = np.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
    return np.ascontiguousarray(vectors[:, ::-1][:, :k])


def largest_principal_angle(model: nn.Module, train_images: np.ndarray) -> float:
    """Largest principal angle, in degrees, between the decoder and top-k PCA.

    Parameters
    ----------
    model : Autoencoder
        With a linear decoder.
    train_images : ndarray of shape (n, n_pixels)
        The images it was trained on; their top ``model.latent_size``
        principal directions are the reference.
    """
    components = principal_components(train_images, model.latent_size)
    angles = subspace_angles(decoder_columns(model), components)
    return float(np.degrees(angles.max()))
