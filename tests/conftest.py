"""Shared fixtures: tiny MNIST-format data sets that the tests build themselves."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import struct
import subprocess
import sys
import tarfile
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


# Words that mark each topic in the synthetic stories, and words of any.
TOPIC_WORDS = {
    "earn": ["profit", "dividend", "quarter", "earnings", "shares", "net"],
    "acq": ["acquire", "merger", "takeover", "bid", "stake", "buyout"],
    "grain": ["wheat", "harvest", "tonnes", "crop", "farmers", "corn"],
    "crude": ["oil", "barrel", "opec", "refinery", "petroleum", "pipeline"],
}
COMMON_WORDS = ["company", "market", "said", "year", "government", "report", "price"]
REUTERS_ARCHIVE = "reuters21578.tar.gz"


def reuters_story(
    newid: int,
    split: str,
    topics: list[str],
    body: str | None,
    topics_attribute: str = "YES",
    title: str = "",
) -> str:
    """One <REUTERS> element as the collection writes it."""
    codes = "".join(f"<D>{t}</D>" for t in topics)
    text = f"<TITLE>{title}</TITLE>\n"
    if body is not None:
        text += "<DATELINE>NEW YORK, March 1 - </DATELINE>"
        text += f"<BODY>{body}\n Reuter\n&#3;</BODY>"
    return (
        f'<REUTERS TOPICS="{topics_attribute}" LEWISSPLIT="{split}" '
        f'CGISPLIT="TRAINING-SET" OLDID="{newid + 5000}" NEWID="{newid}">\n'
        "<DATE>26-FEB-1987 15:01:01.79</DATE>\n"
        f"<TOPICS>{codes}</TOPICS>\n<PLACES><D>usa</D></PLACES>\n"
        "<PEOPLE></PEOPLE>\n<ORGS></ORGS>\n<EXCHANGES></EXCHANGES>\n"
        "<COMPANIES></COMPANIES>\n<UNKNOWN> \n&#5;&#5;&#5;F\n</UNKNOWN>\n"
        f"<TEXT>&#2;\n{text}</TEXT>\n</REUTERS>\n"
    )


def reuters_sgm_files(n_train: int = 48, n_test: int = 24) -> dict[str, bytes]:
    """Two tiny .sgm files of synthetic stories on four topics (latin-1)."""
    rng = np.random.default_rng(5)
    names = list(TOPIC_WORDS)
    stories = []
    for newid in range(1, n_train + n_test + 1):
        split = "TRAIN" if newid <= n_train else "TEST"
        topic = names[newid % len(names)]
        words = list(rng.choice(TOPIC_WORDS[topic], size=12))
        words += list(rng.choice(COMMON_WORDS, size=6))
        rng.shuffle(words)
        stories.append(
            reuters_story(newid, split, [topic], " ".join(words), title=topic.upper())
        )
    # One story outside ModApte (TOPICS="NO"), one of two topics.
    stories.append(reuters_story(900, "TRAIN", [], "oil profit", "NO"))
    stories.append(reuters_story(901, "TEST", ["earn", "acq"], "profit merger bid"))
    header = '<!DOCTYPE lewis SYSTEM "lewis.dtd">\n'
    half = len(stories) // 2
    return {
        "reut2-000.sgm": (header + "".join(stories[:half])).encode("latin-1"),
        "reut2-001.sgm": (header + "".join(stories[half:])).encode("latin-1"),
    }


def write_reuters_archive(folder: Path) -> tuple[Path, str]:
    """The tiny collection as a tarball in ``folder``, and its content hash.

    The hash follows the fetch step's rule for archives: each .sgm member's
    name, size and bytes, in name order.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = reuters_sgm_files()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path = folder / REUTERS_ARCHIVE
    path.write_bytes(buffer.getvalue())
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode() + files[name])
    return path, digest.hexdigest()


@pytest.fixture(scope="session")
def mnist_mirror(tmp_path_factory) -> tuple[Path, dict]:
    """A folder holding tiny MNIST-format files, and their params entries.

    Its parent, the offline mirror of the tiny projects, also holds the tiny
    Reuters tarball in reuters21578/.
    """
    folder = tmp_path_factory.mktemp("mirror") / "mnist"
    files = write_mnist_files(folder)
    write_reuters_archive(folder.parent / "reuters21578")
    return folder, files


