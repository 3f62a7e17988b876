"""params.yaml: defaults, and one clear error per kind of mistake."""

from __future__ import annotations

import pytest
import yaml

from aelab.config import load_params, validate_params
from aelab.errors import AelabError
from conftest import ROOT


def test_repository_params_are_valid_and_complete():
    params = load_params(ROOT / "params.yaml")
    assert params["sweep"]["latent_sizes"] == [2, 10, 30]
    assert params["models"]["deep"]["hidden_sizes"] == [1000, 500, 250]
    assert params["data"]["mnist"]["files"]["test_labels"]["sha256"].startswith(
        "ff7bcfd4"
    )


def test_empty_file_takes_every_default():
    params = validate_params({})
    assert params["sweep"]["models"] == ["pca", "linear", "shallow", "deep"]
    assert params["models"]["shallow"]["code_activation"] == "sigmoid"
    assert params["models"]["deep"]["batch_size"] == 100  # from the definition
    assert params["compute"] == {"device": "auto", "seed": 0}


def test_partial_model_entry_gets_defaults_of_its_kind():
    params = validate_params(
        {
            "models": {"pca": {"kind": "pca"}, "mine": {"kind": "autoencoder"}},
            "sweep": {"models": ["pca", "mine"]},
            "figures": {
                "reconstructions": {"models": ["pca"]},
                "codes_2d": {"models": ["pca"]},
            },
        }
    )
    assert params["models"]["mine"]["epochs"] == 10
    assert params["models"]["mine"]["loss"] == "cross_entropy"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            {"sweep": {"latent_sizes": [2, -3]}},
            "key 'sweep.latent_sizes[1]': -3 is less than the minimum of 1",
        ),
        (
            {"sweep": {"models": ["pca", "deeep"]}},
            "key 'sweep.models[1]': unknown model 'deeep'",
        ),
        (
            {"models": {"deep": {"kind": "autoencoder", "loss": "hinge"}}},
            "key 'models.deep.loss': 'hinge' is not one of",
        ),
        (
            {"models": {"deep": {"kind": "forest"}}},
            "key 'models.deep.kind': 'forest' is not one of ['pca', 'autoencoder']",
        ),
        (
            {"compute": {"sede": 1}},
            "key 'compute': Additional properties are not allowed ('sede' was",
        ),
        (
            {"figures": {"reconstructions": {"latent_size": 7}}},
            "'figures.reconstructions.latent_size': 7 is not one of sweep",
        ),
        (
            {"sweep": {"latent_sizes": [10, 30]}},
            "the figure of 2-D codes needs latent size 2",
        ),
    ],
)
def test_bad_values_name_the_key(raw, expected):
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


def test_schema_in_workflow_folder_is_the_packaged_one():
    packaged = ROOT / "src" / "aelab" / "params.schema.yaml"
    linked = ROOT / "workflow" / "schemas" / "params.schema.yaml"
    assert yaml.safe_load(linked.read_text()) == yaml.safe_load(packaged.read_text())


def test_repository_params_equal_the_schema_defaults():
    # params.yaml spells out every default, so the two documents cannot drift.
    assert load_params(ROOT / "params.yaml") == validate_params({})
