"""The tiny workflow on a real one-node SLURM cluster, with the slurm profile.

`.ci/run` starts the cluster (`.ci/slurm-up`, as root, installing SLURM and
munge with apt-get when they are missing) and tells this test through
AELAB_SLURM_DIR, or says through AELAB_SLURM_SKIP why it could not. Run
alone, the test starts a cluster itself when SLURM is installed and it runs
as root, and stops it afterwards; otherwise it is skipped, with the reason.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile

import pytest
import torch
import yaml

from conftest import ROOT, make_project, narrow_sweep, tiny_params, venv_env

MODELS = ["pca", "deep_pretrained"]
# The training jobs (and the data preparation before them); evaluation is
# left out to keep the test short: each job costs SLURM's polling.
TARGETS = [f"results/mnist/models/{model}/latent-2.pt" for model in MODELS]


def _run(args, cwd, timeout=600):
    result = subprocess.run(
        args, cwd=cwd, env=venv_env(), capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
        )
    return result


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM cluster with the partition debug, or a skip."""
    reason = os.environ.get("AELAB_SLURM_SKIP")
    if reason:
        pytest.skip(f"no SLURM test cluster: {reason}")
    if os.environ.get("AELAB_SLURM_DIR"):  # started by .ci/run
        yield
        return
    folder = tempfile.mkdtemp(prefix="aelab-slurm-")
    started = subprocess.run(
        ["bash", str(ROOT / ".ci/slurm-up"), folder], capture_output=True, text=True
    )
    try:
        if started.returncode != 0:
            lines = (started.stderr or started.stdout).strip().splitlines()
            pytest.skip(f"no SLURM test cluster: {lines[-1] if lines else 'unknown'}")
        yield
    finally:
        subprocess.run(["bash", str(ROOT / ".ci/slurm-down"), folder], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _untimed(value):
    """``value`` without the timings ("seconds") that it holds at any depth."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _params(mnist_mirror):
    folder, files = mnist_mirror
    params = tiny_params(files, offline_mirror=str(folder.parent))
    # One thread per job, so that two jobs share the node's two CPUs.
    params["compute"]["threads"] = 1
    return narrow_sweep(params, MODELS, 2)


def test_training_jobs_run_as_slurm_jobs_with_a_local_runs_results(
    slurm_cluster, tmp_path, mnist_mirror
):
    params = _params(mnist_mirror)
    cluster = make_project(tmp_path / "cluster", params, git=False)
    local = make_project(tmp_path / "local", params, git=False)

    # What a user does: name their partition in the profile.
    profile = cluster / "workflow/profiles/slurm/config.yaml"
    settings = yaml.safe_load(profile.read_text())
    settings["default-resources"]["slurm_partition"] = "debug"
    profile.write_text(yaml.safe_dump(settings))

    # The local run goes on while SLURM's jobs wait in the queue.
    local_run = subprocess.Popen(
        ["snakemake", *TARGETS, "--cores", "2"],
        cwd=local,
        env=venv_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _run(
        [
            "snakemake",
            *TARGETS,
            "--profile",
            "workflow/profiles/slurm",
            # The test cluster keeps no accounting, so sacct knows no job.
            "--slurm-status-command",
            "squeue",
            "--slurm-keep-successful-logs",
            "--slurm-init-seconds-before-status-checks",
            "2",
        ],
        cluster,
    )
    _, stderr = local_run.communicate(timeout=600)
    assert local_run.returncode == 0, stderr[-5000:]

    # Every training job ran inside a SLURM job of its own, whose log the
    # plugin kept under .snakemake/slurm_logs/rule_model_train.
    slurm_logs = {p.stem: p for p in (cluster / ".snakemake/slurm_logs").rglob("*.log")}
    jobs = set()
    for model in MODELS:
        log = (cluster / f"logs/mnist/train/{model}/latent-2.log").read_text()
        [job] = re.findall(r"running in SLURM job (\d+)", log)
        assert "rule_model_train" in slurm_logs[job].parts, slurm_logs[job]
        assert f"--model {model} --latent 2" in slurm_logs[job].read_text()
        jobs.add(job)
        local_log = (local / f"logs/mnist/train/{model}/latent-2.log").read_text()
        assert "SLURM job" not in local_log
    assert len(jobs) == len(MODELS)

    # The same models as the local run's, to the last bit.
    for target in TARGETS:
        a = torch.load(cluster / target, weights_only=True)
        b = torch.load(local / target, weights_only=True)
        assert a["state_dict"].keys() == b["state_dict"].keys()
        for name, tensor in a["state_dict"].items():
            assert torch.equal(tensor, b["state_dict"][name]), (target, name)
        for key in ("history", "pretraining", "n_train", "device"):
            assert _untimed(a["record"][key]) == _untimed(b["record"][key]), key


def test_the_profile_names_its_placeholders():
    settings = yaml.safe_load(
        (ROOT / "workflow/profiles/slurm/config.yaml").read_text()
    )
    assert settings["executor"] == "slurm"
    assert settings["rerun-incomplete"] is True
    assert settings["default-resources"]["slurm_partition"] == "your-partition"
    assert settings["set-resources"]["model_train"]["cpus_per_gpu"] == "threads"
