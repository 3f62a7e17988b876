"""The synthetic curves: shape, range, determinism and what a stroke looks like."""

import numpy as np
import pytest

from aelab.data import curves
from aelab.errors import AelabError


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return curves.generate(2000, seed=11)


def test_shape_dtype_and_range(images):
    assert images.shape == (2000, 784)
    assert images.dtype == np.float32
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_every_image_holds_one_visible_stroke(images):
    # The pen peaks at 1 on the curve; some pixel centre lies close to it.
    assert images.max(axis=1).min() > 0.8
    # A stroke about two pixels wide and 12 to 50 pixels long.
    lit = (images > 0.3).sum(axis=1)
    assert lit.min() >= 15 and lit.max() <= 200
    # Most of each image is background.
    assert np.median((images < 0.01).mean(axis=1)) > 0.8


def test_mean_squared_pixel_value(images):
    # A straight stroke of length L has a sum of squared pixels of about
    # L * sqrt(pi) * sigma (the Gaussian profile squared, integrated
    # across); curves average about 23 pixels, so about 24 per image.
    per_image = np.square(images.astype(np.float64)).sum(axis=1)
    assert 15 < per_image.mean() < 35
    assert per_image.min() > 5


def test_images_differ_from_each_other(images):
    assert len(np.unique(images, axis=0)) == len(images)
    # Strokes land all over the image, not in one place.
    assert (images.max(axis=0) > 0.5).mean() > 0.6


def test_the_stroke_is_smooth_and_unbroken():
    # A horizontal line drawn through pixel centres: every column between
    # the ends at full ink, no dotting from the sampling.
    points = np.array([[[5.0, 14.0], [13.0, 14.0], [21.0, 14.0]]])
    image = curves.render(curves.curve_points(points)).reshape(28, 28)
    np.testing.assert_allclose(image[14, 7:20], 1.0, atol=1e-3)
    np.testing.assert_allclose(image[13, 7:20], np.exp(-1 / (2 * 0.6**2)), atol=1e-3)
    assert image[:10].max() < 1e-6 and image[19:].max() < 1e-6


def test_a_seed_fixes_the_images():
    assert np.array_equal(curves.generate(50, seed=3), curves.generate(50, seed=3))
    assert not np.array_equal(curves.generate(50, seed=3), curves.generate(50, seed=4))
    # A longer run extends a shorter one, across a rendering chunk's edge.
    longer = curves.generate(curves.CHUNK + 20, seed=3)
    assert np.array_equal(longer[:50], curves.generate(50, seed=3))


def test_splits_are_independent_streams():
    small = curves.make_splits(40, 10, seed=5)
    large = curves.make_splits(40, 30, seed=5)
    assert small["train"].shape == (40, 784) and small["test"].shape == (10, 784)
    assert np.array_equal(small["train"], large["train"])
    assert np.array_equal(small["test"], large["test"][:10])
    # No test image repeats a training image.
    same = (small["test"][:, None] == small["train"][None]).all(axis=2)  # (10, 40)
    assert not same.any()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: curves.generate(0, seed=1), "n_images is 0"),
        (lambda: curves.generate(2.5, seed=1), "n_images is 2.5"),
        (lambda: curves.generate(True, seed=1), "n_images is True"),
        (lambda: curves.generate(5, seed=-1), "the seed is -1"),
        (lambda: curves.make_splits(5, 0, seed=1), "n_test is 0"),
        (lambda: curves.make_splits(-3, 5, seed=1), "n_train is -3"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(AelabError, match=message):
        call()
