rule mnist_fetch:
    output:
        expand("data/mnist/raw/{name}", name=MNIST_FILES),
    log:
        "logs/mnist/fetch.log",
    benchmark:
        "logs/benchmarks/mnist/fetch.tsv"
    params:
        params_file=PARAMS,
        files=config["data"]["mnist"]["files"],
    shell:
        "aelab fetch --params {params.params_file} --out data/mnist/raw --log {log}"


rule mnist_prepare:
    input:
        rules.mnist_fetch.output,
    output:
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    log:
        "logs/mnist/prepare.log",
    benchmark:
        "logs/benchmarks/mnist/prepare.tsv"
    params:
        params_file=PARAMS,
        max_train_images=config["data"]["mnist"]["max_train_images"],
        files=config["data"]["mnist"]["files"],
    shell:
        "aelab prepare --params {params.params_file} --raw data/mnist/raw "
        "--out data/mnist/prepared --log {log}"


rule curves_make:
    output:
        train="data/curves/prepared/train.npz",
        test="data/curves/prepared/test.npz",
    log:
        "logs/curves/make.log",
    benchmark:
        "logs/benchmarks/curves/make.tsv"
    params:
        params_file=PARAMS,
        settings=config["data"]["curves"],
    shell:
        "aelab make-curves --params {params.params_file} --out data/curves/prepared "
        "--log {log}"


rule mnist_shuffled_make:
    input:
        train="data/mnist/prepared/train.npz",
        test="data/mnist/prepared/test.npz",
    output:
        train="data/mnist_shuffled/prepared/train.npz",
        test="data/mnist_shuffled/prepared/test.npz",
    log:
        "logs/mnist_shuffled/make.log",
    benchmark:
        "logs/benchmarks/mnist_shuffled/make.tsv"
    params:
        params_file=PARAMS,
        settings=config["data"]["mnist_shuffled"],
    shell:
        "aelab make-shuffled --params {params.params_file} --source data/mnist/prepared "
        "--out data/mnist_shuffled/prepared --log {log}"
