"""params.yaml: defaults, and one clear error per kind of mistake."""

from __future__ import annotations

import pytest
import yaml

from aelab.config import load_params, validate_params
from aelab.errors import AelabError
from conftest import ROOT

SWEEP = {
    "sweep": {
        "models": ["pca", "linear", "shallow", "deep"],
        "latent_sizes": [2, 10, 30],
    }
}


def test_repository_params_are_valid():
    # Only validity: users edit params.yaml, and the tests must not mind.
    params = load_params(ROOT / "params.yaml")
    assert set(params["sweep"]["models"]) <= set(params["models"])


def test_missing_keys_take_their_defaults():
    params = validate_params(SWEEP)
    assert params["models"]["shallow"]["code_activation"] == "sigmoid"
    assert params["models"]["deep"]["batch_size"] == 100  # from the definition
    assert params["compute"] == {"device": "auto", "seed": 0, "threads": 2}
    assert params["data"]["offline_mirror"] is None
    assert params["data"]["mnist"]["files"]["test_labels"]["sha256"].startswith(
        "ff7bcfd4"
    )


def test_the_sweep_must_be_written_out():
    # dvc.yaml reads sweep.models and sweep.latent_sizes from the file itself.
    with pytest.raises(AelabError, match="'sweep' is a required property"):
        validate_params({})
    with pytest.raises(AelabError, match="'latent_sizes' is a required property"):
        validate_params({"sweep": {"models": ["pca"]}})


def test_partial_model_entry_gets_defaults_of_its_kind():
    params = validate_params(
        {
            "models": {"pca": {"kind": "pca"}, "mine": {"kind": "autoencoder"}},
            "sweep": {"models": ["pca", "mine"], "latent_sizes": [2, 30]},
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
