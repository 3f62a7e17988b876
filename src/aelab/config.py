"""Loading and validating params.yaml against the project's JSON schema.

Every step and both workflow front ends read parameters through
:func:`load_params`, so they all see the same values, with the same defaults
filled in, and a bad file fails the same way everywhere: one message naming
the file, the key and the value, and saying what was expected.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from aelab.errors import AelabError

SCHEMA_RESOURCE = "params.schema.yaml"


@cache
def schema() -> dict[str, Any]:
    """The parameter schema (shipped inside the package)."""
    text = resources.files("aelab").joinpath(SCHEMA_RESOURCE).read_text()
    return yaml.safe_load(text)


def load_params(path: str | os.PathLike = "params.yaml") -> dict[str, Any]:
    """Read, validate and complete a parameter file.

    Parameters
    ----------
    path : path-like, default "params.yaml"
        The YAML file to read.

    Returns
    -------
    dict
        The parameters with every default filled in.

    Raises
    ------
    AelabError
        If the file is missing, is not YAML, breaks the schema, or names a
        model or code size in ``figures`` or ``summary`` that the sweep
        lacks.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise AelabError(
            f"{path}: parameter file not found. Run from the project root, "
            "or pass --params with the path of your params.yaml."
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise AelabError(f"{path}: cannot read the parameter file ({err}).") from None
    except yaml.YAMLError as err:
        raise AelabError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise AelabError(
            f"{path}: expected a mapping of parameters, found "
            f"{'an empty file' if raw is None else type(raw).__name__}. Start "
            "from the repository's params.yaml."
        )
    return validate_params(raw, source=str(path))


def validate_params(raw: Any, source: str = "params.yaml") -> dict[str, Any]:
    """Validate an already parsed parameter mapping and fill its defaults."""
    params = copy.deepcopy(raw)
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(params), key=_error_depth)
    if errors:
        raise AelabError(_describe(errors[0], source))
    _fill_defaults(params, schema(), validator)
    _check_model_names(params, source)
    _check_pretraining(params, source)
    _check_reuters(params, source)
    _check_family(params, source)
    return params


def model_settings(params: dict[str, Any], model: str) -> dict[str, Any]:
    """The settings of one model, by the name used in the sweep."""
    try:
        return params["models"][model]
    except KeyError:
        known = ", ".join(sorted(params["models"]))
        raise AelabError(
            f"model '{model}' is not defined under 'models' in params.yaml "
            f"(defined: {known})."
        ) from None


def _error_depth(error: jsonschema.ValidationError) -> tuple[int, str]:
    # The deepest error is the most specific ("-3 is less than 1" rather than
    # "the sweep is invalid"), so it is the one worth showing.
    return (-len(error.absolute_path), error.message)


def _key_name(path: Any) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else f".{part}"
    return name.lstrip(".") or "(top level)"


def _describe(error: jsonschema.ValidationError, source: str) -> str:
    key = _key_name(error.absolute_path)
    if error.validator == "required":
        return (
            f"{source}: key '{key}': {error.message}. Write it out in the "
            "parameter file (see workflow/schemas/params.schema.yaml)."
        )
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        hint = f" Allowed keys here: {', '.join(allowed)}." if allowed else ""
        return f"{source}: key '{key}': {error.message}.{hint}"
    detail = error.schema.get("description", "")
    hint = f" ({detail.strip()})" if detail else ""
    return (
        f"{source}: key '{key}': {error.message}{hint}. "
        "Fix this value in the parameter file."
    )


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target: Any = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target


def _fill_defaults(instance: Any, node: dict[str, Any], validator: Any) -> None:
    """Insert schema defaults for missing keys, walking nested objects."""
    node = _resolve(node, validator.schema)
    if not isinstance(instance, dict):
        return
    for key, sub in node.get("properties", {}).items():
        # A default written beside a $ref wins over one inside the target.
        target = _resolve(sub, validator.schema)
        if key not in instance and ("default" in sub or "default" in target):
            default = sub["default"] if "default" in sub else target["default"]
            instance[key] = copy.deepcopy(default)
        sub = target
        if key in instance:
            _fill_defaults(instance[key], sub, validator)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        known = node.get("properties", {})
        for key, value in instance.items():
            if key not in known:
                _fill_defaults(value, extra, validator)
    for branch in node.get("allOf", []):
        if "if" in branch and validator.evolve(schema=branch["if"]).is_valid(instance):
            _fill_defaults(instance, branch["then"], validator)


