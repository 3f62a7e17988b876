"""Inputs a user gets wrong: each stops with one clear message, or just works.

Found by trying the steps as a newcomer would: a split of another data set
picked by default, 0-255 pixels given to the evaluate step, float64 images,
a truncated file, an empty split.
"""

from __future__ import annotations

import numpy as np
import pytest

from aelab.cli import main
from aelab.data.prepared import load_prepared
from conftest import cli_project


def write_split(path, images):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, images=images, labels=np.zeros(len(images), dtype=np.uint8))


@pytest.fixture
def project(tmp_path, monkeypatch, mnist_mirror):
    cli_project(tmp_path, monkeypatch, mnist_mirror)
    rng = np.random.default_rng(0)
    images = rng.random((40, 784), dtype=np.float32)
    write_split(tmp_path / "data/mnist/prepared/train.npz", images)
    write_split(tmp_path / "data/mnist/prepared/test.npz", images[:10])
    write_split(tmp_path / "data/curves/prepared/train.npz", images[:30])
    write_split(tmp_path / "data/curves/prepared/test.npz", images[:10])
    return tmp_path


def train(*extra):
    return main(
        ["train", "--params", "params.yaml", "--model", "pca", "--latent", "2", *extra]
    )


def test_train_reads_the_named_data_sets_split_by_default(project):
    import torch

    assert train("--dataset", "curves", "--out", "m.pt") == 0
    record = torch.load(project / "m.pt", weights_only=False)["record"]
    assert (record["dataset"], record["n_train"]) == ("curves", 30)


def test_evaluate_refuses_0_255_pixels(project, capsys):
    assert train("--out", "m.pt") == 0
    bytes_ = np.full((5, 784), 255, dtype=np.uint8)
    write_split(project / "raw.npz", bytes_)
    code = main(
        ["evaluate", "--params", "params.yaml", "--model-file", "m.pt",
         "--test", "raw.npz", "--metrics", "e.json", "--codes", "e.npz"]
    )  # fmt: skip
    assert code == 1
    assert "raw.npz: images are uint8, not floats in [0, 1]" in capsys.readouterr().err
    assert not (project / "e.json").exists()


def test_float64_images_train(project):
    images, _ = load_prepared(project / "data/mnist/prepared/train.npz")
    write_split(project / "f64.npz", images.astype(np.float64))
    settings = ["--model", "linear", "--latent", "2"]
    code = main(["train", "--params", "params.yaml", *settings,
                 "--train", "f64.npz", "--out", "l.pt"])  # fmt: skip
    assert code == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"PK\x03\x04 cut short", "not a prepared data file with 'images'"),
        (b"", "not a prepared data file with 'images'"),
    ],
)
def test_a_damaged_split_gets_one_clear_message(project, capsys, content, expected):
    (project / "bad.npz").write_bytes(content)
    assert train("--train", "bad.npz", "--out", "m.pt") == 1
    err = capsys.readouterr().err
    assert f"bad.npz: {expected}" in err
    assert "allow_pickle" not in err
    assert not (project / "m.pt").exists()


def test_an_empty_split_is_named(project, capsys):
    write_split(project / "empty.npz", np.zeros((0, 784), dtype=np.float32))
    assert train("--train", "empty.npz", "--out", "m.pt") == 1
    assert "empty.npz: holds no images" in capsys.readouterr().err


def test_make_shuffled_refuses_a_0_255_source(project, capsys):
    source = project / "raw"
    bytes_ = np.full((5, 784), 255, dtype=np.uint8)
    write_split(source / "train.npz", bytes_)
    write_split(source / "test.npz", bytes_)
    code = main(["make-shuffled", "--params", "params.yaml",
                 "--source", str(source), "--out", "shuffled"])  # fmt: skip
    assert code == 1
    assert "train.npz: images are uint8, not floats in [0, 1]" in (
        capsys.readouterr().err
    )
    assert not (project / "shuffled").exists()
