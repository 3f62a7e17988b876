"""results/summary: the paper's figures beside ours; the 2-D code sample."""

import numpy as np
import pandas as pd
import pytest

from aelab.config import load_params, validate_params
from aelab.errors import AelabError
from aelab.evaluate.summary import compare, summarise
from aelab.figures.codes_2d import first_of_each_class
from aelab.paper import TEST_ERRORS
from conftest import ROOT


def table(rows):
    return pd.DataFrame(
        [
            {
                "dataset": d,
                "model": m,
                "latent_size": k,
                "split": split,
                "squared_error": e + (0.5 if split == "train" else 0),
                "train_seconds": 1.0,
                "seed": 0,
            }
            for d, m, k, e in rows
            for split in ("train", "test")
        ]
    )


def test_comparison_takes_the_test_error_of_the_named_model():
    params = load_params(ROOT / "params.yaml")
    metrics = table(
        [
            ("mnist", "pca", 30, 13.8663),
            ("mnist", "deep_pretrained", 30, 2.9),
            ("mnist", "deep", 30, 9.0),
            ("curves", "pca", 18, 5.5),
        ]
    )
    result = compare(params, metrics).set_index(["dataset", "method", "latent_size"])
    assert len(result) == len(TEST_ERRORS) == 7
    assert result.loc[("mnist", "pca", 30), "ours"] == pytest.approx(13.8663)
    assert result.loc[("mnist", "pca", 30), "paper"] == pytest.approx(13.87)
    # deep_pretrained stands for the paper's autoencoder, not deep.
    assert result.loc[("mnist", "autoencoder", 30), "ours"] == pytest.approx(2.9)
    assert np.isnan(result.loc[("mnist", "logistic_pca", 30), "ours"])
    assert set(result["profile"]) == {"default"}


def test_summary_files(tmp_path):
    params = load_params(ROOT / "params-paper.yaml")
    path = tmp_path / "metrics.csv"
    table([("mnist", "pca", 30, 13.8663)]).to_csv(path, index=False)
    summarise(params, [path], tmp_path / "out" / "summary")
    written = pd.read_csv(tmp_path / "out" / "summary.csv")
    assert list(written["profile"].unique()) == ["paper"]
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert "| mnist | PCA | 30 | 13.87 | 13.87 | pca | paper |" in markdown
    assert "| mnist | deep autoencoder | 30 | 3.00 | not run |" in markdown
    assert "| pca | 13.87 |" in markdown  # the table of every model


def test_missing_table_is_named(tmp_path):
    params = validate_params(load_params(ROOT / "params.yaml"))
    with pytest.raises(AelabError, match=r"nope\.csv: metrics table not found"):
        summarise(params, [tmp_path / "nope.csv"], tmp_path / "summary")


def test_codes_2d_takes_the_first_of_each_class():
    labels = np.array([3, 1, 3, 3, 1, 0, 1, 3])
    np.testing.assert_array_equal(first_of_each_class(labels, 2), [0, 1, 2, 4, 5])


def test_runs_on_record_join_the_summary(tmp_path):
    params = load_params(ROOT / "params.yaml")
    path = tmp_path / "metrics.csv"
    table([("mnist", "pca", 30, 13.8663)]).to_csv(path, index=False)
    recorded = tmp_path / "runs.csv"
    recorded.write_text(
        "dataset,method,latent_size,paper,ours,model,profile,train_seconds,"
        "device,date\n"
        "mnist,autoencoder,30,3.0,2.71,deep_pretrained,paper,3600,cpu (2 cores),"
        "2026-12-04\n"
    )
    summarise(params, [path], tmp_path / "summary", recorded_path=recorded)
    written = pd.read_csv(tmp_path / "summary.csv")
    assert len(written) == 8
    last = written.iloc[-1]
    assert (last["profile"], last["ours"]) == ("paper", pytest.approx(2.71))
    markdown = (tmp_path / "summary.md").read_text()
    assert "## Runs on record" in markdown
    assert (
        "| mnist | deep autoencoder | 30 | 3.00 | 2.71 | deep_pretrained | paper "
        "| cpu (2 cores) | 60 min | 2026-12-04 |"
    ) in markdown


def test_runs_on_record_need_their_columns(tmp_path):
    params = load_params(ROOT / "params.yaml")
    path = tmp_path / "metrics.csv"
    table([("mnist", "pca", 30, 13.8663)]).to_csv(path, index=False)
    recorded = tmp_path / "runs.csv"
    recorded.write_text("dataset,method\nmnist,pca\n")
    with pytest.raises(AelabError, match=r"runs\.csv: columns latent_size, paper"):
        summarise(params, [path], tmp_path / "summary", recorded_path=recorded)


def test_repository_record_is_readable():
    from aelab.evaluate.summary import read_recorded

    recorded = read_recorded(ROOT / "workflow/recorded/runs.csv")
    assert set(recorded["profile"]) <= {"paper", "default"}
