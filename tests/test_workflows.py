"""The real Snakemake and the real DVC, run on tiny data in temporary git repos.

Both front ends run the whole pipeline from the same params.yaml; the tests
check that they write the same files with the same numbers, that a second
run has nothing to do, and that bad parameters stop them with a clear error.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from aelab.data.prepared import load_prepared
from aelab.evaluate.reconstruction import squared_error_per_image
from conftest import make_project, tiny_params, venv_env


def run(args, cwd, check=True):
    result = subprocess.run(
        args, cwd=cwd, env=venv_env(), capture_output=True, text=True, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def dvc_outputs(project):
    """Every output path that dvc.lock records, across all stages."""
    lock = yaml.safe_load((project / "dvc.lock").read_text())
    return sorted(
        out["path"] for stage in lock["stages"].values() for out in stage["outs"]
    )


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory, mnist_mirror):
    """The tiny pipeline run once by Snakemake and once by DVC."""
    folder, files = mnist_mirror
    params = tiny_params(files, offline_mirror=str(folder.parent))
    smk = make_project(tmp_path_factory.mktemp("snakemake"), params)
    dvc = make_project(tmp_path_factory.mktemp("dvc"), params)
    # --cores at least compute.threads, so that Snakemake gives every job the
    # thread count that DVC's stages take from params.yaml.
    run(["snakemake", "--cores", "2"], smk)
    run(["dvc", "repro"], dvc)
    return smk, dvc, params


def test_both_front_ends_write_the_same_files(both_runs):
    smk, dvc, _ = both_runs
    declared = dvc_outputs(dvc)
    # mnist fetch, prepare; curves; mnist train, evaluate; curves train,
    # evaluate; collect (table, metrics) x 2; summary; figures.
    assert len(declared) == 4 + 2 + 2 + 10 + 20 + 2 + 4 + 4 + 2 + 7
    for path in declared:
        assert (smk / path).is_file(), f"Snakemake did not write {path}"
        assert (dvc / path).is_file(), f"DVC did not write {path}"
    made_by_snakemake = sorted(
        str(p.relative_to(smk))
        for folder in ("data", "results")
        for p in (smk / folder).rglob("*")
        if p.is_file() and p.name != ".gitignore"
    )
    assert made_by_snakemake == declared


def test_both_front_ends_give_the_same_numbers(both_runs):
    smk, dvc, params = both_runs
    table_smk = pd.read_csv(smk / "results/mnist/metrics.csv")
    table_dvc = pd.read_csv(dvc / "results/mnist/metrics.csv")
    # One row per (model, code size, split).
    assert len(table_smk) == 5 * 2 * 2
    assert set(table_smk["model"]) == set(params["sweep"]["mnist"]["models"])
    cols = ["dataset", "model", "latent_size", "split", "seed"]
    pd.testing.assert_frame_equal(table_smk[cols], table_dvc[cols])
    # Same code, seed and thread count (compute.threads, which Snakemake
    # passes on as the rules' threads): the numbers agree to the last digit.
    np.testing.assert_array_equal(
        table_smk["squared_error"], table_dvc["squared_error"]
    )
    for model in params["sweep"]["mnist"]["models"]:
        for size in (2, 3):
            name = f"results/mnist/codes/{model}/latent-{size}.npz"
            with np.load(smk / name) as a, np.load(dvc / name) as b:
                np.testing.assert_array_equal(a["codes"], b["codes"])


def test_pca_error_in_the_table_matches_numpy(both_runs):
    smk, _, _ = both_runs
    train, _ = load_prepared(smk / "data/mnist/prepared/train.npz")
    test, _ = load_prepared(smk / "data/mnist/prepared/test.npz")
    mean = train.astype(np.float64).mean(axis=0)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis = vt[:3]
    expected = squared_error_per_image(test, (test - mean) @ basis.T @ basis + mean)
    metrics = json.loads((smk / "results/mnist/metrics/pca/latent-3.json").read_text())
    assert metrics["squared_error"]["test"] == pytest.approx(expected, rel=1e-6)
    summary = json.loads((smk / "results/mnist/metrics.json").read_text())
    assert summary["pca"]["latent_3"]["test_squared_error"] == pytest.approx(
        expected, rel=1e-6
    )


def test_summary_sets_ours_beside_the_paper(both_runs):
    smk, dvc, _ = both_runs
    summary = pd.read_csv(smk / "results/summary.csv")
    recorded = pd.read_csv(smk / "workflow/recorded/runs.csv")
    # Every published figure, run or not, then the runs on record.
    assert len(summary) == 7 + len(recorded)
    assert set(summary["profile"][:7]) == {"tiny"}
    curves_pca = summary[
        (summary["dataset"] == "curves") & (summary["method"] == "pca")
    ]
    assert curves_pca["paper"].item() == pytest.approx(5.90)
    assert np.isnan(curves_pca["ours"].item())  # the tiny sweep has no 18-D
    curves_ae = summary[
        (summary["dataset"] == "curves") & (summary["method"] == "autoencoder")
    ]
    table = pd.read_csv(smk / "results/curves/metrics.csv")
    ours = table.query("model == 'deep_pretrained' and split == 'test'")
    # The summary keeps four decimals.
    assert curves_ae["ours"].item() == pytest.approx(
        ours["squared_error"].item(), abs=1e-4
    )
    markdown = (smk / "results/summary.md").read_text()
    assert "| curves | deep autoencoder | 6 | 1.44 |" in markdown
    assert "not run" in markdown
    assert (dvc / "results/summary.md").read_text() == markdown


def test_pretrained_model_records_pretraining(both_runs):
    import torch

    smk, _, _ = both_runs
    saved = torch.load(
        smk / "results/mnist/models/deep_pretrained/latent-3.pt", weights_only=True
    )
    pretraining = saved["record"]["pretraining"]
    assert pretraining["layer_sizes"] == [784, 16, 8, 3]
    assert pretraining["top_hidden_units"] == "linear"
    assert [len(h) for h in pretraining["history"]] == [2, 2, 2]
    assert "test_squared_error" in pretraining["before_fine_tuning"]
    history = saved["record"]["history"]
    assert len(history) == 3 and all("test_squared_error" in h for h in history)
    assert saved["record"]["pretraining"] is not None
    random_init = torch.load(
        smk / "results/mnist/models/deep/latent-3.pt", weights_only=True
    )
    assert random_init["record"]["pretraining"] is None


def test_second_runs_have_nothing_to_do(both_runs):
    smk, dvc, _ = both_runs
    dry = run(["snakemake", "--cores", "1", "-n"], smk)
    assert "Nothing to be done" in dry.stdout + dry.stderr
    again = run(["dvc", "repro"], dvc)
    assert "Running stage" not in again.stdout
    assert "Data and pipelines are up to date" in again.stdout


def test_dvc_commit_records_a_snakemake_run(both_runs):
    smk, _, _ = both_runs
    run(["dvc", "commit", "--force"], smk)
    status = run(["dvc", "status"], smk)
    assert "Data and pipelines are up to date" in status.stdout


def test_changing_one_model_reruns_only_its_jobs(both_runs, tmp_path):
    smk, _, params = both_runs
    changed = json.loads(json.dumps(params))
    changed["models"]["linear"]["epochs"] = 4
    (smk / "params.yaml").write_text(yaml.safe_dump(changed, sort_keys=False))
    try:
        dry = run(["snakemake", "--cores", "1", "-n"], smk)
        plan = dry.stdout + dry.stderr
        assert "results/mnist/models/linear/latent-2.pt" in plan
        assert "results/mnist/models/linear/latent-3.pt" in plan
        assert "results/mnist/models/deep/latent-2.pt" not in plan
        assert "results/mnist/models/pca/latent-2.pt" not in plan
    finally:
        (smk / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda p: p["sweep"]["mnist"]["models"].append("deeep"),
            "'sweep.mnist.models[5]': unknown model 'deeep'",
        ),
        (
            lambda p: p["sweep"]["curves"]["latent_sizes"].append(-3),
            "'sweep.curves.latent_sizes[1]': -3 is less than the minimum of 1",
        ),
    ],
)
def test_bad_params_stop_snakemake_before_any_job(
    tmp_path, mnist_mirror, change, expected
):
    folder, files = mnist_mirror
    params = tiny_params(files, offline_mirror=str(folder.parent))
    change(params)
    project = make_project(tmp_path / "bad", params, git=False)
    result = run(["snakemake", "--cores", "1"], project, check=False)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
    assert not (project / "data").exists() and not (project / "results").exists()


def test_snakemake_takes_another_parameter_file_and_nothing_else(
    tmp_path, mnist_mirror
):
    folder, files = mnist_mirror
    params = tiny_params(files, offline_mirror=str(folder.parent))
    project = make_project(tmp_path / "p", params, git=False)
    other = json.loads(json.dumps(params))
    other["sweep"]["curves"]["latent_sizes"] = [6, 7]
    (project / "other.yaml").write_text(yaml.safe_dump(other, sort_keys=False))

    dry = run(["snakemake", "-n", "--config", "params=other.yaml"], project)
    plan = dry.stdout + dry.stderr
    assert "results/curves/models/pca/latent-7.pt" in plan

    refused = run(["snakemake", "-n", "--config", "epochs=3"], project, check=False)
    assert refused.returncode != 0
    assert "instead of passing epochs with --config" in refused.stdout + refused.stderr
