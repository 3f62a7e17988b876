rule figure_reconstructions:
    input:
        test="data/mnist/prepared/test.npz",
        codes=expand(
            "results/mnist/codes/{model}/latent-{latent}.npz",
            model=config["figures"]["reconstructions"]["models"],
            latent=config["figures"]["reconstructions"]["latent_size"],
        ),
    output:
        "results/mnist/figures/reconstructions.png",
    log:
        "logs/mnist/figures/reconstructions.log",
    params:
        figure=config["figures"]["reconstructions"],
    shell:
        "aelab plot reconstructions --params params.yaml --test {input.test} "
        "--codes-dir results/mnist/codes --out {output} --log {log}"


rule figure_error_vs_code_size:
    input:
        "results/mnist/metrics.csv",
    output:
        figure="results/mnist/figures/error_vs_code_size.png",
        data="results/mnist/figures/error_vs_code_size.csv",
    log:
        "logs/mnist/figures/error_vs_code_size.log",
    shell:
        "aelab plot error-vs-code-size --params params.yaml --table {input} "
        "--out {output.figure} --data-out {output.data} --log {log}"


rule figure_codes_2d:
    input:
        expand(
            "results/mnist/codes/{model}/latent-2.npz",
            model=config["figures"]["codes_2d"]["models"],
        ),
    output:
        "results/mnist/figures/codes_2d.png",
    log:
        "logs/mnist/figures/codes_2d.log",
    params:
        figure=config["figures"]["codes_2d"],
    shell:
        "aelab plot codes-2d --params params.yaml --codes-dir results/mnist/codes "
        "--out {output} --log {log}"
