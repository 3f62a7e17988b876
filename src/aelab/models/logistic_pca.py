"""Logistic PCA: a low-rank model of the pixels' log-odds.

The paper's third baseline after PCA and the autoencoders. Each image's
pixels are treated as Bernoulli probabilities whose log-odds lie on a
``latent_size``-dimensional affine subspace::

    logits = codes @ basis + bias      # (n, k) @ (k, d) + (d,)
    reconstructions = sigmoid(logits)

and the model is fitted by the Bernoulli likelihood, that is the binary
cross-entropy with the real pixel values in [0, 1] as soft targets.

Codes, basis and bias are fitted jointly by full-batch L-BFGS. A new image's
code is the one that minimises its cross-entropy with the basis and bias held
fixed: a convex problem per image, solved by L-BFGS as well, so ``encode``
is an optimisation rather than a matrix product and costs far more than
PCA's.

No penalty keeps the log-odds finite: pixels that are exactly 0 or 1 pull
their logits towards minus or plus infinity, slowly. The number of L-BFGS
iterations is what bounds them, in the fit and in ``encode``.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from aelab.errors import AelabError

log = logging.getLogger(__name__)

# How many L-BFGS iterations run between two history records and log lines.
RECORD_EVERY = 10
# Per-pixel means are clipped this far from 0 and 1 before their logit is
# taken, so that always-black pixels start at a finite bias (about -6.9).
MEAN_CLIP = 1e-3
# The slope of the logit at 1/2: a pixel-scale deviation times this is a
# rough log-odds deviation, good enough as a starting point.
LOGIT_SLOPE = 4.0


class LogisticPCACodec(nn.Module):
    """Encode by fitting log-odds codes, decode through the logistic function.

    Parameters
    ----------
    basis : array-like of shape (latent_size, n_features)
        The log-odds directions, one per row.
    bias : array-like of shape (n_features,)
        The log-odds of each pixel at code zero.
    code_iterations : int, default=100
        The most L-BFGS iterations ``encode`` spends on a batch.

    Notes
    -----
    ``code_iterations`` is a plain attribute, not part of the state dict:
    whoever rebuilds a saved codec passes it again from the settings.
    """

    def __init__(
        self,
        basis: np.ndarray | torch.Tensor,
        bias: np.ndarray | torch.Tensor,
        code_iterations: int = 100,
    ) -> None:
        super().__init__()
        basis = torch.as_tensor(basis, dtype=torch.float32)
        bias = torch.as_tensor(bias, dtype=torch.float32)
        if basis.ndim != 2 or bias.shape != basis.shape[1:]:
            raise AelabError(
                f"logistic PCA needs a basis of shape (latent_size, n_features) "
                f"and a bias of shape (n_features,); got {tuple(basis.shape)} "
                f"and {tuple(bias.shape)}. Rebuild the codec from a matching pair."
            )
        if code_iterations < 1:
            raise AelabError(
                f"logistic PCA: code_iterations is {code_iterations}; it must be "
                "at least 1."
            )
        # Float32 like the autoencoders: the fit runs on the training device
        # in float32, and evaluation reads the model's precision from here.
        self.register_buffer("basis", basis)
        self.register_buffer("bias", bias)
        self.code_iterations = int(code_iterations)

    @property
    def latent_size(self) -> int:
        return self.basis.shape[0]

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes that minimise each image's cross-entropy, basis held fixed.

        Parameters
        ----------
        x : Tensor of shape (n, n_features)
            Pixel values in [0, 1], float32 or float64.

        Returns
        -------
        Tensor of shape (n, latent_size)
            In the promoted precision of ``x`` and the buffers, on the
            buffers' device. Deterministic: L-BFGS starts from zero codes.

        Notes
        -----
        L-BFGS's stopping rules see the batch as a whole, so how closely an
        image's code reaches its optimum depends a little on the other
        images of its batch; at ``code_iterations`` = 100 the gradients left
        are near 1e-5 on the tests' data, far below what changes a pixel.
        """
        out_dtype = torch.promote_types(x.dtype, self.basis.dtype)
        # Float64 inside: the summed loss of a batch of 2000 images is about
        # 1e5, which float32 resolves only to about 1e-2, too coarse for the
        # line search once the codes are close to their optimum.
        basis = self.basis.to(torch.float64)
        bias = self.bias.to(torch.float64)
        x = x.to(device=basis.device, dtype=torch.float64)
        codes = torch.zeros(len(x), self.latent_size, dtype=torch.float64)
        codes = codes.to(basis.device).requires_grad_()

        # The objective is a sum of one convex term per image, so one L-BFGS
        # run over all codes of the batch finds every image's optimum.
        optimizer = torch.optim.LBFGS(
            [codes],
            max_iter=self.code_iterations,
            max_eval=2 * self.code_iterations,
            history_size=20,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = code_loss(codes, x, basis, bias)
            loss.backward()
            return loss

        # Callers evaluate under torch.no_grad(); the codes need gradients.
        with torch.enable_grad():
            optimizer.step(closure)
        return codes.detach().to(out_dtype)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Reconstructions sigmoid(codes @ basis + bias), shape (n, n_features)."""
        basis = self.basis.to(codes.dtype)
        return torch.sigmoid(torch.addmm(self.bias.to(codes.dtype), codes, basis))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def code_loss(
    codes: torch.Tensor, x: torch.Tensor, basis: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of ``x`` under the codes' log-odds, summed over everything.

    Parameters
    ----------
    codes : Tensor of shape (n, latent_size)
    x : Tensor of shape (n, n_features)
        Soft targets in [0, 1].
    basis : Tensor of shape (latent_size, n_features)
    bias : Tensor of shape (n_features,)

    Returns
    -------
    Tensor of shape ()
        Computed from the logits, which stays accurate where the logistic
        function saturates.
    """
    logits = torch.addmm(bias, codes, basis)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="sum")


