rule model_evaluate:
    input:
        model="results/mnist/models/{model}/latent-{latent}.pt",
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    output:
        metrics="results/mnist/metrics/{model}/latent-{latent}.json",
        codes="results/mnist/codes/{model}/latent-{latent}.npz",
    log:
        "logs/mnist/evaluate/{model}/latent-{latent}.log",
    threads: config["compute"]["threads"]
    params:
        n_reconstructions=config["evaluate"]["n_reconstructions"],
    shell:
        "aelab evaluate --params params.yaml --model-file {input.model} "
        "--train {input.train} --test {input.test} --metrics {output.metrics} "
        "--codes {output.codes} --log {log}"


rule metrics_collect:
    input:
        expand(
            "results/mnist/metrics/{model}/latent-{latent}.json",
            model=MODELS,
            latent=LATENT_SIZES,
        ),
    output:
        table="results/mnist/metrics.csv",
        summary="results/mnist/metrics.json",
    log:
        "logs/mnist/collect.log",
    params:
        sweep=config["sweep"],
    shell:
        "aelab collect --params params.yaml --metrics-dir results/mnist/metrics "
        "--table {output.table} --summary {output.summary} --log {log}"
