# aelab: the Snakemake front end. Each rule runs one `aelab` subcommand; all
# logic lives in the package under src/. Run `snakemake --cores N`.

from aelab.config import load_params
from aelab.training.devices import uses_gpu
from snakemake.utils import min_version

min_version("9.0")


# Every step reads the parameter file itself; here it is read the same way
# (validated against workflow/schemas/params.schema.yaml, defaults filled in)
# only to lay out the sweep. The one value --config may carry is which file:
# `--config params=params-paper.yaml` runs the paper-scale profile. Other
# values passed with --config would not reach the steps, so they are refused.
PARAMS = config.pop("params", "params.yaml")
if config:
    raise ValueError(
        "aelab reads its parameters from params.yaml only; edit that file "
        "(or pass another with --config params=FILE) instead of passing "
        f"{', '.join(sorted(config))} with --config."
    )
config.update(load_params(PARAMS))

SWEEP = config["sweep"]
DATASETS = list(SWEEP)
MNIST_FILES = [entry["name"] for entry in config["data"]["mnist"]["files"].values()]


def swept(pattern, dataset):
    """``pattern`` expanded over one data set's models and code sizes."""
    return expand(
        pattern,
        dataset=dataset,
        model=SWEEP[dataset]["models"],
        latent=SWEEP[dataset]["latent_sizes"],
    )


def gpus_per_job(model):
    """The GPUs one training job of ``model`` asks for: 0 or 1."""
    kind = config["models"][model]["kind"]
    return int(uses_gpu(config["compute"]["device"], kind))


wildcard_constraints:
    dataset="|".join(DATASETS),
    model="[a-z][a-z0-9_]*",
    latent="[0-9]+",


# `snakemake --report report.html`: one page with every figure and table.
report: "workflow/report/workflow.rst"


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


if "reuters" in config:

    include: "workflow/rules/reuters.smk"


REUTERS_OUTPUTS = (
    [
        "results/reuters/metrics.json",
        "results/reuters/figures/codes_2d.png",
        "results/reuters/figures/retrieval.png",
    ]
    if "reuters" in config
    else []
)


# On a cluster, these run on the host that runs Snakemake, not as cluster
# jobs: the download needs the internet (which compute nodes often lack),
# and the others take a second each, less than a job's time in the queue.
localrules:
    mnist_fetch,
    metrics_collect,
    summary_write,
    figure_reconstructions,
    figure_error_vs_code_size,
    figure_codes_2d,
    figure_training_curves,
    figure_deep_vs_shallow,
    figure_denoising,
    figure_error_vs_code_size_control,


rule all:
    default_target: True
    input:
        "results/summary.md",
        "results/summary.csv",
        expand("results/{dataset}/metrics.json", dataset=DATASETS),
        expand(
            "results/{dataset}/figures/{figure}.png",
            dataset=DATASETS,
            figure=["reconstructions", "error_vs_code_size", "training_curves"],
        ),
        "results/mnist/figures/codes_2d.png",
        REUTERS_OUTPUTS,
        "results/mnist/figures/deep_vs_shallow.png",
        "results/mnist/figures/denoising.png",
        "results/mnist/figures/error_vs_code_size_control.png",
