rule model_evaluate:
    input:
        model="results/{dataset}/models/{model}/latent-{latent}.pt",
        train="data/{dataset}/prepared/train.npz",
        test="data/{dataset}/prepared/test.npz",
    output:
        metrics=report(
            "results/{dataset}/metrics/{model}/latent-{latent}.json",
            caption="../report/model_metrics.rst",
            category="{dataset}",
            subcategory="{model}",
            labels={"what": "squared error (JSON)", "code size": "{latent}"},
        ),
        codes="results/{dataset}/codes/{model}/latent-{latent}.npz",
    log:
        "logs/{dataset}/evaluate/{model}/latent-{latent}.log",
    benchmark:
        "logs/benchmarks/{dataset}/evaluate/{model}/latent-{latent}.tsv"
    threads: config["compute"]["threads"]
    params:
        params_file=PARAMS,
        n_reconstructions=config["evaluate"]["n_reconstructions"],
    shell:
        "aelab evaluate --params {params.params_file} --threads {threads} "
        "--model-file {input.model} "
        "--train {input.train} --test {input.test} --metrics {output.metrics} "
        "--codes {output.codes} --log {log}"


rule metrics_collect:
    input:
        lambda wildcards: swept(
            "results/{dataset}/metrics/{model}/latent-{latent}.json",
            wildcards.dataset,
        ),
    output:
        table=report(
            "results/{dataset}/metrics.csv",
            caption="../report/metrics_table.rst",
            category="{dataset}",
            subcategory="all models",
            labels={"what": "metrics table"},
        ),
        summary="results/{dataset}/metrics.json",
    log:
        "logs/{dataset}/collect.log",
    benchmark:
        "logs/benchmarks/{dataset}/collect.tsv"
    params:
        params_file=PARAMS,
        sweep=lambda wildcards: SWEEP[wildcards.dataset],
    shell:
        "aelab collect --params {params.params_file} --dataset {wildcards.dataset} "
        "--metrics-dir results/{wildcards.dataset}/metrics "
        "--table {output.table} --summary {output.summary} --log {log}"


rule summary_write:
    input:
        tables=expand("results/{dataset}/metrics.csv", dataset=DATASETS),
        recorded="workflow/recorded/runs.csv",
    output:
        markdown="results/summary.md",
        table=report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="summary",
            labels={"what": "the paper beside ours"},
        ),
    log:
        "logs/summary.log",
    benchmark:
        "logs/benchmarks/summary.tsv"
    params:
        params_file=PARAMS,
        summary=config["summary"],
    shell:
        "aelab summary --params {params.params_file} --tables {input.tables} "
        "--recorded {input.recorded} --out results/summary --log {log}"
