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


def test_label_header_counting_more_labels_than_present(tmp_path):
    data = bytearray(idx_bytes(np.arange(7, dtype=np.uint8)))
    data[4:8] = (10).to_bytes(4, "big")
    path = _write(tmp_path / "labels-idx1-ubyte.gz", gzip.compress(bytes(data)))
    with pytest.raises(AelabError) as info:
        mnist.read_idx(path, ndim=1)
    assert str(info.value) == (
        f"{path}: the header counts 10 items of 1 byte(s) but the file holds 7 "
        "(7 bytes after the header). Delete it and run the fetch step again."
    )


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


def _cut_gzip() -> bytes:
    images, _ = synthetic_digits(20, seed=0)
    whole = gzip.compress(idx_bytes(images))
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "cut.gz",
            _cut_gzip(),
            "this file is gzip-compressed but its data is cut short or corrupt "
            "(Compressed file ended before the end-of-stream marker was reached)",
        ),
        ("empty.gz", b"", "the file is empty"),
        (
            "stub-idx3-ubyte",
            b"\x00\x00\x08\x03\x00",
            "5 bytes is shorter than an IDX header with 3 dimension(s) (16 bytes)",
        ),
        (
            "stub.gz",
            gzip.compress(b"\x00\x00\x08\x03\x00\x00\x00\x01"),
            "8 bytes is shorter than an IDX header with 3 dimension(s) (16 bytes)",
        ),
    ],
    ids=["gzip-cut-at-half", "empty", "shorter-than-header", "gzip-of-short-header"],
)
def test_damaged_files_each_have_their_own_error(tmp_path, name, content, expected):
    path = _write(tmp_path / name, content)
    with pytest.raises(AelabError) as info:
        mnist.read_idx(path, ndim=3)
    assert str(info.value) == (
        f"{path}: {expected}. Delete it and run the fetch step again."
    )


def test_gzip_under_the_raw_name_is_read_by_prepare(tmp_path):
    files = write_mnist_files(tmp_path / "gz", n_train=30, n_test=10)
    raw = tmp_path / "raw"
    raw.mkdir()
    names = {}
    for role, entry in files.items():
        # The bytes stay gzip; only the name loses its .gz.
        names[role] = entry["name"].removesuffix(".gz")
        (raw / names[role]).write_bytes((tmp_path / "gz" / entry["name"]).read_bytes())
    assert mnist.prepare(raw, tmp_path / "out", None, names) == {
        "train": 30,
        "test": 10,
    }
    images, _ = mnist.load_prepared(tmp_path / "out" / "train.npz")
    expected, _ = synthetic_digits(30, seed=1)
    np.testing.assert_allclose(images, expected.reshape(30, 784) / 255.0, atol=1e-7)


def test_cut_gzip_under_the_raw_name_is_called_gzip(tmp_path):
    path = _write(tmp_path / "train-images-idx3-ubyte", _cut_gzip())
    with pytest.raises(AelabError) as info:
        mnist.read_idx(path, ndim=3)
    message = str(info.value)
    assert message.startswith(f"{path}: this file is gzip-compressed but")
    assert "magic number" not in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            gzip.compress(gzip.compress(idx_bytes(np.zeros((2, 28, 28))))),
            "(magic number 1f8b0800, expected 00000803): the content is "
            "gzip-compressed a second time.",
        ),
        (
            b"PK\x03\x04" + bytes(40),
            "(magic number 504b0304, expected 00000803): the content is a zip archive.",
        ),
        (
            b"\n  <!DOCTYPE html><html><body>Not Found</body></html>",
            "expected 00000803): it looks like an HTML or XML page, such as a "
            "mirror's error page.",
        ),
        (
            idx_bytes(np.zeros(30)),
            "(magic number 00000801, expected 00000803): an IDX file with 1 "
            "dimension(s), so probably the labels file in the place of the "
            "images one (check data.mnist.files in params.yaml).",
        ),
        (bytes(range(20)), "(magic number 00010203, expected 00000803). Delete"),
    ],
    ids=["gzip-twice", "zip", "html", "labels-for-images", "unknown"],
)
def test_other_content_is_named_not_only_its_magic_number(tmp_path, content, expected):
    path = _write(tmp_path / "train-images-idx3-ubyte.gz", content)
    with pytest.raises(AelabError) as info:
        mnist.read_idx(path, ndim=3)
    message = str(info.value)
    assert message.startswith(f"{path}: not an unsigned-byte IDX file")
    assert expected in message
    assert message.endswith("Delete it and run the fetch step again.")


def test_label_out_of_range_and_count_mismatch(tmp_path):
    files = write_mnist_files(tmp_path, n_train=30, n_test=10)
    names = {role: entry["name"] for role, entry in files.items()}
    bad_labels = np.arange(30, dtype=np.uint8) % 10
    bad_labels[4] = 11
    bad_labels[20] = 255
    _write(
        tmp_path / files["train_labels"]["name"], gzip.compress(idx_bytes(bad_labels))
    )
    with pytest.raises(AelabError) as info:
        mnist.load_split(tmp_path, "train", names)
    assert str(info.value) == (
        f"{tmp_path / files['train_labels']['name']}: label 11 at index 4 is "
        "outside 0-9 (2 such labels in 30). Delete it and run the fetch step again."
    )
    _write(
        tmp_path / files["train_labels"]["name"],
        gzip.compress(idx_bytes(np.zeros(29, dtype=np.uint8))),
    )
    with pytest.raises(AelabError) as info:
        mnist.load_split(tmp_path, "train", names)
    assert str(info.value).startswith(
        f"{tmp_path / files['train_images']['name']} holds 30 images but "
        f"{tmp_path / files['train_labels']['name']} holds 29 labels."
    )


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
