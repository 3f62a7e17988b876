"""The command line: each step's errors are one clear line and leave nothing."""

from __future__ import annotations

import gzip

import pytest
import yaml

from aelab.cli import main
from conftest import (
    cli_project,
    idx_bytes,
    synthetic_digits,
    write_mnist_files,
)


@pytest.fixture
def project(tmp_path, monkeypatch, mnist_mirror):
    return cli_project(tmp_path, monkeypatch, mnist_mirror)


def test_steps_run_in_order(project):
    assert main(["fetch"]) == 0
    assert main(["prepare"]) == 0
    out = "results/mnist/models/deep/latent-2.pt"
    assert main(["train", "--model", "deep", "--latent", "2", "--out", out]) == 0
    args = ["evaluate", "--model-file", out, "--metrics", "m.json", "--codes", "c.npz"]
    assert main(args) == 0
    assert (project / "m.json").is_file() and (project / "c.npz").is_file()


def test_unknown_model_names_it_and_writes_nothing(project, capsys):
    main(["fetch"])
    main(["prepare"])
    code = main(["train", "--model", "forest", "--latent", "2", "--out", "x/m.pt"])
    assert code == 1
    err = capsys.readouterr().err
    assert "model 'forest' is not defined under 'models'" in err
    assert "Traceback" not in err
    assert not (project / "x").exists()


def test_negative_code_size_is_refused_by_the_parser(project, capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--model", "deep", "--latent", "-3", "--out", "m.pt"])
    assert info.value.code == 2
    assert "expected a positive integer, got '-3'" in capsys.readouterr().err


def test_bad_params_file_is_named(project, capsys):
    text = "sweep:\n  mnist: {models: [pca], latent_sizes: [2, -3]}\n"
    (project / "params.yaml").write_text(text)
    assert main(["prepare"]) == 1
    err = capsys.readouterr().err
    assert "params.yaml: key 'sweep.mnist.latent_sizes[1]'" in err


def test_prepare_rejects_a_bad_header_and_keeps_no_output(project, capsys):
    files = write_mnist_files(project / "data/mnist/raw", n_train=30, n_test=10)
    images, _ = synthetic_digits(30, seed=1)
    data = bytearray(idx_bytes(images))
    data[4:8] = (31).to_bytes(4, "big")
    bad = project / "data/mnist/raw" / files["train_images"]["name"]
    bad.write_bytes(gzip.compress(bytes(data)))
    assert main(["prepare"]) == 1
    err = capsys.readouterr().err
    assert str(bad.relative_to(project)) in err and "counts 31 items" in err
    assert not (project / "data/mnist/prepared").exists()


def test_fetch_reports_every_missing_file_at_once(project, capsys, tmp_path):
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["offline_mirror"] = None
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert main(["fetch"]) == 1
    err = capsys.readouterr().err
    assert err.count("every source failed") == 4
    assert "t10k-labels-idx1-ubyte.gz" in err
    assert not any((project / "data/mnist/raw").glob("*"))


def test_latent_size_beyond_the_data_is_refused(project, capsys):
    main(["fetch"])
    main(["prepare"])
    assert main(["train", "--model", "pca", "--latent", "1000", "--out", "m.pt"]) == 1
    assert "latent size 1000 for model 'pca' exceeds" in capsys.readouterr().err
    assert not (project / "m.pt").exists()


def test_unwritable_output_is_a_clean_error(project, capsys):
    main(["fetch"])
    main(["prepare"])
    (project / "blocked").write_text("a file where a folder should be")
    args = ["train", "--model", "pca", "--latent", "2", "--out", "blocked/m.pt"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "blocked" in err and "Check the path" in err
    assert "Traceback" not in err


def test_threads_come_from_params(project):
    import torch

    params = yaml.safe_load((project / "params.yaml").read_text())
    params["compute"]["threads"] = 1
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    before = torch.get_num_threads()
    try:
        main(["fetch"])
        main(["prepare"])
        assert main(["train", "--model", "pca", "--latent", "2", "--out", "m.pt"]) == 0
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
