"""Per-epoch training curves, logged with DVCLive, and a progress bar.

Each training job writes one DVCLive folder,
``results/<dataset>/training/<model>/latent-<k>/``:

    train/loss.tsv            training loss per image
    train/squared_error.tsv   squared error per image, training images
    test/squared_error.tsv    squared error per image, test images
    seconds.tsv               seconds the epoch took
    pretraining/rbm_<i>/reconstruction_error.tsv

Every file has one row per epoch; its ``step`` column is the epoch (for
fine-tuning, step 0 is the unrolled network before any fine-tuning, logged
for pretrained models only). PCA and logistic PCA have no epochs: their
folder is empty. These are DVCLive's ``plots/metrics`` tables, moved up.

DVCLive is told to stay a logger: it writes no dvc.yaml, saves no
experiment and makes no report, so that several jobs can run at once under
Snakemake and ``dvc repro`` or ``dvc exp run`` stay in charge of the
repository. The folder is written beside its final place and moved there
when the job succeeds, like every other output.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from aelab.fileio import atomic_directory
from aelab.training import loop

log = logging.getLogger(__name__)

# The record's key in the training history, and DVCLive's metric name.
FINE_TUNING_METRICS = {
    "loss": "train/loss",
    "train_squared_error": "train/squared_error",
    "test_squared_error": "test/squared_error",
    "seconds": "seconds",
}
PRETRAINING_METRICS = {"reconstruction_error": "reconstruction_error"}


class TrainingCurves:
    """Receives each epoch's record; logs it to DVCLive and moves the bar.

    ``live`` is None when no folder was asked for: then only the progress
    bar moves.
    """

    def __init__(self, live: Any, bar: tqdm, label: str) -> None:
        self.live = live
        self.bar = bar
        self.label = label

    def pretraining_epoch(self, layer: int, record: dict[str, float]) -> None:
        self.bar.set_description_str(f"{self.label} RBM {layer}")
        self._log(record["epoch"], record, PRETRAINING_METRICS, f"rbm_{layer}/")
        self.bar.set_postfix(
            reconstruction_error=f"{record['reconstruction_error']:.3f}"
        )
        self.bar.update()

    def before_fine_tuning(self, values: dict[str, float]) -> None:
        """Log the unrolled network's errors as step 0 of fine-tuning."""
        self._log(0, values, FINE_TUNING_METRICS)

    def fine_tuning_epoch(self, record: dict[str, float]) -> None:
        self.bar.set_description_str(f"{self.label} fine-tuning")
        self._log(record["epoch"], record, FINE_TUNING_METRICS)
        shown = {k: f"{v:.3f}" for k, v in record.items() if k.endswith("error")}
        self.bar.set_postfix(loss=f"{record['loss']:.3f}", **shown)
        self.bar.update()

    def _log(
        self,
        step: int,
        record: dict[str, float],
        names: dict[str, str],
        prefix: str = "",
    ) -> None:
        if self.live is None:
            return
        self.live.step = step
        for key, name in names.items():
            if key in record:
                group = "pretraining/" if prefix else ""
                self.live.log_metric(f"{group}{prefix}{name}", float(record[key]))
        self.live.next_step()


@contextlib.contextmanager
def training_curves(
    folder: str | os.PathLike | None, label: str, epochs: int
) -> Iterator[TrainingCurves]:
    """Log curves into ``folder`` (None: none) and show a bar of ``epochs``.

    The bar appears only when stderr is a terminal; log lines then go
    through it so that they do not break it. In a log file, or under
    Snakemake and DVC, each epoch is one log line and there is no bar.
    """
    show_bar = sys.stderr.isatty()
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(
            tqdm(total=epochs, desc=label, unit="epoch", disable=not show_bar)
        )
        if show_bar:
            stack.enter_context(logging_redirect_tqdm())
        if folder is None:
            yield TrainingCurves(None, bar, label)
            return
        tmp = stack.enter_context(atomic_directory(folder))
        if epochs == 0:
            # Nothing to log; spare the job DVCLive's imports (seconds).
            yield TrainingCurves(None, bar, label)
            return
        live = _open_live(tmp / "dvclive")
        yield TrainingCurves(live, bar, label)
        live.end()
        _keep_tables_only(tmp / "dvclive", tmp)
    log.info("%s: training curves written to %s", label, folder)


def _open_live(folder: os.PathLike) -> Any:
    from dvclive import Live  # imports DVC; only a training job needs it

    # DVCLive says which experiment it logs to at INFO; with no experiment
    # saved that line would only mislead.
    logging.getLogger("dvclive").setLevel(logging.WARNING)
    return Live(os.fspath(folder), report=None, save_dvc_exp=False, dvcyaml=None)


def _keep_tables_only(live_dir: Path, folder: Path) -> None:
    """Move DVCLive's per-epoch tables into ``folder``; drop the rest.

    DVCLive also writes metrics.json, the last value of each metric: it
    repeats the model file's record, and a folder that held only tables is
    what ``dvc plots show`` can be pointed at as a whole.
    """
    tables = live_dir / "plots" / "metrics"
    if tables.is_dir():
        for entry in tables.iterdir():
            os.replace(entry, folder / entry.name)
    shutil.rmtree(live_dir)


def with_train_error(
    monitor: loop.Monitor, train_images: torch.Tensor, n_images: int
) -> loop.Monitor:
    """``monitor`` plus the squared error of the first ``n_images`` training images.

    Measured only when the monitor measures (every ``evaluate.monitor_every``
    epochs), on a fixed subset as large as the test set so that the two
    curves cost the same and are equally noisy.
    """
    subset = train_images[:n_images]

    def measure(model: Any, epoch: int | None = None, force: bool = False):
        values = monitor(model, epoch=epoch, force=force)
        # Before fine-tuning the job measures every training image itself.
        if values and not force:
            values["train_squared_error"] = loop.squared_error(model, subset)
        return values

    return measure
