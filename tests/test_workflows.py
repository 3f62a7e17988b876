"""The real Snakemake and the real DVC, run on tiny data in temporary git repos.

Both front ends run the whole pipeline from the same params.yaml; the tests
check that they write the same files with the same numbers, that a second
run has nothing to do, and that bad parameters stop them with a clear error.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

from aelab.data.prepared import load_prepared
from aelab.evaluate.reconstruction import squared_error_per_image
from aelab.evaluate.retrieval import fraction_same_class
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
    # mnist fetch, prepare; curves; shuffled control; mnist train (model,
    # curves folder), evaluate; curves train, evaluate; control train,
    # evaluate; collect (table, metrics) x 3; summary; figures
    # (reconstructions, error against code size with its data and training
    # curves x 3, codes_2d, deep_vs_shallow, denoising, the control's figure
    # with its data); then Reuters: fetch, parse (2), prepare (3), train (3
    # runs), evaluate (2 per run), collect (table, metrics), figures (2).
    reuters = 1 + 2 + 3 + 3 + 6 + 2 + 2
    images = 4 + 2 + 2 + 2 + 24 + 24 + 4 + 4 + 4 + 4 + 6 + 2 + 17
    assert len(declared) == images + reuters
    for path in declared:
        assert (smk / path).exists(), f"Snakemake did not write {path}"
        assert (dvc / path).exists(), f"DVC did not write {path}"

    def files(project, paths):
        # Every file at or under ``paths``, bar git's and Snakemake's markers.
        found = []
        for path in paths:
            top = project / path
            found += [top] if top.is_file() else list(top.rglob("*"))
        return sorted(
            str(p.relative_to(project))
            for p in found
            if p.is_file() and p.name not in (".gitignore", ".snakemake_timestamp")
        )

    assert files(smk, ["data", "results"]) == files(dvc, declared)
    # Every autoencoder's curves, PCA's and logistic PCA's empty folders.
    assert (
        dvc / "results/mnist/training/deep/latent-2/test/squared_error.tsv"
    ).is_file()
    assert not any((dvc / "results/mnist/training/pca/latent-2").iterdir())


def test_both_front_ends_give_the_same_numbers(both_runs):
    smk, dvc, params = both_runs
    table_smk = pd.read_csv(smk / "results/mnist/metrics.csv")
    table_dvc = pd.read_csv(dvc / "results/mnist/metrics.csv")
    # One row per (model, code size, split).
    assert len(table_smk) == 6 * 2 * 2
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


def test_reuters_branch_gives_the_same_retrieval_in_both(both_runs):
    smk, dvc, params = both_runs
    table = pd.read_csv(smk / "results/reuters/retrieval.csv")
    pd.testing.assert_frame_equal(
        table, pd.read_csv(dvc / "results/reuters/retrieval.csv")
    )
    runs = params["reuters"]["runs"]
    assert len(table) == len(runs) * len(params["reuters"]["retrieved"])
    assert list(table.columns) == [
        "dataset",
        "model",
        "latent_size",
        "retrieved",
        "fraction_same_class",
    ]
    # The fractions in the table are those of the codes the step wrote.
    for run in runs:
        name = f"results/reuters/codes/{run['model']}/latent-{run['latent_size']}.npz"
        with np.load(smk / name) as a, np.load(dvc / name) as b:
            np.testing.assert_array_equal(a["codes"], b["codes"])
            codes, labels = a["codes"], a["labels"]
            assert list(a["class_names"]) == ["acq", "crude", "earn"]
        chosen = labels >= 0
        mine = table[
            (table["model"] == run["model"])
            & (table["latent_size"] == run["latent_size"])
        ]
        expected = fraction_same_class(
            codes[chosen], labels[chosen], params["reuters"]["retrieved"]
        )
        np.testing.assert_allclose(mine["fraction_same_class"], expected, atol=1e-6)
    counts = json.loads((smk / "data/reuters/parsed/counts.json").read_text())
    assert counts["modapte"] == {"train": 48, "test": 25}
    # On these well separated stories, LSA finds the class of the nearest.
    lsa = table.query("model == 'lsa' and latent_size == 3 and retrieved == 1")
    assert lsa["fraction_same_class"].item() > 0.8


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


def test_shuffled_control_defeats_compression(both_runs):
    smk, dvc, _ = both_runs
    prepared = smk / "data/mnist/prepared/train.npz"
    original, _ = load_prepared(prepared)
    control, labels = load_prepared(smk / "data/mnist_shuffled/prepared/train.npz")
    # The first 40 training images (data.mnist_shuffled.max_train_images),
    # each pixel's values permuted among them; no labels.
    assert control.shape == (40, 784) and not labels.any()
    np.testing.assert_array_equal(
        np.sort(control, axis=0), np.sort(original[:40], axis=0)
    )
    assert not np.array_equal(control, original[:40])

    figure = pd.read_csv(smk / "results/mnist/figures/error_vs_code_size_control.csv")
    assert set(figure["dataset"]) == {"mnist", "mnist_shuffled"}
    pca = figure.query("model == 'pca' and latent_size == 2").set_index("dataset")
    train, _ = load_prepared(prepared)
    test, _ = load_prepared(smk / "data/mnist/prepared/test.npz")
    mean_error = squared_error_per_image(
        test, np.broadcast_to(train.mean(0), test.shape)
    )
    # Correlated strokes: 2 components remove most of the error. Shuffled
    # pixels: they remove almost none of it.
    assert pca.loc["mnist", "squared_error"] < 0.6 * mean_error
    assert pca.loc["mnist_shuffled", "squared_error"] > 0.9 * mean_error
    pd.testing.assert_frame_equal(
        figure,
        pd.read_csv(dvc / "results/mnist/figures/error_vs_code_size_control.csv"),
    )


def test_linear_autoencoders_report_their_principal_angle(both_runs):
    smk, _, _ = both_runs
    table = pd.read_csv(smk / "results/mnist/metrics.csv")
    angles = table.dropna(subset=["largest_principal_angle_degrees"])
    assert set(angles["model"]) == {"linear"}
    assert angles["largest_principal_angle_degrees"].between(0, 90).all()
    markdown = (smk / "results/summary.md").read_text()
    assert "## Linear autoencoders against PCA" in markdown
    assert "| mnist | linear | 3 |" in markdown
    assert "## Every model on mnist_shuffled" in markdown


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


def test_training_curves_are_the_same_in_both_front_ends(both_runs):
    import torch

    smk, dvc, _ = both_runs
    folder = "results/mnist/training/deep_pretrained/latent-3"
    record = torch.load(
        smk / "results/mnist/models/deep_pretrained/latent-3.pt", weights_only=True
    )["record"]
    for project in (smk, dvc):
        test = pd.read_csv(project / folder / "test/squared_error.tsv", sep="\t")
        # Step 0 is the unrolled network, then one row per fine-tuning epoch.
        assert test["step"].tolist() == [0, 1, 2, 3]
        np.testing.assert_array_equal(
            test["squared_error"][1:],
            [h["test_squared_error"] for h in record["history"]],
        )


def test_report_holds_every_figure_with_its_caption(both_runs):
    smk, _, _ = both_runs
    # One more call on the finished run: it reads the results, reruns nothing.
    run(["snakemake", "--report", "report.html"], smk)
    html = (smk / "report.html").read_text()
    figures = sorted(
        str(p.relative_to(smk)) for p in (smk / "results").rglob("figures/*.png")
    )
    # Reconstructions, error against code size and training curves of three
    # image data sets; MNIST's 2-D codes, deep against shallow, denoising and
    # control figures; Reuters' 2-D codes and retrieval.
    assert len(figures) == 3 * 3 + 4 + 2
    for path in figures:
        assert path in html, f"the report lacks {path}"
    tables = ("results/mnist/metrics.csv", "results/summary.csv")
    for table in (*tables, "results/reuters/retrieval.csv"):
        assert table in html
    # A caption of each kind, with the data set filled in. The report keeps
    # them as JSON strings, line breaks escaped.
    text = " ".join(html.replace("\\n", " ").split())
    for words in (
        "Test images of the mnist data set (top row)",
        "against the code size",
        "test digits placed by their 2-D codes",
        "How training went, for every autoencoder of the curves sweep",
        "Every model of the mnist sweep at every code size",
    ):
        assert words in text, words


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
            "'sweep.mnist.models[6]': unknown model 'deeep'",
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


def test_dvc_exp_run_reruns_only_the_stages_that_read_the_changed_key(
    both_runs, tmp_path
):
    _, dvc, _ = both_runs
    # A copy, so that the experiment leaves the shared run as it was.
    project = tmp_path / "exp"
    shutil.copytree(dvc, project, symlinks=True)
    # Experiments start from a commit: the baseline run's dvc.lock joins it.
    run(["git", "add", "-A"], project)
    run(["git", "commit", "-qm", "baseline run"], project)

    result = run(["dvc", "exp", "run", "-S", "models.deep.learning_rate=0.02"], project)
    ran = sorted(re.findall(r"Running stage '([^']+)'", result.stdout))
    assert ran == sorted(
        [
            "mnist_train@deep-2",
            "mnist_train@deep-3",
            "mnist_evaluate@deep-2",
            "mnist_evaluate@deep-3",
            "collect@mnist",
            "summary",
            "plot_reconstructions@mnist",
            "plot_error_vs_code_size@mnist",
            "plot_training_curves@mnist",
            "plot_codes_2d",
            # The tiny deep-against-shallow figure shows the deep model, and
            # the control figure reads MNIST's table; the denoising figure
            # reads only the denoising model and its codes.
            "plot_deep_vs_shallow",
            "plot_error_vs_code_size_control",
        ]
    )
    params = yaml.safe_load((project / "params.yaml").read_text())
    assert params["models"]["deep"]["learning_rate"] == 0.02

    # dvc exp show compares the experiment's metrics with the baseline's.
    shown = run(["dvc", "exp", "show", "--csv"], project)
    table = pd.read_csv(io.StringIO(shown.stdout))

    def column(key):
        return table[next(c for c in table.columns if c.endswith(key))]

    rate = column("models.deep.learning_rate")
    error = column("deep.latent_3.test_squared_error")
    assert sorted(rate.dropna().unique()) == [0.01, 0.02]
    assert error[rate == 0.02].nunique() == 1
    assert error[rate == 0.02].iloc[0] != error[rate == 0.01].iloc[0]
    assert column("pca.latent_3.test_squared_error").dropna().nunique() == 1
