"""Latent semantic analysis: the paper's baseline for documents.

A truncated SVD (scikit-learn's TruncatedSVD, ARPACK) of the training
documents' log(1 + count) matrix, not centred, as LSA is usually done. A
document's code is its log(1 + count) row projected onto the top right
singular vectors (U times Sigma for a training document). The fitted
vectors are kept as a small torch module, like PCA's, so that every model
has the same ``encode`` for evaluation.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from torch import nn

from aelab.errors import AelabError


class LSACodec(nn.Module):
    """Encode word counts by log(1 + count) times the top singular vectors.

    Parameters
    ----------
    components : ndarray of shape (latent_size, vocabulary_size)
        Orthonormal rows, largest singular value first.
    """

    def __init__(self, components: np.ndarray) -> None:
        super().__init__()
        self.register_buffer(
            "components", torch.as_tensor(components, dtype=torch.float64)
        )

    def encode(self, counts: torch.Tensor) -> torch.Tensor:
        """Codes of shape (n, latent_size) for counts of shape (n, vocabulary)."""
        return torch.log1p(counts.to(self.components.dtype)) @ self.components.T

    def forward(self, counts: torch.Tensor) -> torch.Tensor:
        return self.encode(counts)


def fit(counts: sparse.spmatrix, latent_size: int, seed: int = 0) -> LSACodec:
    """Fit LSA with ``latent_size`` dimensions to counts (n_documents, vocabulary).

    ARPACK starts from a vector drawn with ``seed``; each singular vector's
    sign is then fixed (largest entry positive) so that refits agree.
    """
    n_documents, n_words = counts.shape
    if latent_size >= min(n_documents, n_words):
        raise AelabError(
            f"LSA with {latent_size} dimensions needs more than {latent_size} "
            f"documents and words; the training data have {n_documents} "
            f"documents of {n_words} words. Use a smaller latent size."
        )
    weighted = sparse.csr_matrix(counts, dtype=np.float64).log1p()
    svd = TruncatedSVD(n_components=latent_size, algorithm="arpack", random_state=seed)
    svd.fit(weighted)
    components = svd.components_
    largest = np.abs(components).argmax(axis=1)
    signs = np.sign(components[np.arange(latent_size), largest])
    return LSACodec(components * signs[:, None])
