rule figure_reconstructions:
    input:
        test="data/{dataset}/prepared/test.npz",
        codes=lambda wildcards: [
            f"results/{wildcards.dataset}/codes/{row['model']}/"
            f"latent-{row['latent_size']}.npz"
            for row in config["figures"]["reconstructions"][wildcards.dataset]
        ],
    output:
        report(
            "results/{dataset}/figures/reconstructions.png",
            caption="../report/reconstructions.rst",
            category="{dataset}",
            subcategory="all models",
            labels={"what": "reconstructions"},
        ),
    log:
        "logs/{dataset}/figures/reconstructions.log",
    params:
        params_file=PARAMS,
        rows=lambda wildcards: config["figures"]["reconstructions"][wildcards.dataset],
    shell:
        "aelab plot reconstructions --params {params.params_file} --dataset {wildcards.dataset} "
        "--test {input.test} --codes-dir results/{wildcards.dataset}/codes "
        "--out {output} --log {log}"


rule figure_error_vs_code_size:
    input:
        "results/{dataset}/metrics.csv",
    output:
        figure=report(
            "results/{dataset}/figures/error_vs_code_size.png",
            caption="../report/error_vs_code_size.rst",
            category="{dataset}",
            subcategory="all models",
            labels={"what": "error against code size"},
        ),
        data="results/{dataset}/figures/error_vs_code_size.csv",
    log:
        "logs/{dataset}/figures/error_vs_code_size.log",
    params:
        params_file=PARAMS,
    shell:
        "aelab plot error-vs-code-size --params {params.params_file} --table {input} "
        "--out {output.figure} --data-out {output.data} --log {log}"


rule figure_codes_2d:
    input:
        expand(
            "results/mnist/codes/{model}/latent-2.npz",
            model=config["figures"]["codes_2d"]["mnist"]["models"],
        ),
    output:
        report(
            "results/mnist/figures/codes_2d.png",
            caption="../report/codes_2d.rst",
            category="mnist",
            subcategory="all models",
            labels={"what": "2-D codes"},
        ),
    log:
        "logs/mnist/figures/codes_2d.log",
    params:
        params_file=PARAMS,
        figure=config["figures"]["codes_2d"]["mnist"],
    shell:
        "aelab plot codes-2d --params {params.params_file} --dataset mnist "
        "--codes-dir results/mnist/codes --out {output} --log {log}"


rule figure_training_curves:
    input:
        lambda wildcards: swept(
            "results/{dataset}/training/{model}/latent-{latent}", wildcards.dataset
        ),
    output:
        report(
            "results/{dataset}/figures/training_curves.png",
            caption="../report/training_curves.rst",
            category="{dataset}",
            subcategory="all models",
            labels={"what": "training curves"},
        ),
    log:
        "logs/{dataset}/figures/training_curves.log",
    params:
        params_file=PARAMS,
        sweep=lambda wildcards: SWEEP[wildcards.dataset],
    shell:
        "aelab plot training-curves --params {params.params_file} "
        "--dataset {wildcards.dataset} --training-dir results/{wildcards.dataset}/training "
        "--out {output} --log {log}"