def tiny_params(files: dict, offline_mirror: str | None = None) -> dict:
    """A params.yaml for a run of seconds: small models, two code sizes.

    The Reuters branch reads the tiny tarball of ``write_reuters_archive``.
    """
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
            "reuters": {
                "mirrors": [],
                "file": {"name": REUTERS_ARCHIVE, "sha256": TINY_REUTERS_SHA256},
                "vocabulary_size": 30,
                "n_topics": 3,
                "expected_split_sizes": None,
            },
            "mnist_shuffled": {"seed": 0, "max_train_images": 40},
        },
        "compute": {"device": "cpu", "seed": 0, "threads": 2},
        "sweep": {
            "mnist": {
                "models": [
                    "pca",
                    "logistic_pca",
                    "linear",
                    "deep",
                    "deep_pretrained",
                    "denoising",
                ],
                "latent_sizes": [2, 3],
            },
            "curves": {"models": ["pca", "deep_pretrained"], "latent_sizes": [6]},
            "mnist_shuffled": {"models": ["pca", "linear"], "latent_sizes": [2]},
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
            "denoising": {
                **small,
                "hidden_sizes": [],
                "code_activation": "sigmoid",
                "corruption": {"kind": "masking", "level": 0.25},
            },
            "lsa": {"kind": "lsa"},
            "reuters_deep": {
                **small,
                "hidden_sizes": [12, 8],
                "code_activation": "linear",
                "output_activation": "softmax",
                "loss": "softmax_cross_entropy",
                "pretraining": {
                    "visible_units": "constrained_poisson",
                    "bottom_learning_rate": 0.01,
                    "epochs": 2,
                    "batch_size": 16,
                },
            },
        },
        "reuters": {
            "runs": [
                {"model": "lsa", "latent_size": 2},
                {"model": "lsa", "latent_size": 3},
                {"model": "reuters_deep", "latent_size": 2},
            ],
            "retrieved": [1, 3],
            "figures": {
                "codes_2d": [
                    {"model": "lsa", "latent_size": 2},
                    {"model": "reuters_deep", "latent_size": 2},
                ],
                "retrieval": [
                    {"model": "reuters_deep", "latent_size": 2},
                    {"model": "lsa", "latent_size": 3},
                ],
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
                "mnist_shuffled": [
                    {"model": "pca", "latent_size": 2},
                    {"model": "linear", "latent_size": 2},
                ],
            },
            "codes_2d": {"mnist": {"models": ["pca", "deep"], "per_class": 20}},
            "deep_vs_shallow": {
                "models": ["pca", "linear", "deep"],
                "latent_sizes": [2, 3],
                "per_class": 20,
            },
            "denoising": {"model": "denoising", "latent_size": 3, "seed": 0},
        },
        "summary": {
            "profile": "tiny",
            "mnist": {"autoencoder": "deep_pretrained", "pca": "pca"},
            "curves": {"autoencoder": "deep_pretrained", "pca": "pca"},
        },
    }


def _tiny_reuters_sha256() -> str:
    files = reuters_sgm_files()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(f"{name}\0{len(files[name])}\0".encode() + files[name])
    return digest.hexdigest()


TINY_REUTERS_SHA256 = _tiny_reuters_sha256()


def narrow_sweep(params: dict, models: list[str], latent_size: int) -> dict:
    """``params`` with the MNIST sweep cut to ``models`` at one code size, and
    the MNIST figures drawn from those, for tests that run few jobs. The
    models must include those that ``params["summary"]`` names. The
    denoising figure's model stays in the sweep (the figure needs a model
    with a corruption), so the sweep is ``models`` plus that one."""
    denoiser = params["figures"]["denoising"]["model"]
    swept = [*models, *([denoiser] if denoiser not in models else [])]
    params["sweep"]["mnist"] = {"models": swept, "latent_sizes": [latent_size]}
    figures = params["figures"]
    figures["reconstructions"]["mnist"] = [
        {"model": model, "latent_size": latent_size} for model in models
    ]
    figures["codes_2d"]["mnist"]["models"] = models
    figures["deep_vs_shallow"]["models"] = models
    figures["deep_vs_shallow"]["latent_sizes"] = [latent_size]
    figures["denoising"]["latent_size"] = latent_size
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
