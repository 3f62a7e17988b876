"""params.yaml: defaults, and one clear error per kind of mistake."""

from __future__ import annotations

import pytest
import yaml

from aelab.config import load_params, schema, validate_params
from aelab.errors import AelabError
from conftest import ROOT

SWEEP = {
    "sweep": {
        "mnist": {
            "models": [
                "pca",
                "logistic_pca",
                "shallow",
                "deep",
                "deep_pretrained",
                "deep_linear",
                "denoising",
            ],
            "latent_sizes": [2, 10, 30],
        },
        "curves": {
            "models": ["pca", "logistic_pca", "curves_deep_pretrained"],
            "latent_sizes": [6, 18],
        },
        "mnist_shuffled": {"models": ["pca", "shallow"], "latent_sizes": [2, 30]},
    }
}


@pytest.mark.parametrize("name", ["params.yaml", "params-paper.yaml"])
def test_repository_params_are_valid(name):
    # Only validity: users edit params.yaml, and the tests must not mind.
    params = load_params(ROOT / name)
    for sweep in params["sweep"].values():
        assert set(sweep["models"]) <= set(params["models"])


def test_missing_keys_take_their_defaults():
    params = validate_params(SWEEP)
    assert params["models"]["shallow"]["code_activation"] == "sigmoid"
    assert params["models"]["deep"]["batch_size"] == 100  # from the definition
    assert params["compute"] == {"device": "auto", "seed": 0, "threads": 1}
    assert params["data"]["offline_mirror"] is None
    assert params["data"]["mnist"]["files"]["test_labels"]["sha256"].startswith(
        "ff7bcfd4"
    )


def test_the_sweep_must_be_written_out():
    # dvc.yaml reads each data set's models and latent sizes from the file.
    with pytest.raises(AelabError, match="'sweep' is a required property"):
        validate_params({})
    with pytest.raises(AelabError, match="'curves' is a required property"):
        validate_params({"sweep": {"mnist": SWEEP["sweep"]["mnist"]}})
    with pytest.raises(AelabError, match="'latent_sizes' is a required property"):
        validate_params({"sweep": {**SWEEP["sweep"], "curves": {"models": ["pca"]}}})


def test_partial_model_entry_gets_defaults_of_its_kind():
    params = validate_params(
        {
            "models": {
                "pca": {"kind": "pca"},
                "mine": {"kind": "autoencoder"},
                "warm": {
                    "kind": "autoencoder",
                    "pretraining": {"epochs": 2},
                    "corruption": {"kind": "gaussian", "level": 0.1},
                },
                "lpca": {"kind": "logistic_pca"},
            },
            "sweep": {
                "mnist": {"models": ["pca", "mine", "warm"], "latent_sizes": [2]},
                "curves": {"models": ["pca", "lpca"], "latent_sizes": [6]},
                "mnist_shuffled": {"models": ["pca"], "latent_sizes": [2]},
            },
            "figures": {
                "reconstructions": {
                    "mnist": [{"model": "pca", "latent_size": 2}],
                    "curves": [{"model": "lpca", "latent_size": 6}],
                    "mnist_shuffled": [{"model": "pca", "latent_size": 2}],
                },
                "codes_2d": {"mnist": {"models": ["pca"]}},
                "deep_vs_shallow": {"models": ["pca", "mine"], "latent_sizes": [2]},
                "denoising": {"model": "warm", "latent_size": 2},
            },
            "summary": {"mnist": {"pca": "pca"}, "curves": {"pca": "pca"}},
        }
    )
    assert params["models"]["mine"]["epochs"] == 10
    assert params["models"]["mine"]["loss"] == "cross_entropy"
    assert params["models"]["mine"]["pretraining"] is None
    assert params["models"]["warm"]["pretraining"]["epochs"] == 2
    assert params["models"]["warm"]["pretraining"]["learning_rate"] == 0.1
    assert params["models"]["warm"]["pretraining"]["top_learning_rate"] == 0.001
    assert params["models"]["lpca"]["code_iterations"] == 100
    assert params["figures"]["codes_2d"]["mnist"]["per_class"] == 500


