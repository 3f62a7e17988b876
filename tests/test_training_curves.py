"""Per-epoch curves logged with DVCLive, their figure, the progress bar.

The train step runs in-process on the tiny MNIST files; the DVCLive tables
it leaves must hold one row per epoch with exactly the numbers the training
loop computed and saved in the model file.
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from aelab.cli import main
from aelab.errors import AelabError
from aelab.figures import training_curves
from aelab.fileio import atomic_directory
from conftest import ROOT, cli_project

CURVES = "results/mnist/training"


def tsv(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.tsv", sep="\t")


@pytest.fixture
def trained(tmp_path, monkeypatch, mnist_mirror):
    """The tiny project with deep_pretrained, deep and pca trained at size 3."""
    project = cli_project(tmp_path, monkeypatch, mnist_mirror)
    assert main(["fetch"]) == 0
    assert main(["prepare"]) == 0
    for model in ("deep_pretrained", "deep", "pca"):
        args = ["train", "--model", model, "--latent", "3"]
        args += ["--test", "data/mnist/prepared/test.npz"]
        args += ["--out", f"results/mnist/models/{model}/latent-3.pt"]
        args += ["--curves-dir", f"{CURVES}/{model}/latent-3"]
        assert main(args) == 0
    return project


def saved_record(project: Path, model: str) -> dict:
    path = project / f"results/mnist/models/{model}/latent-3.pt"
    return torch.load(path, weights_only=True)["record"]


def test_one_row_per_epoch_with_the_loops_numbers(trained):
    record = saved_record(trained, "deep_pretrained")
    history, before = record["history"], record["pretraining"]["before_fine_tuning"]
    folder = trained / CURVES / "deep_pretrained" / "latent-3"
    assert len(history) == 3  # tiny_params: 3 fine-tuning epochs

    loss = tsv(folder, "train/loss")
    assert loss["step"].tolist() == [1, 2, 3]
    # DVCLive writes Python's repr of a float: the same number, to the bit.
    np.testing.assert_array_equal(loss["loss"], [h["loss"] for h in history])
    seconds = tsv(folder, "seconds")
    np.testing.assert_array_equal(seconds["seconds"], [h["seconds"] for h in history])

    # Step 0: the unrolled network before fine-tuning.
    test = tsv(folder, "test/squared_error")
    assert test["step"].tolist() == [0, 1, 2, 3]
    expected = [before["test_squared_error"]]
    expected += [h["test_squared_error"] for h in history]
    np.testing.assert_array_equal(test["squared_error"], expected)
    train = tsv(folder, "train/squared_error")
    expected = [before["train_squared_error"]]
    expected += [h["train_squared_error"] for h in history]
    np.testing.assert_array_equal(train["squared_error"], expected)

    # Each RBM's pretraining epochs (tiny_params: 2 per RBM, 3 RBMs).
    for layer, rbm_history in enumerate(record["pretraining"]["history"], start=1):
        rbm = tsv(folder, f"pretraining/rbm_{layer}/reconstruction_error")
        assert rbm["step"].tolist() == [1, 2]
        np.testing.assert_array_equal(
            rbm["reconstruction_error"],
            [h["reconstruction_error"] for h in rbm_history],
        )
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.tsv"))
    assert names == [
        "pretraining/rbm_1/reconstruction_error.tsv",
        "pretraining/rbm_2/reconstruction_error.tsv",
        "pretraining/rbm_3/reconstruction_error.tsv",
        "seconds.tsv",
        "test/squared_error.tsv",
        "train/loss.tsv",
        "train/squared_error.tsv",
    ]
    # Only the tables: DVCLive's own summary is dropped.
    assert not [p for p in folder.rglob("*") if p.is_file() and p.suffix != ".tsv"]


def test_training_error_is_measured_on_as_many_images_as_the_test_set(trained):
    # The tiny files: 60 training and 20 test images. After the last epoch the
    # logged training error must be that of the first 20 training images.
    from aelab.data.prepared import load_prepared
    from aelab.models import store
    from aelab.training.loop import squared_error

    model, record = store.load(trained / "results/mnist/models/deep/latent-3.pt")
    images, _ = load_prepared(trained / "data/mnist/prepared/train.npz")
    model.eval()
    expected = squared_error(model, torch.from_numpy(images[:20]))
    assert record["history"][-1]["train_squared_error"] == pytest.approx(
        expected, rel=1e-6
    )


def test_dvclive_writes_no_dvc_yaml_and_no_report(trained):
    written = {p.name for p in (trained / "results").rglob("*") if p.is_file()}
    assert "dvc.yaml" not in written
    assert not any(name.startswith("report") for name in written)
    assert not (trained / "dvc.yaml").exists()
    # Nothing left of the temporary folders.
    leftovers = [p for p in (trained / CURVES).rglob(".*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_model_without_epochs_gets_an_empty_folder(trained):
    folder = trained / CURVES / "pca" / "latent-3"
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_figure_draws_every_model_with_epochs(trained):
    out = trained / "curves.png"
    drawn = training_curves.draw(
        trained / CURVES, ["pca", "deep", "deep_pretrained"], [3], out
    )
    assert drawn == 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_figure_draws_more_models_than_ten_colours(tmp_path, trained):
    # The default MNIST sweep has eleven models; each gets its own colour.
    folder = tmp_path / "training"
    shutil.copytree(trained / CURVES / "deep", folder / "deep")
    names = ["deep"] + [f"model_{i}" for i in range(11)]
    for name in names[1:]:
        shutil.copytree(trained / CURVES / "deep", folder / name)
    drawn = training_curves.draw(folder, names, [3], tmp_path / "many.png")
    assert drawn == len(names)


def test_figure_names_the_missing_training_folder(trained):
    with pytest.raises(AelabError, match=r"linear[/\\]latent-3: no training curves"):
        training_curves.draw(trained / CURVES, ["linear"], [3], trained / "x.png")
    assert not (trained / "x.png").exists()


def test_progress_bar_only_on_a_terminal(tmp_path, monkeypatch, mnist_mirror, capsys):
    cli_project(tmp_path, monkeypatch, mnist_mirror)
    main(["fetch"])
    main(["prepare"])
    train = ["train", "--model", "deep", "--latent", "2", "--out", "m.pt"]
    capsys.readouterr()

    assert main(train) == 0
    err = capsys.readouterr().err
    # Not a terminal: one log line per epoch and no bar.
    assert err.count("deep latent 2: epoch ") == 3
    assert "100%" not in err

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(train) == 0
    err = capsys.readouterr().err
    assert "100%|" in err and "3/3 [" in err  # the bar, finished
    assert err.count("deep latent 2: epoch ") == 3  # the log lines still come


def test_atomic_directory_keeps_the_old_folder_on_failure(tmp_path):
    target = tmp_path / "curves"
    with atomic_directory(target) as tmp:
        (tmp / "a.tsv").write_text("old")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a.tsv").write_text("half")
        raise RuntimeError("killed")
    assert (target / "a.tsv").read_text() == "old"
    with atomic_directory(target) as tmp:
        (tmp / "b.tsv").write_text("new")
    assert sorted(p.name for p in target.iterdir()) == ["b.tsv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves"]


def test_library_code_never_prints():
    # Output goes through logging; only the CLI writes its result to stdout.
    offenders = []
    for path in (ROOT / "src" / "aelab").rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "print"
            ):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
