"""Principal component analysis as a linear encoder and decoder.

scikit-learn fits it; the fitted mean and components are kept as a small
torch module so that PCA and the autoencoders share one interface (encode,
decode) for evaluation and figures.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.decomposition import PCA
from torch import nn


class PCACodec(nn.Module):
    """Project onto the top principal components and back.

    Parameters
    ----------
    mean : ndarray of shape (n_features,)
    components : ndarray of shape (latent_size, n_features)
        Orthonormal rows, largest variance first.
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray) -> None:
        super().__init__()
        # Float64, so that PCA's error matches a direct numpy computation to
        # far better than the two decimals the paper reports.
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer(
            "components", torch.as_tensor(components, dtype=torch.float64)
        )

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return (x.to(self.mean.dtype) - self.mean) @ self.components.T

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        return codes.to(self.mean.dtype) @ self.components + self.mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def fit(images: np.ndarray, latent_size: int, seed: int = 0) -> PCACodec:
    """Fit PCA with ``latent_size`` components to images of shape (n, n_features).

    The full SVD is computed in float64 (scikit-learn's exact solver), so the
    result does not depend on the seed; the seed is passed only for
    completeness. scikit-learn fixes each component's sign, so refits agree.
    """
    pca = PCA(n_components=latent_size, svd_solver="full", random_state=seed)
    pca.fit(images.astype(np.float64))
    return PCACodec(pca.mean_, pca.components_)
