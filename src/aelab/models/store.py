"""Saving and loading trained models with the parameters they were made from."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aelab.errors import AelabError
from aelab.fileio import atomic_output
from aelab.models import autoencoder, logistic_pca, lsa, pca


def save(path: str | os.PathLike, model: nn.Module, record: dict[str, Any]) -> None:
    """Write the model's weights and its ``record`` (settings, timing) atomically.

    ``record`` must hold ``kind``, ``settings``, ``latent_size`` and
    ``input_size``: enough to rebuild the model without params.yaml.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_output(path) as tmp:
        torch.save({"record": record, "state_dict": state}, tmp)


def load(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a saved model (on the CPU, in evaluation mode) and its record."""
    path = Path(path)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        record, state = saved["record"], saved["state_dict"]
    except FileNotFoundError:
        raise AelabError(
            f"{path}: model not found. Run the train step first."
        ) from None
    except Exception as err:  # torch raises many types for a damaged file
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise AelabError(
            f"{path}: not a readable aelab model ({type(err).__name__}: "
            f"{first_line}). Check that the path names a train step's .pt file; "
            "if it does, delete it and run the train step again."
        ) from None

    if record["kind"] == "pca":
        model: nn.Module = pca.PCACodec(
            state["mean"].numpy(), state["components"].numpy()
        )
    elif record["kind"] == "lsa":
        model = lsa.LSACodec(state["components"].numpy())
    elif record["kind"] == "logistic_pca":
        model = logistic_pca.LogisticPCACodec(
            state["basis"],
            state["bias"],
            code_iterations=record["settings"]["code_iterations"],
        )
    else:
        model = autoencoder.build(
            record["settings"], record["input_size"], record["latent_size"]
        )
        model.load_state_dict(state)
    return model.eval(), record
