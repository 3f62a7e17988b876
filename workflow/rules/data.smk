rule mnist_fetch:
    output:
        [f"data/mnist/raw/{remote.name}" for remote in MNIST_FILES.values()],
    log:
        "logs/mnist/fetch.log",
    shell:
        "aelab fetch --params params.yaml --out data/mnist/raw --log {log}"


rule mnist_prepare:
    input:
        rules.mnist_fetch.output,
    output:
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    params:
        max_train_images=config["data"]["mnist"]["max_train_images"],
    log:
        "logs/mnist/prepare.log",
    shell:
        "aelab prepare --params params.yaml --raw data/mnist/raw "
        "--out data/mnist/prepared --log {log}"
