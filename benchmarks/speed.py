"""How fast aelab trains, against the usual way, on this machine.

Run from the project root, after the default main job (or at least after
MNIST has been prepared):

    python benchmarks/speed.py

In one run on one machine it measures

1. the machine's float32 matrix-multiply rate, the ceiling for everything else;
2. the deep autoencoder's training throughput (784-1000-500-250-30, mirrored
   decoder) with aelab's loop and the usual way (TensorDataset, DataLoader
   with shuffling, PyTorch's default Adam, a .item() per batch), at batch
   100 and 1000;
3. CD-1 pretraining throughput of the first RBM (784-1000) the same two ways;
4. time to quality: seconds of training until the 30-D test squared error
   first drops below 13.87 (PCA's) and below 5, for the usual way (random
   weights, squared-error loss, batch 100, Adam 1e-3) and for aelab's
   deep_pretrained model as params.yaml configures it (RBM pretraining
   counted in);
5. the wall time and peak memory of each step of the last main job, read
   from Snakemake's benchmark files under logs/benchmarks/.

It writes benchmarks/results/speed.md and speed.csv, and main_job.csv.
Evaluating the test error is not counted in any training time.
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from aelab.data.prepared import load_prepared
from aelab.models import rbm
from aelab.models.autoencoder import Autoencoder
from aelab.training import loop, reference

log = logging.getLogger("benchmark")

DEEP = [784, 1000, 500, 250, 30]
PCA_30 = 13.87  # the paper's 30-D PCA test squared error
TARGETS = (PCA_30, 5.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/mnist/prepared", type=Path)
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--out", default="benchmarks/results", type=Path)
    parser.add_argument("--main-job", default="logs/benchmarks", type=Path)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count(),
        help="CPU threads for PyTorch (default: every core of this machine, "
        "not compute.threads, which is per job of a parallel workflow)",
    )
    parser.add_argument(
        "--usual-budget",
        type=float,
        default=400.0,
        help="seconds of training after which the usual way stops trying to "
        "reach the targets (default 400)",
    )
    parser.add_argument(
        "--images",
        type=int,
        default=None,
        help="images per throughput measurement (default 20000 on a CPU, "
        "60000 on a GPU)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    for name in ("train.npz", "test.npz"):
        if not (args.data / name).exists():
            sys.exit(
                f"error: {args.data / name} not found. Prepare MNIST first: "
                "snakemake --cores 2 data/mnist/prepared/train.npz "
                "data/mnist/prepared/test.npz"
            )
    params = yaml.safe_load(args.params.read_text())
    device = loop.pick_device(args.device)
    torch.set_num_threads(args.threads)
    train_images = torch.from_numpy(load_prepared(args.data / "train.npz")[0])
    test_images = torch.from_numpy(load_prepared(args.data / "test.npz")[0])
    n_images = args.images or (60000 if device.type == "cuda" else 20000)

    started = time.perf_counter()
    machine = describe_machine(device)
    log.info("machine: %s", machine)
    ceiling = matmul_rate(device)
    log.info("float32 matrix multiply: %.0f GFLOP/s", ceiling)

    rows = []
    for batch_size in (100, 1000):
        rows += autoencoder_throughput(
            train_images[:n_images], batch_size, device, ceiling
        )
    rows += rbm_throughput(train_images[:n_images], device, ceiling)
    quality = time_to_quality(
        train_images, test_images, params, device, args.usual_budget
    )
    steps = main_job_steps(args.main_job)
    total = time.perf_counter() - started

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / "speed.csv", rows + quality)
    write_csv(args.out / "main_job.csv", steps)
    report = markdown(machine, ceiling, rows, quality, steps, total, argv)
    (args.out / "speed.md").write_text(report)
    print(report)
    return 0


# --- the machine --------------------------------------------------------------


def describe_machine(device: torch.device) -> str:
    cuda = device.type == "cuda"
    name = torch.cuda.get_device_name(device) if cuda else cpu_name()
    return (
        f"{name}; {os.cpu_count()} CPU cores, torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads; device {device}"
    )


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_rate(device: torch.device, repeats: int = 5) -> float:
    """Best-of float32 GFLOP/s of square matrix products on ``device``."""
    n = 8192 if device.type == "cuda" else 2048
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    a @ b
    sync(device)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        sync(device)
        rates.append(2 * n**3 * 5 / (time.perf_counter() - start) / 1e9)
    return max(rates)


# --- throughput -----------------------------------------------------------------


def deep_autoencoder(device: torch.device, seed: int = 0) -> Autoencoder:
    torch.manual_seed(seed)
    return Autoencoder(784, DEEP[1:-1], DEEP[-1]).to(device)


def flops_per_image() -> float:
    """Forward and backward multiply-adds of the deep autoencoder, counted as
    2 flops each: 2 (forward) + 4 (backward) per weight, encoder and decoder."""
    weights = sum(a * b for a, b in zip(DEEP[:-1], DEEP[1:], strict=False))
    return 6.0 * 2 * weights


def autoencoder_throughput(
    images: torch.Tensor, batch_size: int, device: torch.device, ceiling: float
) -> list[dict[str, Any]]:
    """Images per second of one epoch over ``images``, each way, after a warm-up."""
    settings = {
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "batch_size": batch_size,
        "epochs": 1,
        "loss": "cross_entropy",
    }
    resident = images.to(device)
    warm = batch_size * 5

    model = deep_autoencoder(device)
    loop.train(model, resident[:warm], settings, seed=0)
    sync(device)
    start = time.perf_counter()
    loop.train(model, resident, settings, seed=1)
    sync(device)
    ours = len(images) / (time.perf_counter() - start)

    model = deep_autoencoder(device)
    optimizer = reference.adam(model, settings)
    reference.train_epoch(
        model,
        reference.loader(images[:warm], batch_size, 0),
        optimizer,
        "cross_entropy",
        device,
    )
    sync(device)
    batches = reference.loader(images, batch_size, 1)
    start = time.perf_counter()
    reference.train_epoch(model, batches, optimizer, "cross_entropy", device)
    sync(device)
    usual = len(images) / (time.perf_counter() - start)

    what = f"deep autoencoder training, batch {batch_size}"
    return throughput_rows(what, ours, usual, flops_per_image(), ceiling)


def rbm_throughput(
    images: torch.Tensor, device: torch.device, ceiling: float
) -> list[dict[str, Any]]:
    """CD-1 cases per second of the 784-1000 RBM at batch 100, each way."""
    settings = {
        "epochs": 1,
        "batch_size": 100,
        "init_std": 0.1,
        "weight_cost": 0.0002,
        "initial_momentum": 0.5,
        "final_momentum": 0.9,
        "momentum_switch_epoch": 5,
    }
    resident = images.to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    rbm.train_rbm(resident[:500], 1000, "binary", settings, 0.1, generator)
    sync(device)
    start = time.perf_counter()
    rbm.train_rbm(resident, 1000, "binary", settings, 0.1, generator)
    sync(device)
    ours = len(images) / (time.perf_counter() - start)

    machine = rbm.RBM.initial(784, 1000, "binary", 0.1, generator, device)
    trainer = rbm.RBMTrainer(learning_rate=0.1)
    reference.rbm_epoch(
        machine, reference.loader(images[:500], 100, 0), trainer, 1, generator, device
    )
    sync(device)
    batches = reference.loader(images, 100, 1)
    start = time.perf_counter()
    reference.rbm_epoch(machine, batches, trainer, 1, generator, device)
    sync(device)
    usual = len(images) / (time.perf_counter() - start)

    # Up, down, up again, and the two outer products: 5 products of v x h.
    flops = 5 * 2.0 * 784 * 1000
    return throughput_rows(
        "RBM pretraining (CD-1, 784-1000), batch 100", ours, usual, flops, ceiling
    )


def throughput_rows(
    what: str, ours: float, usual: float, flops: float, ceiling: float
) -> list[dict[str, Any]]:
    rows = []
    for way, rate in (("aelab", ours), ("usual way", usual)):
        gflops = rate * flops / 1e9
        rows.append(
            {
                "measurement": what,
                "way": way,
                "images_per_second": round(rate),
                "gflop_per_second": round(gflops, 1),
                "fraction_of_matmul_rate": round(gflops / ceiling, 3),
                "aelab_over_usual": round(ours / usual, 2),
            }
        )
        log.info("%s, %s: %.0f images/s, %.1f GFLOP/s", what, way, rate, gflops)
    return rows


# --- time to quality ----------------------------------------------------------


def time_to_quality(
    train_images: torch.Tensor,
    test_images: torch.Tensor,
    params: dict[str, Any],
    device: torch.device,
    budget: float,
) -> list[dict[str, Any]]:
    """Training seconds until the 30-D test error first drops below each target."""
    train_resident = train_images.to(device)
    test_resident = test_images.to(device)

    def test_error(model: Autoencoder) -> float:
        model.eval()
        return loop.squared_error(model, test_resident)

    # The usual way: random weights, squared error, DataLoader at batch 100.
    usual_settings = {"learning_rate": 1e-3, "batch_size": 100, "loss": "squared_error"}
    model = deep_autoencoder(device, seed=params["compute"]["seed"])
    elapsed, usual_curve = 0.0, []
    epochs = reference.epochs(
        model, train_images, usual_settings, params["compute"]["seed"], device
    )
    for epoch in range(1, 10_000):
        start = time.perf_counter()
        next(epochs)
        sync(device)
        elapsed += time.perf_counter() - start
        usual_curve.append((epoch, elapsed, test_error(model)))
        log.info(
            "usual way: epoch %d  %.0f s  test squared error %.2f", *usual_curve[-1]
        )
        if usual_curve[-1][2] < min(TARGETS) or elapsed > budget:
            break

    # aelab's deep_pretrained model, as params.yaml configures it.
    settings = params["models"]["deep_pretrained"]
    seed = params["compute"]["seed"]
    torch.manual_seed(seed)
    model = Autoencoder(
        784,
        settings["hidden_sizes"],
        30,
        settings["hidden_activation"],
        settings["code_activation"],
        settings["output_activation"],
    ).to(device)
    start = time.perf_counter()
    stack, _ = rbm.pretrain_stack(
        train_resident,
        [784, *settings["hidden_sizes"], 30],
        settings["pretraining"],
        "linear",
        seed,
    )
    rbm.unroll(stack, model)
    sync(device)
    pretraining = time.perf_counter() - start
    ours_curve = [(0, pretraining, test_error(model))]
    log.info("aelab: pretrained in %.0f s, test squared error %.2f", *ours_curve[0][1:])

    def monitor(model: Autoencoder, epoch: int) -> dict[str, float]:
        return {"test_squared_error": test_error(model)}

    history = loop.train(model, train_resident, settings, seed, monitor=monitor)
    elapsed = pretraining
    for record in history:
        elapsed += record["seconds"]
        ours_curve.append((record["epoch"], elapsed, record["test_squared_error"]))

    rows = []
    for target in TARGETS:
        usual_time = first_below(usual_curve, target)
        ours_time = first_below(ours_curve, target)
        ratio = None
        if usual_time is not None and ours_time is not None:
            ratio = round(usual_time[1] / ours_time[1], 1)
        rows.append(
            {
                "measurement": f"time to 30-D test squared error < {target}",
                "usual_seconds": fmt_time(usual_time, usual_curve),
                "aelab_seconds": fmt_time(ours_time, ours_curve),
                "usual_over_aelab": ratio
                if ratio is not None
                else lower_bound(usual_time, ours_time, usual_curve, ours_curve),
            }
        )
    rows.append(
        {
            "measurement": "final 30-D test squared error",
            "usual_seconds": f"{usual_curve[-1][2]:.2f} after {usual_curve[-1][0]} "
            f"epochs ({usual_curve[-1][1]:.0f} s)",
            "aelab_seconds": f"{ours_curve[-1][2]:.2f} after "
            f"{ours_curve[-1][0]} epochs ({ours_curve[-1][1]:.0f} s, "
            f"{pretraining:.0f} s of it pretraining)",
            "usual_over_aelab": "",
        }
    )
    return rows


def first_below(curve, target):
    for epoch, seconds, error in curve:
        if error < target:
            return epoch, seconds
    return None


def fmt_time(hit, curve) -> str:
    if hit is None:
        return f"not reached in {curve[-1][1]:.0f} s ({curve[-1][0]} epochs)"
    return f"{hit[1]:.0f} (epoch {hit[0]})"


def lower_bound(usual_time, ours_time, usual_curve, ours_curve) -> str:
    if usual_time is None and ours_time is not None:
        return f"> {usual_curve[-1][1] / ours_time[1]:.1f}"
    return "n/a"


# --- the main job's steps -----------------------------------------------------------


def main_job_steps(folder: Path) -> list[dict[str, Any]]:
    """One row per Snakemake benchmark file: the job, its seconds and peak memory."""
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        with path.open() as handle:
            record = next(csv.DictReader(handle, delimiter="\t"), None)
        if record is None:
            continue
        rows.append(
            {
                "job": str(path.relative_to(folder).with_suffix("")),
                "seconds": round(float(record["s"]), 1),
                "peak_rss_mb": round(float(record["max_rss"]), 0)
                if record.get("max_rss", "NA") != "NA"
                else None,
            }
        )
    return rows


def step_totals(
    steps: list[dict[str, Any]],
) -> list[tuple[str, int, float, float, Any]]:
    """Jobs grouped by data set and step: count, total and longest seconds, peak MB."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in steps:
        parts = row["job"].split("/")
        key = "/".join(parts[:2]) if len(parts) > 1 else parts[0]
        groups.setdefault(key, []).append(row)
    out = []
    for key, rows in sorted(groups.items()):
        memory = [r["peak_rss_mb"] for r in rows if r["peak_rss_mb"] is not None]
        out.append(
            (
                key,
                len(rows),
                sum(r["seconds"] for r in rows),
                max(r["seconds"] for r in rows),
                max(memory) if memory else None,
            )
        )
    return out


