"""Device slots: one GPU per training job when several run at once on one host.

The host has no GPU; AELAB_FAKE_DEVICE_COUNT makes the jobs share out that
many pretend devices (they compute on the CPU), which is all the slots need.
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import sys
import time
from datetime import datetime

import pytest
import torch
import yaml

from aelab.data import curves
from aelab.data.prepared import write_prepared
from aelab.errors import AelabError
from aelab.training import devices
from conftest import tiny_params, venv_env


@pytest.fixture
def fake_devices(tmp_path, monkeypatch):
    """Two pretend devices, their lock files in ``tmp_path/slots``."""
    monkeypatch.setenv(devices.FAKE_COUNT_ENV, "2")
    monkeypatch.setenv(devices.SLOTS_DIR_ENV, str(tmp_path / "slots"))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    return tmp_path / "slots"


@pytest.mark.parametrize(
    ("device", "kind", "gpu", "slot"),
    [
        ("auto", "autoencoder", True, True),
        ("cuda", "logistic_pca", True, True),
        ("cuda:1", "autoencoder", True, False),  # the user chose the device
        ("auto", "pca", False, False),  # PCA is fitted on the CPU
        ("auto", "lsa", False, False),  # so is LSA
        ("cpu", "autoencoder", False, False),
        ("mps", "autoencoder", False, False),
    ],
)
def test_which_jobs_use_a_gpu_and_which_take_a_slot(device, kind, gpu, slot):
    assert devices.uses_gpu(device, kind) is gpu
    assert devices.wants_slot(device, kind) is slot


def test_jobs_at_once_take_distinct_slots_and_a_third_waits(fake_devices):
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(devices.device_slot("auto", "autoencoder"))
        second = stack.enter_context(devices.device_slot("auto", "autoencoder"))
        assert (first, second) == (0, 1)
        assert sorted(p.name for p in fake_devices.iterdir()) == [
            "device-0.lock",
            "device-1.lock",
        ]
    # Both released: the next job gets the first device again.
    with devices.device_slot("auto", "autoencoder") as again:
        assert again == 0


def test_no_slot_when_the_scheduler_chose_the_device(fake_devices, monkeypatch, caplog):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with caplog.at_level(logging.INFO), devices.device_slot("auto", "deep") as slot:
        assert slot is None
    assert "CUDA_VISIBLE_DEVICES=3 was set by the scheduler" in caplog.text
    assert not fake_devices.exists()


def test_no_slot_without_a_gpu_or_for_a_cpu_job(fake_devices, monkeypatch):
    with devices.device_slot("cpu", "autoencoder") as slot:
        assert slot is None
    with devices.device_slot("auto", "pca") as slot:
        assert slot is None
    monkeypatch.setenv(devices.FAKE_COUNT_ENV, "0")
    with devices.device_slot("auto", "autoencoder") as slot:
        assert slot is None
    assert not fake_devices.exists()


def test_a_slot_is_released_when_the_job_fails(fake_devices):
    with (
        pytest.raises(RuntimeError, match="diverged"),
        devices.device_slot("auto", "autoencoder"),
    ):
        raise RuntimeError("diverged")
    with devices.device_slot("auto", "autoencoder") as slot:
        assert slot == 0


@pytest.mark.parametrize("value", ["two", "-1", "1.5"])
def test_a_bad_fake_device_count_is_refused(fake_devices, monkeypatch, value):
    monkeypatch.setenv(devices.FAKE_COUNT_ENV, value)
    with pytest.raises(AelabError) as err:
        devices.device_count()
    assert str(err.value) == (
        f"environment variable AELAB_FAKE_DEVICE_COUNT={value!r} is not a count "
        "of devices: set it to a whole number >= 0, or unset it to use the GPUs "
        "that PyTorch sees."
    )


def test_without_the_fake_count_torch_decides(monkeypatch):
    monkeypatch.delenv(devices.FAKE_COUNT_ENV, raising=False)
    assert devices.device_count() == torch.cuda.device_count()


# Three `aelab train` processes started at once, two pretend devices.

STAMP = r"^(\S+ \S+) INFO aelab\.training\.devices: "
TOOK = re.compile(STAMP + r"took device slot (\d) of 2", re.MULTILINE)
RELEASED = re.compile(STAMP + r"releasing device slot (\d)", re.MULTILINE)
WAITING = "held by other jobs; waiting"


def _when(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f")


def _wait_for(condition, what: str, procs, seconds: float = 180.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        failed = [p for p in procs if p.poll() not in (None, 0)]
        if failed:
            raise AssertionError(f"a training job failed while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds:.0f} s")
        time.sleep(0.2)


def test_training_jobs_started_at_once_never_share_a_slot(
    fake_devices, tmp_path, mnist_mirror
):
    # Prepared curves, and a model that trains for a few seconds.
    data = tmp_path / "data"
    write_prepared(data, curves.make_splits(200, 50, seed=0))
    params = tiny_params(mnist_mirror[1])
    params["compute"].update(device="auto", threads=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    env = venv_env() | {
        devices.FAKE_COUNT_ENV: "2",
        devices.SLOTS_DIR_ENV: str(fake_devices),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.pop("CUDA_VISIBLE_DEVICES", None)
    logs = [tmp_path / f"job-{i}.log" for i in range(3)]

    # The test holds both slots until all three jobs wait, so that the jobs
    # then compete for them at the same moment.
    with contextlib.ExitStack() as held:
        for _ in range(2):
            held.enter_context(devices.device_slot("auto", "autoencoder"))
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "aelab", "train", "--params", "params.yaml"]
                + ["--dataset", "curves", "--model", "deep", "--latent", "2"]
                + ["--train", str(data / "train.npz"), "--test"]
                + [str(data / "test.npz"), "--out", f"job-{i}.pt", "--log", str(log)],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i, log in enumerate(logs)
        ]
        _wait_for(
            lambda: all(log.exists() and WAITING in log.read_text() for log in logs),
            "three waiting jobs",
            procs,
        )
    for proc in procs:
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr[-3000:]

    held_slots = []  # (slot, taken, released) per job
    for log in logs:
        text = log.read_text()
        [(taken, slot)] = TOOK.findall(text)
        [(released, slot_again)] = RELEASED.findall(text)
        assert slot == slot_again
        assert "device cpu, 1 CPU threads" in text
        held_slots.append((int(slot), _when(taken), _when(released)))
    assert {slot for slot, _, _ in held_slots} == {0, 1}

    # No two jobs hold one slot at overlapping times; jobs whose times
    # overlap (the first two to start, at least) hold distinct slots.
    overlapping = 0
    for i, (slot_a, start_a, end_a) in enumerate(held_slots):
        for slot_b, start_b, end_b in held_slots[i + 1 :]:
            overlap = start_a < end_b and start_b < end_a
            if slot_a == slot_b:
                assert not overlap, held_slots
            overlapping += overlap
    assert overlapping >= 1, held_slots
    for i in range(3):
        record = torch.load(tmp_path / f"job-{i}.pt", weights_only=True)["record"]
        assert record["device"] == "cpu"
