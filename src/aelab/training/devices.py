"""Which GPU a training job uses when several run at once on one host.

``snakemake --cores N --resources gpu=K`` lets at most K training jobs run at
once, but tells none of them which device to use: without more, every job
would train on the first GPU. So each training job takes a *device slot*: an
exclusive lock on one file per device, in a folder that all jobs of the host
share; the job trains on the device of the slot it holds. The operating
system releases the lock when the process ends, however it ends (an error, a
kill), so a slot is never left taken by a job that is gone.

No slot is taken when a scheduler has already chosen the device: SLURM, for
a job that asked for a GPU, sets ``CUDA_VISIBLE_DEVICES`` to the devices it
granted, and the job uses those as they are. Nor when the job will not use a
GPU: ``compute.device`` is ``cpu`` or names one device (``cuda:1``), the
model is PCA or LSA (fitted on the CPU), or the host has no GPU.

Two environment variables:

- ``AELAB_DEVICE_SLOTS_DIR``: the folder of lock files. The default is in the
  system's temporary folder, which is per host, as devices are.
- ``AELAB_FAKE_DEVICE_COUNT``: take slots as if the host had this many GPUs,
  while computing on the CPU; for tests of the slots on a host with no GPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from aelab.errors import AelabError

log = logging.getLogger(__name__)

SLOTS_DIR_ENV = "AELAB_DEVICE_SLOTS_DIR"
FAKE_COUNT_ENV = "AELAB_FAKE_DEVICE_COUNT"

# Models fitted on the CPU whatever compute.device says: PCA and LSA
# (scikit-learn); they never need a GPU or a slot.
CPU_KINDS = ("pca", "lsa")

# How often a job waiting for a free slot looks again, and tells it waits.
POLL_SECONDS = 0.5
REPORT_EVERY_SECONDS = 60.0


def uses_gpu(device_setting: str, model_kind: str) -> bool:
    """Whether a training job with this ``compute.device`` and model kind may
    use a GPU (the workflow then gives its rule the resource gpu=1)."""
    return device_setting not in ("cpu", "mps") and model_kind not in CPU_KINDS


def wants_slot(device_setting: str, model_kind: str) -> bool:
    """Whether such a job may use a GPU that it must choose itself."""
    return device_setting in ("auto", "cuda") and uses_gpu(device_setting, model_kind)


def device_count() -> int:
    """The number of GPUs to share out: ``AELAB_FAKE_DEVICE_COUNT`` if set,
    else the number that torch sees."""
    import torch  # here, so that the Snakefile can import this module quickly

    fake = os.environ.get(FAKE_COUNT_ENV)
    if fake is None:
        return torch.cuda.device_count()
    try:
        count = int(fake)
    except ValueError:
        count = -1
    if count < 0:
        raise AelabError(
            f"environment variable {FAKE_COUNT_ENV}={fake!r} is not a count of "
            "devices: set it to a whole number >= 0, or unset it to use the "
            "GPUs that PyTorch sees."
        )
    return count


def slots_dir() -> Path:
    """The folder of the per-device lock files (``AELAB_DEVICE_SLOTS_DIR``)."""
    default = Path(tempfile.gettempdir()) / f"aelab-device-slots-{os.getuid()}"
    return Path(os.environ.get(SLOTS_DIR_ENV) or default)


def log_scheduler() -> None:
    """Log the SLURM job this process runs in, if any."""
    job = os.environ.get("SLURM_JOB_ID")
    if job:
        log.info("running in SLURM job %s on host %s", job, socket.gethostname())


@contextlib.contextmanager
def device_slot(device_setting: str, model_kind: str) -> Iterator[int | None]:
    """Hold a device slot for the duration of the ``with`` block.

    Yields the index of the device taken (and made torch's current CUDA
    device when there is a real one), or None when no slot is needed. Waits
    while every slot is held by other jobs.
    """
    if not wants_slot(device_setting, model_kind):
        yield None
        return
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        log.info(
            "CUDA_VISIBLE_DEVICES=%s was set by the scheduler (or by hand): "
            "using those devices, taking no device slot",
            visible,
        )
        yield None
        return
    count = device_count()
    if count == 0:
        yield None
        return

    folder = slots_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AelabError(
            f"{folder}: cannot create the folder of device slots ({err.strerror}); "
            f"set {SLOTS_DIR_ENV} to a writable folder on this host."
        ) from None
    index, handle = _take_slot(folder, count)
    try:
        log.info("took device slot %d of %d (%s)", index, count, handle.name)
        import torch

        if torch.cuda.is_available() and index < torch.cuda.device_count():
            torch.cuda.set_device(index)
        yield index
    finally:
        # Said before the lock goes, so that in the logs of the jobs that
        # share a slot, one job's release never comes after the next one's take.
        log.info("releasing device slot %d", index)
        handle.close()  # closing the file drops the lock


def _take_slot(folder: Path, count: int):
    """Lock the first free slot file; wait while all ``count`` are held."""
    waited_since = time.monotonic()
    reported = None
    while True:
        for index in range(count):
            handle = open(folder / f"device-{index}.lock", "a+")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            # Who holds it, for a person looking at the folder.
            handle.truncate(0)
            handle.write(f"{socket.gethostname()} pid {os.getpid()}\n")
            handle.flush()
            return index, handle
        now = time.monotonic()
        if reported is None or now - reported >= REPORT_EVERY_SECONDS:
            log.info(
                "all %d device slots in %s are held by other jobs; waiting "
                "(%.0f s so far)",
                count,
                folder,
                now - waited_since,
            )
            reported = now
        time.sleep(POLL_SECONDS)