# --- output -------------------------------------------------------------------


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def markdown(machine, ceiling, rows, quality, steps, total, argv) -> str:
    command = " ".join(["python benchmarks/speed.py", *(argv or sys.argv[1:])])
    lines = [
        "# aelab speed benchmark",
        "",
        f"Machine: {machine}. Measured {time.strftime('%Y-%m-%d')} by "
        f"`{command.strip()}` in {total:.0f} s.",
        "",
        f"Float32 matrix multiply (the ceiling): **{ceiling:.0f} GFLOP/s**.",
        "",
        "## Training throughput",
        "",
        "| what | way | images/s | GFLOP/s | of matmul rate | aelab / usual |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['measurement']} | {r['way']} | {r['images_per_second']:,} | "
            f"{r['gflop_per_second']} | {r['fraction_of_matmul_rate']:.0%} | "
            f"{r['aelab_over_usual']} |"
        )
    lines += [
        "",
        "## Time to quality (MNIST, 30-D code, test set)",
        "",
        "The usual way: random weights, squared-error loss, DataLoader at batch "
        "100, Adam 1e-3. aelab: the deep_pretrained model of params.yaml, RBM "
        "pretraining counted in. Seconds of training; evaluation not counted.",
        "",
        "| measurement | usual way (s) | aelab (s) | usual / aelab |",
        "|---|---|---|---:|",
    ]
    for r in quality:
        lines.append(
            f"| {r['measurement']} | {r['usual_seconds']} | {r['aelab_seconds']} | "
            f"{r['usual_over_aelab']} |"
        )
    lines += ["", "## Steps of the last main job (Snakemake benchmark files)", ""]
    if steps:
        lines += [
            "| data set / step | jobs | total s | longest s | peak memory (MB) |",
            "|---|---:|---:|---:|---:|",
        ]
        for key, count, seconds, longest, memory in step_totals(steps):
            peak = f"{memory:,.0f}" if memory is not None else "n/a"
            lines.append(
                f"| {key} | {count} | {seconds:,.0f} | {longest:,.0f} | {peak} |"
            )
        lines.append(
            f"| all | {len(steps)} | {sum(s['seconds'] for s in steps):,.0f} | | |"
        )
        lines += ["", "Per job: main_job.csv beside this file."]
    else:
        lines.append(
            "No benchmark files found under logs/benchmarks: run the main job "
            "(`snakemake --cores 2`) first."
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
