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
    benchmark:
        "logs/benchmarks/{dataset}/figures/reconstructions.tsv"
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
    benchmark:
        "logs/benchmarks/{dataset}/figures/error_vs_code_size.tsv"
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
    benchmark:
        "logs/benchmarks/mnist/figures/codes_2d.tsv"
    params:
        params_file=PARAMS,
        figure=config["figures"]["codes_2d"]["mnist"],
    shell:
        "aelab plot codes-2d --params {params.params_file} --dataset mnist "
        "--codes-dir results/mnist/codes --out {output} --log {log}"


rule figure_deep_vs_shallow:
    input:
        test="data/mnist/prepared/test.npz",
        codes=expand(
            "results/mnist/codes/{model}/latent-{latent}.npz",
            model=config["figures"]["deep_vs_shallow"]["models"],
            latent=config["figures"]["deep_vs_shallow"]["latent_sizes"],
        ),
    output:
        report(
            "results/mnist/figures/deep_vs_shallow.png",
            caption="../report/deep_vs_shallow.rst",
            category="mnist",
            subcategory="all models",
            labels={"what": "deep against shallow"},
        ),
    log:
        "logs/mnist/figures/deep_vs_shallow.log",
    benchmark:
        "logs/benchmarks/mnist/figures/deep_vs_shallow.tsv"
    params:
        params_file=PARAMS,
        figure=config["figures"]["deep_vs_shallow"],
    shell:
        "aelab plot deep-vs-shallow --params {params.params_file} --dataset mnist "
        "--test {input.test} --codes-dir results/mnist/codes --out {output} --log {log}"


rule figure_denoising:
    input:
        test="data/mnist/prepared/test.npz",
        model="results/mnist/models/{model}/latent-{latent}.pt".format(
            model=config["figures"]["denoising"]["model"],
            latent=config["figures"]["denoising"]["latent_size"],
        ),
        codes="results/mnist/codes/{model}/latent-{latent}.npz".format(
            model=config["figures"]["denoising"]["model"],
            latent=config["figures"]["denoising"]["latent_size"],
        ),
    output:
        report(
            "results/mnist/figures/denoising.png",
            caption="../report/denoising.rst",
            category="mnist",
            subcategory="all models",
            labels={"what": "denoising"},
        ),
    log:
        "logs/mnist/figures/denoising.log",
    benchmark:
        "logs/benchmarks/mnist/figures/denoising.tsv"
    params:
        params_file=PARAMS,
        figure=config["figures"]["denoising"],
    shell:
        "aelab plot denoising --params {params.params_file} --dataset mnist "
        "--test {input.test} --model-file {input.model} "
        "--codes-dir results/mnist/codes --out {output} --log {log}"


rule figure_error_vs_code_size_control:
    input:
        table="results/mnist/metrics.csv",
        control="results/mnist_shuffled/metrics.csv",
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    output:
        figure=report(
            "results/mnist/figures/error_vs_code_size_control.png",
            caption="../report/error_vs_code_size_control.rst",
            category="mnist",
            subcategory="all models",
            labels={"what": "the shuffled control"},
        ),
        data="results/mnist/figures/error_vs_code_size_control.csv",
    log:
        "logs/mnist/figures/error_vs_code_size_control.log",
    benchmark:
        "logs/benchmarks/mnist/figures/error_vs_code_size_control.tsv"
    params:
        params_file=PARAMS,
    shell:
        "aelab plot error-vs-code-size-control --params {params.params_file} "
        "--dataset mnist --table {input.table} --control {input.control} "
        "--train {input.train} --test {input.test} --out {output.figure} "
        "--data-out {output.data} --log {log}"


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
    benchmark:
        "logs/benchmarks/{dataset}/figures/training_curves.tsv"
    params:
        params_file=PARAMS,
        sweep=lambda wildcards: SWEEP[wildcards.dataset],
    shell:
        "aelab plot training-curves --params {params.params_file} "
        "--dataset {wildcards.dataset} --training-dir results/{wildcards.dataset}/training "
        "--out {output} --log {log}"
