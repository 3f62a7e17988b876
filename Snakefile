# aelab: the Snakemake front end. Each rule runs one `aelab` subcommand; all
# logic lives in the package under src/. Run `snakemake --cores N`.

from aelab.config import load_params
from snakemake.utils import min_version

min_version("9.0")


# Every step reads params.yaml itself; here it is read the same way (validated
# against workflow/schemas/params.schema.yaml, defaults filled in) only to lay
# out the sweep. Values passed with --config would not reach the steps.
if config:
    raise ValueError(
        "aelab reads its parameters from params.yaml only; edit that file "
        "instead of passing --config or --configfile to snakemake."
    )
config.update(load_params("params.yaml"))

MODELS = config["sweep"]["models"]
LATENT_SIZES = config["sweep"]["latent_sizes"]
MNIST_FILES = [entry["name"] for entry in config["data"]["mnist"]["files"].values()]


wildcard_constraints:
    model="[a-z][a-z0-9_]*",
    latent="[0-9]+",


include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/figures.smk"


rule all:
    default_target: True
    input:
        "results/mnist/metrics.csv",
        "results/mnist/metrics.json",
        "results/mnist/figures/reconstructions.png",
        "results/mnist/figures/error_vs_code_size.png",
        "results/mnist/figures/codes_2d.png",