def _sweep(dataset, **change):
    return {"sweep": {dataset: {**SWEEP["sweep"][dataset], **change}}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            _sweep("mnist", latent_sizes=[2, -3]),
            "key 'sweep.mnist.latent_sizes[1]': -3 is less than the minimum of 1",
        ),
        (
            _sweep("curves", models=["pca", "deeep"]),
            "key 'sweep.curves.models[1]': unknown model 'deeep'",
        ),
        (
            {"models": {"deep": {"kind": "autoencoder", "loss": "hinge"}}},
            "key 'models.deep.loss': 'hinge' is not one of",
        ),
        (
            {"models": {"deep": {"kind": "forest"}}},
            "key 'models.deep.kind': 'forest' is not one of ['pca', 'logistic_pca', "
            "'autoencoder', 'lsa']",
        ),
        (
            {"compute": {"sede": 1}},
            "key 'compute': Additional properties are not allowed ('sede' was",
        ),
        (
            {"models": {"deep": {"kind": "autoencoder", "pretraining": {"epoch": 5}}}},
            "key 'models.deep.pretraining': Additional properties are not allowed",
        ),
        (
            {
                "models": {
                    **schema()["properties"]["models"]["default"],
                    "deep": {
                        "kind": "autoencoder",
                        "hidden_activation": "relu",
                        "pretraining": {},
                    },
                }
            },
            "key 'models.deep.hidden_activation': 'relu' cannot be pretrained",
        ),
        (
            {
                "figures": {
                    "reconstructions": {
                        "mnist": [{"model": "deep_pretrained", "latent_size": 7}]
                    }
                }
            },
            "'figures.reconstructions.mnist[0]': latent size 7 is not in "
            "sweep.mnist.latent_sizes",
        ),
        (
            _sweep("mnist", latent_sizes=[10, 30]),
            "'figures.codes_2d.mnist.models[0]': latent size 2 is not in",
        ),
        (
            {"summary": {"curves": {"pca": "linear"}}},
            "'summary.curves.pca': model 'linear' is not in sweep.curves.models",
        ),
    ],
)
def test_bad_values_name_the_key(raw, expected):
    raw = {**raw, "sweep": {**SWEEP["sweep"], **raw.get("sweep", {})}}
    with pytest.raises(AelabError) as info:
        validate_params(raw, source="my-params.yaml")
    message = str(info.value)
    assert message.startswith("my-params.yaml: ")
    assert expected in message


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(AelabError, match="parameter file not found"):
        load_params(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sweep: [unclosed\n")
    with pytest.raises(AelabError, match=r"bad\.yaml: not valid YAML"):
        load_params(bad)
    bad.write_text("")
    with pytest.raises(AelabError, match=r"bad\.yaml: .* found an empty file"):
        load_params(bad)
    with pytest.raises(AelabError, match="cannot read the parameter file"):
        load_params(tmp_path)  # a folder


def test_schema_in_workflow_folder_is_the_packaged_one():
    packaged = ROOT / "src" / "aelab" / "params.schema.yaml"
    linked = ROOT / "workflow" / "schemas" / "params.schema.yaml"
    assert yaml.safe_load(linked.read_text()) == yaml.safe_load(packaged.read_text())


def _with_reuters(**change):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["reuters"].update(change)
    return params


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"runs": [{"model": "pca", "latent_size": 2}]},
            "my.yaml: key 'reuters.runs[0]': model 'pca' is of kind pca; the "
            "Reuters runs need an lsa or autoencoder model defined under 'models'",
        ),
        (
            {"runs": [{"model": "lsa", "latent_size": 10}]},
            "my.yaml: key 'reuters.figures.codes_2d': model 'lsa' at latent size 2 "
            "is not in reuters.runs. Add it there or remove it here.",
        ),
    ],
)
def test_reuters_runs_and_figures_are_checked(change, expected):
    with pytest.raises(AelabError) as caught:
        validate_params(_with_reuters(**change), source="my.yaml")
    assert str(caught.value).startswith(expected)


def test_document_pretraining_needs_a_softmax_output():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["models"]["reuters_deep_pretrained"]["output_activation"] = "sigmoid"
    with pytest.raises(AelabError) as caught:
        validate_params(params, source="p.yaml")
    assert str(caught.value).startswith(
        "p.yaml: key 'models.reuters_deep_pretrained.output_activation': "
        "'sigmoid' cannot be pretrained as a stack of RBMs"
    )
    assert "use softmax" in str(caught.value)


@pytest.mark.parametrize("model", ["lsa", "reuters_deep_pretrained"])
def test_document_models_are_refused_in_an_image_sweep(tmp_path, model):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["sweep"]["mnist"]["models"].append(model)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(AelabError) as error:
        load_params(path)
    assert f"'sweep.mnist.models[11]': model '{model}' is for documents" in str(
        error.value
    )
