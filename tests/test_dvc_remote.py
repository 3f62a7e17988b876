"""Sharing data and trained models through a DVC remote (here a local folder).

A colleague with the git repository (params.yaml, dvc.yaml, dvc.lock) pulls
what was pushed and has every output, byte for byte, with nothing to rerun.
"""

from __future__ import annotations

import shutil
import subprocess

import yaml

from conftest import make_project, narrow_sweep, tiny_params, venv_env

# The models that params.yaml's summary names, at one code size.
MODELS = ["pca", "deep_pretrained"]


def run(args, cwd):
    result = subprocess.run(
        args, cwd=cwd, env=venv_env(), capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, (
        f"{' '.join(args)} failed ({result.returncode}):\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result


def test_push_then_pull_gives_the_same_data_and_models(tmp_path, mnist_mirror):
    folder, files = mnist_mirror
    params = tiny_params(files, offline_mirror=str(folder.parent))
    params = narrow_sweep(params, MODELS, 2)
    swept = params["sweep"]["mnist"]["models"]  # MODELS and the denoiser
    project = make_project(tmp_path / "project", params)
    remote = tmp_path / "remote"

    # The data and the trained models, versioned: dvc.lock goes into git.
    run(["dvc", "repro", "mnist_train"], project)
    run(["git", "add", "dvc.lock"], project)
    run(["git", "commit", "-qm", "trained models"], project)
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    outputs = sorted(
        out["path"] for stage in lock["stages"].values() for out in stage["outs"]
    )
    assert outputs == [
        *(f"data/mnist/prepared/{split}.npz" for split in ("test", "train")),
        *sorted(f"data/mnist/raw/{entry['name']}" for entry in files.values()),
        *(f"results/mnist/models/{model}/latent-2.pt" for model in sorted(swept)),
        *(f"results/mnist/training/{model}/latent-2" for model in sorted(swept)),
    ]
    # Every file, those inside output folders (training curves) included.
    files = sorted(
        path
        for out in outputs
        for path in ([project / out] if (project / out).is_file() else [])
        + sorted((project / out).rglob("*") if (project / out).is_dir() else [])
        if path.is_file()
    )
    original = {path: path.read_bytes() for path in files}

    run(["dvc", "remote", "add", "--default", "shared", str(remote)], project)
    pushed = run(["dvc", "push"], project)
    assert "files pushed" in pushed.stdout

    # Nothing left but git's files: no cache, no data, no models.
    for gone in (".dvc/cache", "data", "results", "logs"):
        shutil.rmtree(project / gone)
    # Only what was run: the other stages of dvc.yaml have no outputs yet.
    run(["dvc", "pull", "--with-deps", "mnist_train"], project)
    for path, content in original.items():
        assert path.read_bytes() == content, path
    status = run(["dvc", "status", "--with-deps", "mnist_train"], project)
    assert "Data and pipelines are up to date" in status.stdout