DATASETS = ("mnist", "curves", "mnist_shuffled")


def _check_model_names(params: dict[str, Any], source: str) -> None:
    """Cross-key checks that a JSON schema cannot express."""
    defined = params["models"]
    for dataset in DATASETS:
        sweep = params["sweep"][dataset]
        for index, name in enumerate(sweep["models"]):
            if name not in defined:
                raise AelabError(
                    f"{source}: key 'sweep.{dataset}.models[{index}]': unknown "
                    f"model '{name}'. Use one defined under 'models' "
                    f"({', '.join(sorted(defined))}), or define it there."
                )
            settings = defined[name]
            documents = settings.get("kind") == "lsa" or (
                settings.get("loss") == "softmax_cross_entropy"
            )
            if documents:
                raise AelabError(
                    f"{source}: key 'sweep.{dataset}.models[{index}]': model "
                    f"'{name}' is for documents (LSA, or a softmax output over "
                    "word probabilities), not images. Use it in reuters.runs, "
                    f"or put an image model in sweep.{dataset}.models."
                )
        rows = params["figures"]["reconstructions"].get(dataset, [])
        for index, row in enumerate(rows):
            key = f"figures.reconstructions.{dataset}[{index}]"
            _check_swept(sweep, dataset, row["model"], row["latent_size"], key, source)
        for method, name in params["summary"].get(dataset, {}).items():
            key = f"summary.{dataset}.{method}"
            _check_swept(sweep, dataset, name, None, key, source)

    figure = params["figures"]["codes_2d"]["mnist"]
    for index, name in enumerate(figure["models"]):
        key = f"figures.codes_2d.mnist.models[{index}]"
        _check_swept(params["sweep"]["mnist"], "mnist", name, 2, key, source)

    mnist = params["sweep"]["mnist"]
    figure = params["figures"]["deep_vs_shallow"]
    for index, name in enumerate(figure["models"]):
        key = f"figures.deep_vs_shallow.models[{index}]"
        _check_swept(mnist, "mnist", name, None, key, source)
    for index, size in enumerate(figure["latent_sizes"]):
        key = f"figures.deep_vs_shallow.latent_sizes[{index}]"
        _check_swept(mnist, "mnist", figure["models"][0], size, key, source)

    figure = params["figures"]["denoising"]
    key = "figures.denoising"
    _check_swept(mnist, "mnist", figure["model"], figure["latent_size"], key, source)
    if not defined[figure["model"]].get("corruption"):
        raise AelabError(
            f"{source}: key '{key}.model': model '{figure['model']}' has no "
            "corruption, so there is nothing to denoise. Name a model with "
            f"models.<name>.corruption set."
        )


def _check_swept(
    sweep: dict[str, Any],
    dataset: str,
    model: str,
    latent_size: int | None,
    key: str,
    source: str,
) -> None:
    """A model (and code size) that a figure or table needs must be swept."""
    if model not in sweep["models"]:
        raise AelabError(
            f"{source}: key '{key}': model '{model}' is not in "
            f"sweep.{dataset}.models ({', '.join(sweep['models'])}). Add it to "
            "the sweep or remove it here."
        )
    if latent_size is not None and latent_size not in sweep["latent_sizes"]:
        raise AelabError(
            f"{source}: key '{key}': latent size {latent_size} is not in "
            f"sweep.{dataset}.latent_sizes {sweep['latent_sizes']}. Add it to "
            "the sweep or pick a swept size."
        )


