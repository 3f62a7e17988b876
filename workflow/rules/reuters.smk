# The document branch: Reuters-21578 stories, LSA and the autoencoder,
# measured by retrieval. Included by the Snakefile when params.yaml has a
# 'reuters' section.
REUTERS = config["reuters"]
REUTERS_FILE = config["data"]["reuters"]["file"]["name"]


# On a cluster these run where Snakemake runs (see the Snakefile).
localrules:
    reuters_fetch,
    reuters_collect,
    reuters_figure_codes_2d,
    reuters_figure_retrieval,


rule reuters_fetch:
    output:
        f"data/reuters/raw/{REUTERS_FILE}",
    log:
        "logs/reuters/fetch.log",
    benchmark:
        "logs/benchmarks/reuters/fetch.tsv"
    params:
        params_file=PARAMS,
        settings=config["data"]["reuters"]["file"],
    shell:
        "aelab fetch-reuters --params {params.params_file} --out data/reuters/raw "
        "--log {log}"


rule reuters_parse:
    input:
        rules.reuters_fetch.output,
    output:
        stories="data/reuters/parsed/stories.jsonl",
        counts="data/reuters/parsed/counts.json",
    log:
        "logs/reuters/parse.log",
    benchmark:
        "logs/benchmarks/reuters/parse.tsv"
    params:
        params_file=PARAMS,
    shell:
        "aelab parse-reuters --params {params.params_file} --raw {input} "
        "--out {output.stories} --counts {output.counts} --log {log}"


rule reuters_prepare:
    input:
        rules.reuters_parse.output.stories,
    output:
        train="data/reuters/prepared/train.npz",
        test="data/reuters/prepared/test.npz",
        summary="data/reuters/prepared/summary.json",
    log:
        "logs/reuters/prepare.log",
    benchmark:
        "logs/benchmarks/reuters/prepare.tsv"
    params:
        params_file=PARAMS,
        vocabulary_size=config["data"]["reuters"]["vocabulary_size"],
        n_topics=config["data"]["reuters"]["n_topics"],
        expected=config["data"]["reuters"]["expected_split_sizes"],
    shell:
        "aelab prepare-reuters --params {params.params_file} --parsed {input} "
        "--out data/reuters/prepared --log {log}"


rule reuters_train:
    input:
        train="data/reuters/prepared/train.npz",
    output:
        "results/reuters/models/{model}/latent-{latent}.pt",
    log:
        "logs/reuters/train/{model}/latent-{latent}.log",
    benchmark:
        "logs/benchmarks/reuters/train/{model}/latent-{latent}.tsv"
    threads: config["compute"]["threads"]
    resources:
        gpu=lambda wildcards: gpus_per_job(wildcards.model),
    params:
        params_file=PARAMS,
        settings=lambda wildcards: config["models"][wildcards.model],
        compute=config["compute"],
    shell:
        "aelab train --params {params.params_file} --dataset reuters "
        "--model {wildcards.model} --latent {wildcards.latent} --threads {threads} "
        "--train {input.train} --out {output} --log {log}"


rule reuters_evaluate:
    input:
        model="results/reuters/models/{model}/latent-{latent}.pt",
        test="data/reuters/prepared/test.npz",
    output:
        metrics="results/reuters/metrics/{model}/latent-{latent}.json",
        codes="results/reuters/codes/{model}/latent-{latent}.npz",
    log:
        "logs/reuters/evaluate/{model}/latent-{latent}.log",
    benchmark:
        "logs/benchmarks/reuters/evaluate/{model}/latent-{latent}.tsv"
    threads: config["compute"]["threads"]
    params:
        params_file=PARAMS,
        retrieved=REUTERS["retrieved"],
    shell:
        "aelab evaluate-retrieval --params {params.params_file} "
        "--model-file {input.model} --test {input.test} "
        "--metrics {output.metrics} --codes {output.codes} --log {log}"


rule reuters_collect:
    input:
        [
            f"results/reuters/metrics/{run['model']}/latent-{run['latent_size']}.json"
            for run in REUTERS["runs"]
        ],
    output:
        table=report(
            "results/reuters/retrieval.csv",
            caption="../report/retrieval_table.rst",
            category="reuters",
            subcategory="all models",
            labels={"what": "retrieval table"},
        ),
        summary="results/reuters/metrics.json",
    log:
        "logs/reuters/collect.log",
    benchmark:
        "logs/benchmarks/reuters/collect.tsv"
    params:
        params_file=PARAMS,
        runs=REUTERS["runs"],
    shell:
        "aelab collect-retrieval --params {params.params_file} "
        "--metrics-dir results/reuters/metrics --table {output.table} "
        "--summary {output.summary} --log {log}"


rule reuters_figure_codes_2d:
    input:
        [
            f"results/reuters/codes/{row['model']}/latent-2.npz"
            for row in REUTERS["figures"]["codes_2d"]
        ],
    output:
        report(
            "results/reuters/figures/codes_2d.png",
            caption="../report/reuters_codes_2d.rst",
            category="reuters",
            subcategory="all models",
            labels={"what": "2-D codes"},
        ),
    log:
        "logs/reuters/figures/codes_2d.log",
    benchmark:
        "logs/benchmarks/reuters/figures/codes_2d.tsv"
    params:
        params_file=PARAMS,
        rows=REUTERS["figures"]["codes_2d"],
    shell:
        "aelab plot codes-2d --params {params.params_file} --dataset reuters "
        "--codes-dir results/reuters/codes --out {output} --log {log}"


rule reuters_figure_retrieval:
    input:
        "results/reuters/retrieval.csv",
    output:
        report(
            "results/reuters/figures/retrieval.png",
            caption="../report/retrieval.rst",
            category="reuters",
            subcategory="all models",
            labels={"what": "retrieval"},
        ),
    log:
        "logs/reuters/figures/retrieval.log",
    benchmark:
        "logs/benchmarks/reuters/figures/retrieval.tsv"
    params:
        params_file=PARAMS,
        rows=REUTERS["figures"]["retrieval"],
    shell:
        "aelab plot retrieval --params {params.params_file} --dataset reuters "
        "--table {input} --out {output} --log {log}"
