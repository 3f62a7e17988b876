"""A training job killed by SIGKILL while it writes its model, then run again.

The job runs through a wrapper script, written here, that stands in for the
``aelab`` command: when AELAB_TEST_STALL_SAVE names a file, its torch.save
writes half of the model's bytes, says so in that file and waits to be
killed. Everything else is the real command, the real Snakemake and real
files in a temporary folder.
"""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

import aelab
from aelab.cli import main
from aelab.errors import AelabError
from aelab.models import store
from conftest import make_project, tiny_params, venv_env

MODEL = "results/curves/models/linear/latent-6.pt"
TRAIN = [
    "train",
    "--params",
    "params.yaml",
    "--dataset",
    "curves",
    "--model",
    "linear",
    "--latent",
    "6",
    "--train",
    "data/curves/prepared/train.npz",
    "--test",
    "data/curves/prepared/test.npz",
    "--out",
    MODEL,
]

WRAPPER = """#!{python}
import io
import os
import sys
import time

if sys.argv[1:2] == ["train"] and os.environ.get("AELAB_TEST_STALL_SAVE"):
    import torch

    save = torch.save

    def stalled(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        with open(f, "wb") as handle:
            handle.write(data[: len(data) // 2])
        marker = os.environ["AELAB_TEST_STALL_SAVE"]
        with open(marker + ".part", "w") as note:
            note.write(f"{{os.getpid()}} {{f}}")
        os.replace(marker + ".part", marker)
        time.sleep(600)

    torch.save = stalled

from aelab.cli import main

sys.exit(main())
"""


@pytest.fixture(scope="module")
def params(mnist_mirror):
    _, files = mnist_mirror
    params = tiny_params(files)
    params["data"]["curves"].update(n_train=64, n_test=16)
    return params


@pytest.fixture(scope="module")
def clean_model(tmp_path_factory, params):
    """The model of a run that nothing interrupted, and its folder."""
    folder = tmp_path_factory.mktemp("clean")
    (folder / "params.yaml").write_text(yaml.safe_dump(params))
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        assert main(["make-curves", "--params", "params.yaml"]) == 0
        assert main(TRAIN) == 0
    finally:
        os.chdir(cwd)
    return folder / MODEL


def stalling_env(tmp_path: Path) -> tuple[dict, Path]:
    """An environment whose ``aelab`` stalls in torch.save; the marker file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "aelab"
    wrapper.write_text(WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o755)
    marker = tmp_path / "stalled"
    env = venv_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = str(Path(aelab.__file__).parents[1])
    env["AELAB_TEST_STALL_SAVE"] = str(marker)
    return env, marker


def wait_for(marker: Path, child: subprocess.Popen, log: Path) -> int:
    """The pid that wrote ``marker``, once it has; fail if ``child`` ends first."""
    deadline = time.monotonic() + 120
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"it ended before stalling:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("it never reached torch.save")
        time.sleep(0.1)
    return int(marker.read_text().split()[0])


def assert_same_model(path: Path, clean: Path) -> None:
    """The same weights and the same losses as the clean run, bit for bit."""
    got = torch.load(path, weights_only=True)
    want = torch.load(clean, weights_only=True)
    assert got["state_dict"].keys() == want["state_dict"].keys()
    for name, tensor in want["state_dict"].items():
        assert torch.equal(got["state_dict"][name], tensor), name
    losses = [[e["loss"], e["test_squared_error"]] for e in got["record"]["history"]]
    expected = [[e["loss"], e["test_squared_error"]] for e in want["record"]["history"]]
    assert losses == expected


def only_temporary(folder: Path) -> Path:
    """The single file in ``folder``, which must be a temporary model."""
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 1 and names[0].startswith(".latent-6."), names
    assert names[0].endswith(".tmp.pt")
    return folder / names[0]


def test_train_killed_while_writing_leaves_only_a_temporary(
    tmp_path, monkeypatch, params, clean_model
):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.chdir(tmp_path)
    assert main(["make-curves", "--params", "params.yaml"]) == 0
    env, marker = stalling_env(tmp_path)
    log = tmp_path / "train.out"
    with open(log, "w") as out:
        child = subprocess.Popen(
            [str(tmp_path / "bin/aelab"), *TRAIN], env=env, stdout=out, stderr=out
        )
    try:
        assert wait_for(marker, child, log) == child.pid
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    # The final name never appeared; the half-written temporary is no model.
    model = tmp_path / MODEL
    assert not model.exists()
    partial = only_temporary(model.parent)
    assert partial.stat().st_size > 0
    with pytest.raises(AelabError, match="not a readable aelab model"):
        store.load(partial)

    # Run again: the model is written whole, the temporary is gone, and the
    # result is the clean run's.
    assert main(TRAIN) == 0
    assert sorted(model.parent.iterdir()) == [model]
    assert_same_model(model, clean_model)


def run(args, cwd, env=None):
    return subprocess.run(
        args, cwd=cwd, env=env or venv_env(), capture_output=True, text=True
    )


def test_snakemake_reruns_a_job_killed_while_writing_its_model(
    tmp_path, params, clean_model
):
    project = make_project(tmp_path / "project", params, git=False)
    env, marker = stalling_env(tmp_path)
    log = tmp_path / "snakemake.out"
    with open(log, "w") as out:
        # A session of its own, so that the whole run (Snakemake and its job)
        # can be killed at once, as by a power cut. Two cores, so that the
        # job gets compute.threads threads, as the clean run does.
        child = subprocess.Popen(
            ["snakemake", "--cores", "2", MODEL],
            cwd=project,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        job = wait_for(marker, child, log)
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    with contextlib.suppress(ProcessLookupError):
        os.kill(job, signal.SIGKILL)  # in case the job left the group

    model = project / MODEL
    assert not model.exists()
    only_temporary(model.parent)
    # Snakemake had marked the output as incomplete.
    incomplete = [
        base64.b64decode(p.name).decode()
        for p in (project / ".snakemake/incomplete").iterdir()
    ]
    # Both outputs of the train rule (the model, its folder of training
    # curves) were marked; neither was left in place.
    curves = MODEL.replace("/models/", "/training/").removesuffix(".pt")
    assert sorted(incomplete) == sorted([MODEL, curves])
    assert not (project / curves).exists()

    # The killed Snakemake left its lock behind; the documented fix.
    again = run(["snakemake", "--cores", "2", MODEL], project)
    assert again.returncode != 0
    assert "Directory cannot be locked" in again.stdout + again.stderr
    assert "--unlock" in again.stdout + again.stderr
    assert run(["snakemake", "--unlock"], project).returncode == 0

    rerun = run(["snakemake", "--cores", "2", MODEL], project)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "localrule model_train:" in rerun.stderr
    assert "curves_make" not in rerun.stderr  # its outputs were complete
    assert sorted(model.parent.iterdir()) == [model]
    assert_same_model(model, clean_model)
