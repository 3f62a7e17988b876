rule model_train:
    input:
        "data/mnist/prepared/train.npz",
    output:
        "results/mnist/models/{model}/latent-{latent}.pt",
    log:
        "logs/mnist/train/{model}/latent-{latent}.log",
    threads: config["compute"]["threads"]
    params:
        settings=lambda wildcards: config["models"][wildcards.model],
        compute=config["compute"],
    shell:
        "aelab train --params params.yaml --model {wildcards.model} "
        "--latent {wildcards.latent} --train {input} --out {output} "
        "--log {log}"
