"""Shared fixtures: tiny MNIST-format data sets that the tests build themselves."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file's bytes for ``array``."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 uint8 images of ten distinct blurred strokes, with labels.

    Each class is a bar at its own angle plus noise, so that images of one
    class resemble each other and a model can learn something.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    images = np.empty((n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        angle = np.pi * label / 10 + rng.normal(0, 0.05)
        distance = np.abs(xx * np.sin(angle) - yy * np.cos(angle))
        along = np.abs(xx * np.cos(angle) + yy * np.sin(angle))
        stroke = np.exp(-(distance**2) / 4.0) * (along < 10)
        noisy = stroke + rng.normal(0, 0.05, size=stroke.shape)
        images[i] = np.clip(noisy * 255, 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


def write_mnist_files(folder: Path, n_train: int = 60, n_test: int = 20) -> dict:
    """Write the four gzip IDX files into ``folder``; return params-style entries."""
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = synthetic_digits(n_train, seed=1)
    test_images, test_labels = synthetic_digits(n_test, seed=2)
    contents = {
        "train_images": idx_bytes(train_images),
        "train_labels": idx_bytes(train_labels),
        "test_images": idx_bytes(test_images),
        "test_labels": idx_bytes(test_labels),
    }
    files = {}
    for role, content in contents.items():
        (folder / NAMES[role]).write_bytes(gzip.compress(content, mtime=0))
        files[role] = {
            "name": NAMES[role],
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    return files


@pytest.fixture(scope="session")
def mnist_mirror(tmp_path_factory) -> tuple[Path, dict]:
    """A folder holding tiny MNIST-format files, and their params entries."""
    folder = tmp_path_factory.mktemp("mirror") / "mnist"
    files = write_mnist_files(folder)
    return folder, files


def tiny_params(files: dict, offline_mirror: str | None = None) -> dict:
    """A params.yaml for a run of seconds: small models, two code sizes."""
    small = {
        "kind": "autoencoder",
        "hidden_activation": "sigmoid",
        "output_activation": "sigmoid",
        "loss": "cross_entropy",
        "optimizer": "adam",
        "learning_rate": 0.01,
        "batch_size": 16,
        "epochs": 3,
    }
    return {
        "data": {
            "offline_mirror": offline_mirror,
            # No online mirror: the tests never touch the network.
            "mnist": {"mirrors": [], "files": files, "max_train_images": None},
            "curves": {"n_train": 200, "n_test": 100, "seed": 0},
        },
        "compute": {"device": "cpu", "seed": 0, "threads": 2},
        "sweep": {
            "mnist": {
                "models": ["pca", "logistic_pca", "linear", "deep", "deep_pretrained"],
                "latent_sizes": [2, 3],
            },
            "curves": {"models": ["pca", "deep_pretrained"], "latent_sizes": [6]},
        },
        "models": {
            "pca": {"kind": "pca"},
            "logistic_pca": {
                "kind": "logistic_pca",
                "max_train_images": 100,
                "iterations": 20,
                "code_iterations": 20,
            },
            "linear": {
                **small,
                "hidden_sizes": [],
                "hidden_activation": "linear",
                "code_activation": "linear",
                "output_activation": "linear",
                "loss": "squared_error",
            },
            "deep": {**small, "hidden_sizes": [16, 8], "code_activation": "linear"},
            "deep_pretrained": {
                **small,
                "hidden_sizes": [16, 8],
                "code_activation": "linear",
                "pretraining": {"epochs": 2, "batch_size": 16},
            },
        },
        "evaluate": {"n_reconstructions": 10, "monitor_every": 1},
        "figures": {
            "reconstructions": {
                "mnist": [
                    {"model": "deep_pretrained", "latent_size": 3},
                    {"model": "pca", "latent_size": 3},
                ],
                "curves": [
                    {"model": "deep_pretrained", "latent_size": 6},
                    {"model": "pca", "latent_size": 6},
                ],
            },
            "codes_2d": {"mnist": {"models": ["pca", "deep"], "per_class": 20}},
        },
        "summary": {
            "profile": "tiny",
            "mnist": {"autoencoder": "deep_pretrained", "pca": "pca"},
            "curves": {"autoencoder": "deep_pretrained", "pca": "pca"},
        },
    }


def narrow_sweep(params: dict, models: list[str], latent_size: int) -> dict:
    """``params`` with the MNIST sweep cut to ``models`` at one code size, and
    the MNIST figures drawn from those, for tests that run few jobs. The
    models must include those that ``params["summary"]`` names."""
    params["sweep"]["mnist"] = {"models": models, "latent_sizes": [latent_size]}
    figures = params["figures"]
    figures["reconstructions"]["mnist"] = [
        {"model": model, "latent_size": latent_size} for model in models
    ]
    figures["codes_2d"]["mnist"]["models"] = models
    return params


def cli_project(tmp_path: Path, monkeypatch, mnist_mirror, change=None) -> Path:
    """``tmp_path`` as the working directory of a tiny project for ``main()``.

    It holds params.yaml (tiny_params, pointed at the synthetic mirror, after
    ``change(params)`` if given); AELAB_OFFLINE_MIRROR is unset so that only
    params.yaml decides where the data come from.
    """
    folder, files = mnist_mirror
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AELAB_OFFLINE_MIRROR", raising=False)
    params = tiny_params(files, offline_mirror=str(folder.parent))
    if change is not None:
        change(params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def venv_env() -> dict:
    """The environment for subprocesses: this interpreter's bin folder first."""
    import os

    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["DVC_NO_ANALYTICS"] = "1"
    env.pop("AELAB_OFFLINE_MIRROR", None)
    return env


def make_project(dest: Path, params: dict, git: bool = True) -> Path:
    """Lay out a copy of the project's workflow files in ``dest`` with ``params``.

    The package itself runs from the installed ``aelab``; src/ is copied only
    because dvc.yaml names its files as dependencies.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "dvc.yaml", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    shutil.copytree(ROOT / "workflow", dest / "workflow", symlinks=True)
    shutil.copytree(
        ROOT / "src", dest / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if git:
        env = venv_env()
        run = dict(cwd=dest, env=env, check=True, capture_output=True)
        subprocess.run(["git", "init", "-q"], **run)
        subprocess.run(["git", "config", "user.email", "test@example.invalid"], **run)
        subprocess.run(["git", "config", "user.name", "aelab tests"], **run)
        shutil.copytree(ROOT / ".dvc", dest / ".dvc", ignore=_dvc_runtime)
        shutil.copy(ROOT / ".gitignore", dest / ".gitignore")
        subprocess.run(["git", "add", "-A"], **run)
        subprocess.run(["git", "commit", "-qm", "tiny project"], **run)
    return dest


def _dvc_runtime(folder: str, names: list[str]) -> list[str]:
    # Copy only the repository's DVC config, not a local cache or temp state.
    return [n for n in names if n in ("cache", "tmp", "config.local")]