def _check_pretraining(params: dict[str, Any], source: str) -> None:
    """RBM pretraining fits only logistic hidden and output layers."""
    for name, settings in params["models"].items():
        if settings.get("kind") != "autoencoder" or not settings.get("pretraining"):
            continue
        # Constrained Poisson visible units unroll into a softmax output.
        documents = settings["pretraining"].get("visible_units") == (
            "constrained_poisson"
        )
        wanted = {
            "hidden_activation": ("sigmoid",),
            "output_activation": ("softmax",) if documents else ("sigmoid",),
            "code_activation": ("linear", "sigmoid"),
        }
        for key, allowed in wanted.items():
            if settings[key] not in allowed:
                raise AelabError(
                    f"{source}: key 'models.{name}.{key}': '{settings[key]}' "
                    "cannot be pretrained as a stack of RBMs, whose units are "
                    f"logistic; use {' or '.join(allowed)}, or set "
                    f"models.{name}.pretraining to null."
                )


def _check_reuters(params: dict[str, Any], source: str) -> None:
    """The document branch's runs name LSA or autoencoder models, and its
    figures name runs."""
    settings = params.get("reuters")
    if settings is None:  # no document branch
        return
    runs = {(run["model"], run["latent_size"]) for run in settings["runs"]}
    for index, run in enumerate(settings["runs"]):
        kind = params["models"].get(run["model"], {}).get("kind")
        if kind not in ("lsa", "autoencoder"):
            defined = ", ".join(sorted(params["models"]))
            raise AelabError(
                f"{source}: key 'reuters.runs[{index}]': model '{run['model']}' "
                f"is {'not defined' if kind is None else f'of kind {kind}'}; the "
                "Reuters runs need an lsa or autoencoder model defined under "
                f"'models' (defined: {defined})."
            )
    figures = settings["figures"]
    named = [("codes_2d", row) for row in figures["codes_2d"]]
    named += [("retrieval", row) for row in figures["retrieval"]]
    for figure, row in named:
        if (row["model"], row["latent_size"]) not in runs:
            raise AelabError(
                f"{source}: key 'reuters.figures.{figure}': model "
                f"'{row['model']}' at latent size {row['latent_size']} is not "
                "in reuters.runs. Add it there or remove it here."
            )
        if figure == "codes_2d" and row["latent_size"] != 2:
            raise AelabError(
                f"{source}: key 'reuters.figures.codes_2d': latent size "
                f"{row['latent_size']} for '{row['model']}'; the figure draws "
                "2-D codes, so use a run of latent size 2."
            )


def _check_family(params: dict[str, Any], source: str) -> None:
    """Settings of the autoencoder family that only make sense together."""
    for name, settings in params["models"].items():
        if settings.get("kind") != "autoencoder":
            continue
        key = f"models.{name}"
        if settings["loss"] == "cross_entropy" and settings["output_activation"] != (
            "sigmoid"
        ):
            raise AelabError(
                f"{source}: key '{key}.loss': cross_entropy compares pixels with "
                "logistic outputs and needs output_activation sigmoid; set it, or "
                "use loss squared_error."
            )
        regularizer = settings["regularizer"]
        kl = regularizer is not None and regularizer["kind"] == "kl_sparsity"
        if kl and settings["code_activation"] != "sigmoid":
            raise AelabError(
                f"{source}: key '{key}.regularizer': kl_sparsity needs code "
                "activities in (0, 1), but code_activation is "
                f"'{settings['code_activation']}'. Set code_activation to "
                "sigmoid, or use l1_sparsity."
            )
        corruption = settings["corruption"]
        if corruption and corruption["kind"] == "masking" and corruption["level"] > 1:
            raise AelabError(
                f"{source}: key '{key}.corruption.level': {corruption['level']} is "
                "the fraction of pixels masked and must be at most 1."
            )
        if settings["layers"] == "convolutional":
            if not settings["hidden_sizes"]:
                raise AelabError(
                    f"{source}: key '{key}.hidden_sizes': a convolutional "
                    "autoencoder needs at least one channel count, e.g. [16, 32]."
                )
            if settings["pretraining"]:
                raise AelabError(
                    f"{source}: key '{key}.pretraining': a convolutional "
                    "autoencoder cannot be pretrained as a stack of RBMs; set "
                    "it to null."
                )