def fit(
    images: np.ndarray,
    latent_size: int,
    settings: dict[str, Any],
    seed: int,
    device: torch.device,
    name: str = "logistic PCA",
) -> tuple[LogisticPCACodec, list[dict[str, float]]]:
    """Fit logistic PCA with ``latent_size`` codes by full-batch L-BFGS.

    Parameters
    ----------
    images : ndarray of shape (n_images, n_features)
        Pixel values in [0, 1], float32.
    latent_size : int
        Between 1 and min(n_images, n_features).
    settings : dict
        The model's entry in params.yaml: ``max_train_images`` (int or None:
        fit on the first that many images only), ``iterations`` (the most
        L-BFGS iterations of the joint fit) and ``code_iterations`` (the most
        L-BFGS iterations of ``encode`` on new images).
    seed : int
        Unused: the starting point comes from an eigendecomposition and
        L-BFGS draws no random numbers, so the fit is deterministic. It is
        accepted so that every model's fit is called alike.
    device : torch.device
        Where the training images, codes, basis and bias live during the fit.
    name : str
        Used in log lines and error messages.

    Returns
    -------
    codec : LogisticPCACodec
        On the CPU, like the fitted PCA.
    history : list of dict
        One record at the start, then one about every ten iterations (fewer
        where a stretch of line searches runs out of evaluations) and at the
        end: iteration, loss (cross-entropy per image), squared_error (per
        image, of the training images used), seconds (since the previous
        record).

    Raises
    ------
    AelabError
        If the images are not a 2-D array of values in [0, 1], if
        ``latent_size`` does not fit them, or if the loss becomes NaN or
        infinite (then no model should be saved).
    """
    del seed  # see the docstring: nothing random happens here
    limit = settings["max_train_images"]
    if limit is not None and limit < len(images):
        log.info(
            "%s: fitting on the first %d of %d training images "
            "(max_train_images), for speed",
            name,
            limit,
            len(images),
        )
        images = images[:limit]
    images = _checked_images(images, latent_size, name)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(device)
    n_images = len(x)

    codes, basis, bias = initial_parameters(x, latent_size)
    for tensor in (codes, basis, bias):
        tensor.requires_grad_()
    optimizer = torch.optim.LBFGS(
        [codes, basis, bias],
        max_iter=RECORD_EVERY,
        # Enough evaluations for the line searches of ten iterations: the
        # iteration count, not the evaluation count, bounds each stretch.
        max_eval=3 * RECORD_EVERY,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = code_loss(codes, x, basis, bias) / n_images
        loss.backward()
        return loss

    history = [_record(0, codes, x, basis, bias, 0.0, name)]
    _log_record(name, history[-1], settings["iterations"])
    done, max_eval = 0, optimizer.param_groups[0]["max_eval"]
    while done < settings["iterations"]:
        start = time.perf_counter()
        wanted = min(RECORD_EVERY, settings["iterations"] - done)
        optimizer.param_groups[0]["max_iter"] = wanted
        state = optimizer.state[codes]  # L-BFGS keeps its count here
        evals_before = state.get("func_evals", 0)
        optimizer.step(closure)

        reached, evals = state["n_iter"], state["func_evals"] - evals_before
        if reached == done:
            # L-BFGS returned at once: the gradient is below its tolerance.
            log.info("%s: converged after %d iterations", name, done)
            break
        # Fewer iterations than asked, with evaluations to spare, means that
        # L-BFGS met a tolerance on the step or the loss change: it is done.
        stalled = reached - done < wanted and evals < max_eval
        done = reached
        seconds = time.perf_counter() - start
        history.append(_record(done, codes, x, basis, bias, seconds, name))
        _log_record(name, history[-1], settings["iterations"])
        if stalled:
            log.info("%s: L-BFGS stopped making progress at iteration %d", name, done)
            break

    codec = LogisticPCACodec(
        basis.detach().cpu(), bias.detach().cpu(), settings["code_iterations"]
    )
    return codec, history


def initial_parameters(
    x: torch.Tensor, latent_size: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A deterministic starting point from the pixel-space principal components.

    Parameters
    ----------
    x : Tensor of shape (n_images, n_features)
    latent_size : int

    Returns
    -------
    codes : Tensor of shape (n_images, latent_size)
    basis : Tensor of shape (latent_size, n_features)
    bias : Tensor of shape (n_features,)
        The logit of each pixel's clipped mean. Codes times basis are the
        PCA reconstruction's deviation from the mean, times the logit's slope
        at 1/2; all three are float32 on ``x``'s device.
    """
    mean = x.double().mean(dim=0)
    bias = torch.logit(mean.clamp(MEAN_CLIP, 1 - MEAN_CLIP))

    # The covariance is only (d, d); its eigendecomposition in float64 is
    # exact enough and, unlike a randomised SVD, needs no random numbers.
    centred = x.double().sub_(mean)
    eigenvalues, vectors = torch.linalg.eigh(centred.T @ centred / len(x))
    order = torch.argsort(eigenvalues, descending=True)[:latent_size]
    directions = vectors[:, order].T  # (k, d), orthonormal rows
    # Fix each direction's sign (largest entry positive), so that the start,
    # and so the fit, does not depend on the eigensolver's arbitrary choice.
    largest = directions.abs().argmax(dim=1, keepdim=True)
    directions *= directions.gather(1, largest).sign()
    projections = centred @ directions.T  # (n, k)

    # Split each component's scale evenly between its codes and its basis
    # row: L-BFGS is not scale-invariant and works best when the two blocks
    # of variables are of one size.
    spread = projections.square().mean(dim=0).sqrt().clamp_min(1e-6)  # (k,)
    split = (LOGIT_SLOPE * spread).sqrt()
    codes = projections * (LOGIT_SLOPE / split)
    basis = directions * split[:, None]
    # Contiguous copies: L-BFGS flattens each gradient with a view.
    return tuple(t.float().contiguous() for t in (codes, basis, bias))


def _checked_images(images: np.ndarray, latent_size: int, name: str) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 2:
        raise AelabError(
            f"{name}: the training images have shape {images.shape}; expected "
            "(n_images, n_features). Flatten each image into one row."
        )
    n_images, n_features = images.shape
    if not 1 <= latent_size <= min(n_images, n_features):
        raise AelabError(
            f"{name}: latent size {latent_size} must be between 1 and "
            f"{min(n_images, n_features)} for {n_images} images of {n_features} "
            "pixels. Use a smaller size in sweep.latent_sizes."
        )
    # NaN passes this check on purpose: the loss then reports it.
    low, high = np.nanmin(images), np.nanmax(images)
    if low < 0 or high > 1:
        raise AelabError(
            f"{name}: pixel values range from {low} to {high}; logistic PCA "
            "needs values in [0, 1]. Scale the images into [0, 1] first."
        )
    return images


def _record(
    iteration: int,
    codes: torch.Tensor,
    x: torch.Tensor,
    basis: torch.Tensor,
    bias: torch.Tensor,
    seconds: float,
    name: str,
) -> dict[str, float]:
    with torch.no_grad():
        logits = torch.addmm(bias, codes, basis)
        loss = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        error = (torch.sigmoid(logits) - x).square().sum()
    # One host sync per record: the two sums, divided in float64.
    loss_value, error_value = (v / len(x) for v in torch.stack([loss, error]).tolist())
    if not math.isfinite(loss_value):
        raise AelabError(
            f"{name}: the loss became {loss_value} at iteration {iteration} of "
            "the fit. No model was written. Check the training images for NaN "
            "or infinite values, or lower models.<name>.iterations."
        )
    return {
        "iteration": iteration,
        "loss": loss_value,
        "squared_error": error_value,
        "seconds": seconds,
    }


def _log_record(name: str, record: dict[str, float], iterations: int) -> None:
    log.info(
        "%s: iteration %d/%d  loss %.3f  squared error %.3f  %.1f s",
        name,
        record["iteration"],
        iterations,
        record["loss"],
        record["squared_error"],
        record["seconds"],
    )
