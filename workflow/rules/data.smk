rule mnist_fetch:
    output:
        expand("data/mnist/raw/{name}", name=MNIST_FILES),
    log:
        "logs/mnist/fetch.log",
    params:
        files=config["data"]["mnist"]["files"],
    shell:
        "aelab fetch --params params.yaml --out data/mnist/raw --log {log}"


rule mnist_prepare:
    input:
        rules.mnist_fetch.output,
    output:
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    log:
        "logs/mnist/prepare.log",
    params:
        max_train_images=config["data"]["mnist"]["max_train_images"],
        files=config["data"]["mnist"]["files"],
    shell:
        "aelab prepare --params params.yaml --raw data/mnist/raw "
        "--out data/mnist/prepared --log {log}"
