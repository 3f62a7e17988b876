"""The synthetic "curves" images: one smooth stroke through three random points.

Each 28x28 image holds one curve. Three points are drawn uniformly in the
square that keeps :data:`MARGIN` pixels clear of the border, no two closer
than :data:`MIN_LEG`. The two farthest apart become the curve's ends, so the
curve is an arc through the third point and never a hairpin. The curve is
the quadratic that passes through the three points, parametrised by t in
[0, 1] and reaching the middle point at the t given by the chord lengths
(the first leg's share of the two legs' total length), held inside
[0.25, 0.75]; chord-length parametrisation keeps the quadratic from
swinging far outside its points when they are unevenly spaced. A curve can
still bulge a little beyond its points and, very rarely (about 3 in 100,000),
past the image's edge, where it is cut.

The stroke is rendered as the line integral of a Gaussian pen of width
:data:`PEN_SIGMA` along the curve, divided by the Gaussian's integral across
a line: a straight stretch then has the Gaussian profile of the distance to
it, with a peak of 1 on the curve, and the two ends fade to half intensity.
Values above 1 (inside tight bends) are clipped. Because the Gaussian is
separable, an image is a (28, S) by (S, 28) matrix product over the S
samples of its curve, which is what makes 30,000 images take seconds.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from aelab.errors import AelabError

log = logging.getLogger(__name__)

SIDE = 28
PIXELS = SIDE * SIDE
# Pixels kept clear between the three points and the image border.
MARGIN = 3.0
# Standard deviation of the Gaussian pen, in pixels: a stroke about 1.4
# pixels wide at half its height.
PEN_SIGMA = 0.6
# The least distance between two points of a curve, in pixels, so that
# every image holds a visible stroke rather than a dot.
MIN_LEG = 6.0
# Candidate triples drawn per image; the first whose points are far enough
# apart is used. About half of all triples fail, so all 32 failing
# (probability about 1e-10 per image) is left to a fallback: the candidate
# whose closest two points are farthest apart.
CANDIDATES = 32
# Samples along each curve. Curves are under 50 pixels long and the samples
# under 0.6 pixels apart (1 sigma), where the ripple of a sum of Gaussians
# along a line is far below 1e-3 of its height.
SAMPLES = 160
# Images drawn and rendered at once: about 120 MB of float64 work arrays.
CHUNK = 1000


def generate(n_images: int, seed: int) -> np.ndarray:
    """``n_images`` curves images from the random stream seeded by ``seed``.

    Parameters
    ----------
    n_images : int
        At least 1.
    seed : int
        Seeds numpy's default generator. The first ``m`` images of a call
        with ``n_images`` > ``m`` equal those of a call with ``m``.

    Returns
    -------
    ndarray of float32 and shape (n_images, 784)
        Each row one 28x28 image in row-major order, values in [0, 1].

    Raises
    ------
    AelabError
        If ``n_images`` is not a positive integer or ``seed`` is negative.
    """
    _check_count("n_images", n_images)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AelabError(
            f"curves: the seed is {seed!r}; it must be a non-negative integer."
        )
    return _generate(n_images, np.random.default_rng(seed))


def make_splits(n_train: int, n_test: int, seed: int) -> dict[str, np.ndarray]:
    """Training and test curves from two independent streams of one seed.

    Parameters
    ----------
    n_train, n_test : int
        The number of images in each split, each at least 1.
    seed : int
        Spawns one child seed per split, so that changing ``n_test`` leaves
        the training images as they were, and the reverse.

    Returns
    -------
    dict
        ``{"train": ndarray of shape (n_train, 784), "test": ndarray of
        shape (n_test, 784)}``, float32 in [0, 1].

    Raises
    ------
    AelabError
        If a count is not a positive integer or ``seed`` is negative.
    """
    _check_count("n_train", n_train)
    _check_count("n_test", n_test)
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AelabError(
            f"curves: the seed is {seed!r}; it must be a non-negative integer."
        )
    train_seed, test_seed = np.random.SeedSequence(seed).spawn(2)
    return {
        "train": _generate(n_train, np.random.default_rng(train_seed)),
        "test": _generate(n_test, np.random.default_rng(test_seed)),
    }


def curve_points(points: np.ndarray) -> np.ndarray:
    """Samples along the quadratic through each image's three points.

    Parameters
    ----------
    points : ndarray of shape (n, 3, 2)
        The three points of each curve, in the order the curve visits them,
        as (column, row) pixel coordinates.

    Returns
    -------
    ndarray of shape (n, SAMPLES, 2)
        Evenly spaced in the curve's parameter t, from the first point to
        the last.
    """
    first, middle, last = points[:, 0], points[:, 1], points[:, 2]
    leg1 = np.linalg.norm(middle - first, axis=1)
    leg2 = np.linalg.norm(last - middle, axis=1)
    # The parameter at the middle point; 0.5 when all three points coincide.
    t1 = np.divide(
        leg1, leg1 + leg2, out=np.full_like(leg1, 0.5), where=leg1 + leg2 > 0
    )
    t1 = np.clip(t1, 0.25, 0.75)[:, None, None]  # (n, 1, 1)

    # Lagrange form of the quadratic with nodes 0, t1 and 1.
    t = np.linspace(0.0, 1.0, SAMPLES)[None, :, None]  # (1, S, 1)
    weight_first = (t - t1) * (t - 1) / t1
    weight_middle = t * (t - 1) / (t1 * (t1 - 1))
    weight_last = t * (t - t1) / (1 - t1)
    return (
        weight_first * first[:, None]
        + weight_middle * middle[:, None]
        + weight_last * last[:, None]
    )


def render(samples: np.ndarray) -> np.ndarray:
    """Images of the strokes through ``samples``, drawn with a Gaussian pen.

    Parameters
    ----------
    samples : ndarray of shape (n, S, 2)
        Points along each curve, in order, as (column, row) coordinates.

    Returns
    -------
    ndarray of float32 and shape (n, 784), values in [0, 1]
    """
    # Arc length that each sample stands for: half of each adjacent step
    # (trapezoidal rule), so uneven speed along t does not change the ink.
    steps = np.linalg.norm(np.diff(samples, axis=1), axis=2)  # (n, S-1)
    ink = np.zeros(samples.shape[:2])
    ink[:, 1:] += steps / 2
    ink[:, :-1] += steps / 2
    ink /= math.sqrt(2 * math.pi) * PEN_SIGMA

    grid = np.arange(SIDE, dtype=np.float64)
    # Each sample's pen, over the columns and over the rows: (n, S, 28).
    across = np.exp(-((grid - samples[..., :1]) ** 2) / (2 * PEN_SIGMA**2))
    down = np.exp(-((grid - samples[..., 1:]) ** 2) / (2 * PEN_SIGMA**2))
    # Sum over samples of ink * down[row] * across[column]: (n, 28, 28).
    images = np.matmul(down.transpose(0, 2, 1), across * ink[..., None])
    return np.clip(images, 0.0, 1.0).reshape(len(samples), PIXELS).astype(np.float32)


def draw_points(n_images: int, rng: np.random.Generator) -> np.ndarray:
    """Three points per image, uniform inside the margin, in the curve's order.

    Parameters
    ----------
    n_images : int
    rng : numpy Generator

    Returns
    -------
    ndarray of shape (n_images, 3, 2)
        (column, row) pixel coordinates, pixel centres at whole numbers. The
        two points farthest apart come first and last, so that the curve is
        an arc through the third rather than a hairpin that doubles back.
        No two points are closer than :data:`MIN_LEG`: rejection sampling
        among :data:`CANDIDATES` triples per image.
    """
    # A fixed number of candidates per image keeps each image's points a
    # function of its place in the random stream alone, whatever the chunks.
    low, high = MARGIN - 0.5, SIDE - 0.5 - MARGIN
    candidates = rng.uniform(low, high, size=(n_images, CANDIDATES, 3, 2))
    # The side opposite each point: (1, 2), (0, 2), (0, 1).
    opposite = np.stack(
        [
            np.linalg.norm(candidates[:, :, 1] - candidates[:, :, 2], axis=2),
            np.linalg.norm(candidates[:, :, 0] - candidates[:, :, 2], axis=2),
            np.linalg.norm(candidates[:, :, 0] - candidates[:, :, 1], axis=2),
        ],
        axis=2,
    )  # (n, C, 3)
    shortest = opposite.min(axis=2)  # (n, C)
    ok = shortest >= MIN_LEG
    # argmax finds the first acceptable candidate; where none is, the best.
    choice = np.where(ok.any(axis=1), ok.argmax(axis=1), shortest.argmax(axis=1))
    rows = np.arange(n_images)
    chosen = candidates[rows, choice]  # (n, 3, 2)

    # The point opposite the longest side goes in the middle.
    middle = opposite[rows, choice].argmax(axis=1)  # (n,)
    orders = np.array([[1, 0, 2], [0, 1, 2], [0, 2, 1]])
    return chosen[rows[:, None], orders[middle]]


def _generate(n_images: int, rng: np.random.Generator) -> np.ndarray:
    start = time.perf_counter()
    images = np.empty((n_images, PIXELS), dtype=np.float32)
    for first in range(0, n_images, CHUNK):
        # numpy's generator fills arrays from one sequential stream, so
        # chunked draws equal one large draw: a longer run extends a shorter.
        points = draw_points(min(CHUNK, n_images - first), rng)
        images[first : first + CHUNK] = render(curve_points(points))
    log.info("curves: %d images in %.1f s", n_images, time.perf_counter() - start)
    return images


def _check_count(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise AelabError(
            f"curves: {name} is {value!r}; it must be a whole number of images, "
            "at least 1."
        )
