"""Pipeline outputs that git tracks: DVC's refusal, aelab's early stop, the fix.

Real git and the real DVC, in temporary repositories built here.
"""

from __future__ import annotations

import subprocess

import pytest

from aelab.cli import main
from aelab.errors import AelabError
from aelab.tracked_outputs import UNTRACK, check_before_dvc_stage, tracked_outputs
from conftest import make_project, tiny_params, venv_env


def run(args, cwd, shell=False):
    return subprocess.run(
        args, cwd=cwd, env=venv_env(), capture_output=True, text=True, shell=shell
    )


def git_repo(folder):
    for args in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "test@example.invalid"],
        ["git", "config", "user.name", "aelab tests"],
    ):
        assert run(args, folder).returncode == 0
    return folder


def test_tracked_outputs_lists_data_and_results_only(tmp_path):
    git_repo(tmp_path)
    for name in (
        "data/mnist/raw/labels.gz",
        "data/mnist/raw/.gitignore",
        "data/extra.dvc",
        "results/mnist/models/deep/latent-2.pt",
        "notes.txt",
        ".gitignore",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    (tmp_path / "results/untracked.csv").write_text("x")
    added = run(["git", "add", "-f", "data", "notes.txt", ".gitignore"], tmp_path)
    assert added.returncode == 0
    assert run(["git", "add", "-f", "results/mnist"], tmp_path).returncode == 0
    assert tracked_outputs(tmp_path) == [
        "data/mnist/raw/labels.gz",
        "results/mnist/models/deep/latent-2.pt",
    ]


def test_no_git_repository_means_nothing_tracked(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/a.npz").write_text("x")
    assert tracked_outputs(tmp_path) == []
    check_before_dvc_stage({"DVC_ROOT": str(tmp_path)})


def test_check_runs_under_dvc_only_and_names_every_file(tmp_path):
    git_repo(tmp_path)
    names = [f"results/m/latent-{k:02d}.pt" for k in range(12)]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert run(["git", "add", "-f", "results"], tmp_path).returncode == 0
    check_before_dvc_stage({})  # not under DVC: Snakemake does not mind
    with pytest.raises(AelabError) as info:
        check_before_dvc_stage({"DVC_ROOT": str(tmp_path)})
    message = str(info.value)
    assert message.startswith(
        f"git tracks 12 file(s) in data/ or results/ of {tmp_path}, where the "
        "pipeline writes its outputs:\n  results/m/latent-00.pt\n"
    )
    assert "  results/m/latent-09.pt\n  ... and 2 more\n" in message
    assert message.endswith(
        "dvc repro again:\n"
        "  git rm -r --cached --ignore-unmatch data results\n"
        '  git commit -m "Stop tracking pipeline outputs in git; DVC tracks them"'
    )


def test_dvc_with_outputs_in_git_fails_clearly_and_the_fix_works(
    tmp_path, monkeypatch, mnist_mirror
):
    _, files = mnist_mirror
    params = tiny_params(files)
    params["data"]["curves"].update(n_train=20, n_test=10)
    project = make_project(tmp_path / "project", params)
    # The outputs were made and committed before DVC was set up.
    monkeypatch.chdir(project)
    assert main(["make-curves"]) == 0
    outputs = ["data/curves/prepared/test.npz", "data/curves/prepared/train.npz"]
    assert run(["git", "add", "-f", "data"], project).returncode == 0
    assert run(["git", "commit", "-qm", "outputs"], project).returncode == 0

    # DVC's own error, from a command that runs no aelab step.
    commit = run(["dvc", "commit", "--force", "curves_make"], project)
    assert commit.returncode != 0
    assert (
        "output 'data/curves/prepared/train.npz' is already tracked by SCM (e.g. Git)"
        in commit.stderr
    )
    assert "git rm -r --cached 'data/curves/prepared/train.npz'" in commit.stderr

    # Under dvc repro the step stops before doing anything, naming both files.
    repro = run(["dvc", "repro", "curves_make"], project)
    assert repro.returncode != 0
    said = repro.stdout + repro.stderr
    assert "git tracks 2 file(s) in data/ or results/" in said
    assert "".join(f"  {name}\n" for name in outputs) in said
    assert UNTRACK in said

    # The commands in the message fix it.
    for command in UNTRACK.splitlines():
        assert run(command.strip(), project, shell=True).returncode == 0
    assert tracked_outputs(project) == []
    repro = run(["dvc", "repro", "curves_make"], project)
    assert repro.returncode == 0, repro.stderr[-3000:]
    status = run(["dvc", "status", "curves_make"], project)
    assert "Data and pipelines are up to date" in status.stdout
    for name in outputs:
        assert (project / name).is_file()
