rule model_train:
    input:
        train="data/{dataset}/prepared/train.npz",
        test="data/{dataset}/prepared/test.npz",
    output:
        model="results/{dataset}/models/{model}/latent-{latent}.pt",
        curves=directory("results/{dataset}/training/{model}/latent-{latent}"),
    log:
        "logs/{dataset}/train/{model}/latent-{latent}.log",
    benchmark:
        "logs/benchmarks/{dataset}/train/{model}/latent-{latent}.tsv"
    threads: config["compute"]["threads"]
    resources:
        # One GPU per job that may use one: `--resources gpu=K` runs at most
        # K at once (each takes its own device), and on SLURM each asks for one.
        gpu=lambda wildcards: gpus_per_job(wildcards.model),
    params:
        params_file=PARAMS,
        settings=lambda wildcards: config["models"][wildcards.model],
        compute=config["compute"],
        monitor_every=config["evaluate"]["monitor_every"],
    shell:
        "aelab train --params {params.params_file} --dataset {wildcards.dataset} "
        "--model {wildcards.model} --latent {wildcards.latent} --threads {threads} "
        "--train {input.train} --test {input.test} --out {output.model} "
        "--curves-dir {output.curves} --log {log}"
