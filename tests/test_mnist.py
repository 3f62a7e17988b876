"""IDX parsing and the prepare step, on files the tests write."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from aelab.data import mnist
from aelab.errors import AelabError
from conftest import idx_bytes, synthetic_digits, write_mnist_files


def test_read_idx_gzip_and_raw_round_trip(tmp_path):
    images, labels = synthetic_digits(12, seed=0)
    raw = tmp_path / "images.idx"
    raw.write_bytes(idx_bytes(images))
    compressed = tmp_path / "images-under-raw-name"
    compressed.write_bytes(gzip.compress(idx_bytes(images)))
    np.testing.assert_array_equal(mnist.read_idx(raw, ndim=3), images)
    # Gzip bytes are recognised by their magic number, whatever the name.
    np.testing.assert_array_equal(mnist.read_idx(compressed, ndim=3), images)


def test_prepare_writes_float_images_in_unit_range(tmp_path):
    files = write_mnist_files(tmp_path / "raw", n_train=30, n_test=10)
    names = {role: entry["name"] for role, entry in files.items()}
    counts = mnist.prepare(tmp_path / "raw", tmp_path / "out", None, names)
    assert counts == {"train": 30, "test": 10}
    images, labels = mnist.load_prepared(tmp_path / "out" / "train.npz")
    assert images.shape == (30, 784) and images.dtype == np.float32
    assert labels.shape == (30,) and labels.dtype == np.uint8
    expected, expected_labels = synthetic_digits(30, seed=1)
    np.testing.assert_allclose(images, expected.reshape(30, 784) / 255.0, atol=1e-7)
    np.testing.assert_array_equal(labels, expected_labels)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_prepare_keeps_first_training_images_only_when_asked(tmp_path):
    files = write_mnist_files(tmp_path / "raw", n_train=30, n_test=10)
    names = {role: entry["name"] for role, entry in files.items()}
    assert mnist.prepare(tmp_path / "raw", tmp_path / "out", 7, names)["train"] == 7


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_header_counting_more_images_than_present(tmp_path):
    images, _ = synthetic_digits(5, seed=0)
    data = bytearray(idx_bytes(images))
    data[4:8] = (9).to_bytes(4, "big")  # claims 9 images, holds 5
    path = _write(tmp_path / "short.idx", gzip.compress(bytes(data)))
    with pytest.raises(AelabError) as info:
        mnist.read_idx(path, ndim=3)
    message = str(info.value)
    assert str(path) in message
    assert "counts 9 items" in message and "holds 5 (" in message
    assert "Delete it and run the fetch step again" in message


def test_truncated_gzip(tmp_path):
    images, _ = synthetic_digits(20, seed=0)
    whole = gzip.compress(idx_bytes(images))
    path = _write(tmp_path / "cut.gz", whole[: len(whole) // 2])
    with pytest.raises(AelabError, match="gzip-compressed but its data is cut short"):
        mnist.read_idx(path, ndim=3)


def test_empty_file(tmp_path):
    path = _write(tmp_path / "empty.gz", b"")
    with pytest.raises(AelabError, match=r"empty\.gz: the file is empty"):
        mnist.read_idx(path, ndim=3)


def test_file_shorter_than_header(tmp_path):
    path = _write(tmp_path / "stub.idx", b"\x00\x00\x08\x03\x00")
    with pytest.raises(AelabError, match="5 bytes is shorter than an IDX header"):
        mnist.read_idx(path, ndim=3)


def test_html_under_idx_name(tmp_path):
    path = _write(tmp_path / "page.idx", b"<html><body>Not Found</body></html>")
    with pytest.raises(AelabError, match="not an unsigned-byte IDX file"):
        mnist.read_idx(path, ndim=3)


def test_label_out_of_range_and_count_mismatch(tmp_path):
    files = write_mnist_files(tmp_path, n_train=30, n_test=10)
    names = {role: entry["name"] for role, entry in files.items()}
    bad_labels = np.arange(30, dtype=np.uint8) % 10
    bad_labels[4] = 11
    _write(
        tmp_path / files["train_labels"]["name"], gzip.compress(idx_bytes(bad_labels))
    )
    with pytest.raises(AelabError, match="label 11 at index 4 is outside 0-9"):
        mnist.load_split(tmp_path, "train", names)
    _write(
        tmp_path / files["train_labels"]["name"],
        gzip.compress(idx_bytes(np.zeros(29, dtype=np.uint8))),
    )
    with pytest.raises(AelabError, match="holds 30 images but .* holds 29 labels"):
        mnist.load_split(tmp_path, "train", names)


def test_zero_dimension_in_header(tmp_path):
    path = _write(tmp_path / "zero.idx", b"\x00\x00\x08\x03" + bytes(12))
    with pytest.raises(AelabError, match="a dimension of size 0"):
        mnist.read_idx(path, ndim=3)


def test_prepare_writes_nothing_when_one_split_is_bad(tmp_path):
    files = write_mnist_files(tmp_path / "raw", n_train=30, n_test=10)
    names = {role: entry["name"] for role, entry in files.items()}
    (tmp_path / "raw" / names["test_labels"]).write_bytes(b"")
    with pytest.raises(AelabError, match="the file is empty"):
        mnist.prepare(tmp_path / "raw", tmp_path / "out", None, names)
    assert not (tmp_path / "out").exists()


def test_wrong_file_given_as_prepared_data(tmp_path):
    path = _write(tmp_path / "labels.gz", gzip.compress(b"not an npz"))
    with pytest.raises(AelabError, match="Check that the path names the prepare"):
        mnist.load_prepared(path)
