"""The published figures that aelab's results are measured against."""

from __future__ import annotations

from typing import NamedTuple


class PaperResult(NamedTuple):
    dataset: str
    method: str  # "autoencoder", "logistic_pca" or "pca"
    latent_size: int
    squared_error: float


# Squared error per test image (sum over the 784 pixels in [0, 1], mean over
# the test images) from Hinton and Salakhutdinov, Science 313 (2006), Fig. 2
# and its text. The autoencoders are the RBM-pretrained networks
# 784-1000-500-250-30 (MNIST) and 784-400-200-100-50-25-6 (curves).
TEST_ERRORS = (
    PaperResult("mnist", "autoencoder", 30, 3.00),
    PaperResult("mnist", "logistic_pca", 30, 8.01),
    PaperResult("mnist", "pca", 30, 13.87),
    PaperResult("curves", "autoencoder", 6, 1.44),
    PaperResult("curves", "logistic_pca", 6, 7.64),
    PaperResult("curves", "logistic_pca", 18, 2.45),
    PaperResult("curves", "pca", 18, 5.90),
)

METHOD_NAMES = {
    "autoencoder": "deep autoencoder",
    "logistic_pca": "logistic PCA",
    "pca": "PCA",
}


def published(dataset: str) -> list[PaperResult]:
    """The paper's figures for one data set."""
    return [result for result in TEST_ERRORS if result.dataset == dataset]
