"""The command line: ``aelab <step> ...``, one subcommand per pipeline step.

Each subcommand parses its arguments, reads params.yaml through
:mod:`aelab.config` and hands off to a plain function. The workflow files
(Snakefile, dvc.yaml) call these subcommands and nothing else. One more
subcommand, ``aelab backprop``, is a teaching aid outside the pipeline: it
backpropagates through a small expression node by node.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from aelab import __version__
from aelab.config import DATASETS, load_params
from aelab.errors import AelabError

log = logging.getLogger("aelab")

FIGURES = (
    "reconstructions",
    "error-vs-code-size",
    "codes-2d",
    "training-curves",
    "retrieval",
    "deep-vs-shallow",
    "denoising",
    "error-vs-code-size-control",
)
# The data set of documents, whose steps differ from the image data sets'.
REUTERS = "reuters"
MNIST_TABLE = "results/mnist/metrics.csv"


def _setup_logging(log_file: str | None, verbose: bool) -> None:
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def cmd_fetch(args: argparse.Namespace) -> None:
    from aelab.data import download, mnist

    params = load_params(args.params)
    offline = download.offline_mirror(params["data"]["offline_mirror"])
    # Try every file before failing, so that one run reports all problems.
    failures = []
    for remote in mnist.remote_files(params["data"]["mnist"]["files"]).values():
        try:
            download.fetch(
                remote,
                args.out,
                params["data"]["mnist"]["mirrors"],
                offline=offline,
                dataset="mnist",
            )
        except AelabError as err:
            failures.append(str(err))
    if failures:
        raise AelabError("\n".join(failures))


def cmd_fetch_reuters(args: argparse.Namespace) -> None:
    from aelab.data import download

    params = load_params(args.params)
    settings = params["data"]["reuters"]
    remote = download.RemoteFile(
        settings["file"]["name"], settings["file"]["sha256"], members="*.sgm"
    )
    download.fetch(
        remote,
        args.out,
        settings["mirrors"],
        offline=download.offline_mirror(params["data"]["offline_mirror"]),
        dataset="reuters21578",
    )


def cmd_parse_reuters(args: argparse.Namespace) -> None:
    from aelab.data import reuters

    load_params(args.params)  # validated, like every step's
    stories = reuters.parse_collection(args.raw)
    reuters.write_parsed(stories, args.out, args.counts)


def cmd_prepare_reuters(args: argparse.Namespace) -> None:
    from aelab.data import reuters

    params = load_params(args.params)
    settings = params["data"]["reuters"]
    reuters.prepare(
        args.parsed,
        args.out,
        settings["vocabulary_size"],
        settings["n_topics"],
        settings["expected_split_sizes"],
    )


def cmd_evaluate_retrieval(args: argparse.Namespace) -> None:
    from aelab.evaluate.retrieval import evaluate_retrieval

    params = load_params(args.params)
    _use_threads(args, params)
    evaluate_retrieval(
        args.model_file,
        args.test,
        args.metrics,
        args.codes,
        _reuters_settings(params, args.params)["retrieved"],
    )


def cmd_collect_retrieval(args: argparse.Namespace) -> None:
    from aelab.evaluate.retrieval import collect_retrieval

    params = load_params(args.params)
    collect_retrieval(
        _reuters_settings(params, args.params)["runs"],
        args.metrics_dir,
        args.table,
        args.summary,
    )


def _reuters_settings(params: dict, source: str) -> dict:
    if "reuters" not in params:
        raise AelabError(
            f"{source} has no 'reuters' section: add one (see the repository's "
            "params.yaml) to run the document branch."
        )
    return params["reuters"]


def cmd_prepare(args: argparse.Namespace) -> None:
    from aelab.data import mnist

    params = load_params(args.params)
    settings = params["data"]["mnist"]
    names = {role: entry["name"] for role, entry in settings["files"].items()}
    mnist.prepare(args.raw, args.out, settings["max_train_images"], names)


def cmd_make_curves(args: argparse.Namespace) -> None:
    from aelab.data import curves
    from aelab.data.prepared import write_prepared

    params = load_params(args.params)
    settings = params["data"]["curves"]
    splits = curves.make_splits(
        settings["n_train"], settings["n_test"], settings["seed"]
    )
    write_prepared(args.out, splits)


def cmd_make_shuffled(args: argparse.Namespace) -> None:
    from aelab.data.shuffled import make_shuffled

    params = load_params(args.params)
    settings = params["data"]["mnist_shuffled"]
    make_shuffled(args.source, args.out, settings["seed"], settings["max_train_images"])


def _use_threads(args: argparse.Namespace, params: dict) -> None:
    """Give torch ``--threads``, else ``compute.threads`` from params.yaml."""
    import torch  # only the steps that compute need it; it is slow to import

    configured = params["compute"]["threads"]
    threads = args.threads or configured
    torch.set_num_threads(threads)
    log.info("PyTorch uses %d CPU thread(s)", torch.get_num_threads())
    if threads != configured:
        # Snakemake passes a rule's threads, which it lowers to --cores.
        log.info(
            "--threads %d differs from compute.threads %d: the last digits of "
            "the results can differ from a run with %d",
            threads,
            configured,
            configured,
        )


def cmd_train(args: argparse.Namespace) -> None:
    from aelab.config import model_settings
    from aelab.training import devices
    from aelab.training.job import train_model

    params = load_params(args.params)
    _use_threads(args, params)
    devices.log_scheduler()
    if args.dataset == REUTERS:
        runs = _reuters_settings(params, args.params)["runs"]
        sizes = [run["latent_size"] for run in runs if run["model"] == args.model]
    else:
        sizes = params["sweep"][args.dataset]["latent_sizes"]
    if args.latent not in sizes:
        log.warning(
            "latent size %d is not in sweep.%s.latent_sizes %s",
            args.latent,
            args.dataset,
            sizes,
        )
    if args.train is None:
        args.train = Path("data") / args.dataset / "prepared" / "train.npz"
    kind = model_settings(params, args.model)["kind"]
    # Several training jobs on one host with several GPUs: one device each.
    with devices.device_slot(params["compute"]["device"], kind):
        train_model(
            params,
            args.model,
            args.latent,
            args.train,
            args.out,
            dataset=args.dataset,
            test_path=args.test,
            curves_dir=args.curves_dir,
        )


def cmd_evaluate(args: argparse.Namespace) -> None:
    from aelab.evaluate.job import evaluate_model

    params = load_params(args.params)
    _use_threads(args, params)
    evaluate_model(
        args.model_file,
        args.train,
        args.test,
        args.metrics,
        args.codes,
        params["evaluate"]["n_reconstructions"],
    )


def cmd_collect(args: argparse.Namespace) -> None:
    from aelab.evaluate.collect import collect

    params = load_params(args.params)
    results = Path("results") / args.dataset
    collect(
        params,
        args.dataset,
        args.metrics_dir or results / "metrics",
        args.table or results / "metrics.csv",
        args.summary or results / "metrics.json",
    )


def cmd_summary(args: argparse.Namespace) -> None:
    from aelab.evaluate.summary import summarise

    params = load_params(args.params)
    summarise(params, args.tables, args.out, recorded_path=args.recorded)


def cmd_plot(args: argparse.Namespace) -> None:
    from aelab.figures import (
        codes_2d,
        error_vs_code_size,
        reconstructions,
        training_curves,
    )

    params = load_params(args.params)
    figures = params["figures"]
    codes_dir = Path(args.codes_dir or Path("results") / args.dataset / "codes")
    test = args.test or Path("data") / args.dataset / "prepared" / "test.npz"
    if args.dataset == REUTERS or args.figure == "retrieval":
        _plot_reuters(args, params, codes_dir)
    elif args.figure in ("deep-vs-shallow", "denoising", "error-vs-code-size-control"):
        _plot_family(args, figures, codes_dir, test)
    elif args.figure == "reconstructions":
        rows = figures["reconstructions"].get(args.dataset)
        if not rows:
            raise AelabError(
                f"params.yaml has no figures.reconstructions.{args.dataset}; add "
                "the rows to draw there."
            )
        reconstructions.draw(
            test,
            codes_dir,
            [(row["model"], row["latent_size"]) for row in rows],
            args.out,
            dataset=args.dataset,
        )
    elif args.figure == "error-vs-code-size":
        error_vs_code_size.draw(
            args.table or MNIST_TABLE,
            args.out,
            args.data_out or Path(args.out).with_suffix(".csv"),
        )
    elif args.figure == "training-curves":
        sweep = params["sweep"][args.dataset]
        training_curves.draw(
            args.training_dir or Path("results") / args.dataset / "training",
            sweep["models"],
            sweep["latent_sizes"],
            args.out,
            dataset=args.dataset,
        )
    else:
        figure = figures["codes_2d"].get(args.dataset)
        if not figure:
            raise AelabError(
                f"params.yaml has no figures.codes_2d.{args.dataset}: the figure "
                "of 2-D codes is drawn for labelled data sets (mnist)."
            )
        codes_2d.draw(codes_dir, figure["models"], figure["per_class"], args.out)


def _plot_reuters(args: argparse.Namespace, params: dict, codes_dir: Path) -> None:
    from aelab.figures import codes_2d, retrieval

    figures = _reuters_settings(params, args.params)["figures"]
    if args.figure == "retrieval":
        rows = [(row["model"], row["latent_size"]) for row in figures["retrieval"]]
        retrieval.draw(
            args.table or "results/reuters/retrieval.csv",
            rows,
            args.out,
        )
    elif args.figure == "codes-2d":
        models = [row["model"] for row in figures["codes_2d"]]
        codes_2d.draw(
            codes_dir, models, None, args.out, noun="stories", legend_title="topic"
        )
    else:
        raise AelabError(
            f"the {args.figure} figure is not drawn for reuters; draw codes-2d "
            "or retrieval."
        )


def _plot_family(args: argparse.Namespace, figures: dict, codes_dir, test) -> None:
    """The figures that compare the autoencoder family (MNIST only)."""
    from aelab.figures import deep_vs_shallow, denoising, error_vs_code_size

    if args.figure == "deep-vs-shallow":
        figure = figures["deep_vs_shallow"]
        deep_vs_shallow.draw(
            test,
            codes_dir,
            figure["models"],
            figure["latent_sizes"],
            figure["per_class"],
            args.out,
        )
    elif args.figure == "denoising":
        figure = figures["denoising"]
        name = f"{figure['model']}/latent-{figure['latent_size']}"
        results = Path("results") / args.dataset
        denoising.draw(
            test,
            args.model_file or results / "models" / f"{name}.pt",
            codes_dir / f"{name}.npz",
            figure["seed"],
            args.out,
        )
    else:
        if not args.control:
            raise AelabError(
                "error-vs-code-size-control needs --control, the collect step's "
                "metrics.csv of the control data set (results/mnist_shuffled/)."
            )
        train = args.train or Path("data") / args.dataset / "prepared" / "train.npz"
        error_vs_code_size.draw_with_control(
            args.table or MNIST_TABLE,
            args.control,
            error_vs_code_size.mean_image_error(train, test),
            args.out,
            args.data_out or Path(args.out).with_suffix(".csv"),
        )


def cmd_backprop(args: argparse.Namespace) -> None:
    from aelab.backprop import drawing, expression, table

    if args.expr is None:
        example = expression.EXAMPLES[args.example]
        text, values = example.text, dict(example.values)
        # Values typed after --values replace the example's own.
        values.update(expression.parse_values(args.values or []))
    else:
        text, values = args.expr, expression.parse_values(args.values or [])
    graph = expression.build(text, values)
    graph.output.backward()

    rows = table.rows(graph.output)
    not_finite = [row.node for row in rows if not math.isfinite(row.value)]
    if not_finite:
        log.warning(
            "not a finite value: %s; look for a log of a number <= 0, a division "
            "by 0 or an overflow",
            ", ".join(not_finite),
        )
    # The table is this command's output, for the terminal, not a log line.
    print(table.format_table(rows))
    if args.table:
        table.write_csv(rows, args.table)
    drawing.draw(graph.output, args.out, title=text)


class _HelpFormatter(argparse.HelpFormatter):
    """Show an option's default in its help, where it has a meaningful one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS):
            text += " (default: %(default)s)"
        return text


class _ExamplesFormatter(_HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keep the line breaks of a description and of a list of examples."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aelab",
        formatter_class=_HelpFormatter,
        description="Autoencoders against PCA, after Hinton & Salakhutdinov (2006).",
    )
    # Every subcommand logs; only the pipeline steps read params.yaml.
    logging_options = argparse.ArgumentParser(add_help=False)
    logging_options.add_argument(
        "--log", metavar="FILE", help="also write the log to FILE"
    )
    logging_options.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging"
    )
    common = argparse.ArgumentParser(add_help=False, parents=[logging_options])
    fmt = {"formatter_class": _HelpFormatter}
    common.add_argument("--params", default="params.yaml", help="parameter file")
    common.add_argument(
        "--threads",
        type=_positive,
        default=None,
        help="CPU threads for torch; overrides compute.threads in params.yaml",
    )
    parser.add_argument("--version", action="version", version=f"aelab {__version__}")
    steps = parser.add_subparsers(dest="step", required=True, metavar="STEP")

    p = steps.add_parser(
        "fetch", parents=[common], **fmt, help="download MNIST, verified"
    )
    p.add_argument("--out", default="data/mnist/raw", help="folder for the files")
    p.set_defaults(func=cmd_fetch)

    p = steps.add_parser("prepare", parents=[common], **fmt, help="IDX files to arrays")
    p.add_argument("--raw", default="data/mnist/raw", help="folder of IDX files")
    p.add_argument(
        "--out", default="data/mnist/prepared", help="folder for train/test.npz"
    )
    p.set_defaults(func=cmd_prepare)

    p = steps.add_parser(
        "make-curves",
        parents=[common],
        **fmt,
        help="generate the synthetic curves data set",
    )
    p.add_argument(
        "--out", default="data/curves/prepared", help="folder for train/test.npz"
    )
    p.set_defaults(func=cmd_make_curves)

    p = steps.add_parser(
        "make-shuffled",
        parents=[common],
        **fmt,
        help="MNIST with each pixel shuffled across images (the control)",
    )
    p.add_argument(
        "--source", default="data/mnist/prepared", help="folder of train/test.npz"
    )
    p.add_argument(
        "--out", default="data/mnist_shuffled/prepared", help="folder to write"
    )
    p.set_defaults(func=cmd_make_shuffled)

    p = steps.add_parser("train", parents=[common], **fmt, help="fit one model")
    p.add_argument(
        "--dataset", choices=(*DATASETS, REUTERS), default="mnist", help="data set"
    )
    p.add_argument("--model", required=True, help="a model name from params.yaml")
    p.add_argument("--latent", required=True, type=_positive, help="code size")
    p.add_argument(
        "--train", help="prepared images (default: data/DATASET/prepared/train.npz)"
    )
    p.add_argument(
        "--test",
        help="prepared test images whose squared error is logged during "
        "training (only recorded, never used to choose anything)",
    )
    p.add_argument("--out", required=True, help="model file to write (.pt)")
    p.add_argument(
        "--curves-dir",
        help="folder for the per-epoch training curves, logged with DVCLive "
        "(default: none are logged)",
    )
    p.set_defaults(func=cmd_train)

    p = steps.add_parser("evaluate", parents=[common], **fmt, help="measure one model")
    p.add_argument("--model-file", required=True, help="a train step's .pt file")
    p.add_argument(
        "--train",
        help="prepared images (default: data/D/prepared/train.npz, D the data "
        "set the model was trained on)",
    )
    p.add_argument(
        "--test",
        help="prepared images (default: data/D/prepared/test.npz, as --train)",
    )
    p.add_argument("--metrics", required=True, help="JSON file to write")
    p.add_argument("--codes", required=True, help="npz file to write")
    p.set_defaults(func=cmd_evaluate)

    p = steps.add_parser(
        "collect", parents=[common], **fmt, help="one table of metrics"
    )
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="data set")
    p.add_argument(
        "--metrics-dir",
        help="folder of MODEL/latent-K.json files from the evaluate step "
        "(default: results/DATASET/metrics)",
    )
    p.add_argument(
        "--table", help="CSV table to write (default: results/DATASET/metrics.csv)"
    )
    p.add_argument(
        "--summary", help="JSON to write (default: results/DATASET/metrics.json)"
    )
    p.set_defaults(func=cmd_collect)

    p = steps.add_parser(
        "summary",
        parents=[common],
        **fmt,
        help="the paper's figures beside ours",
    )
    p.add_argument(
        "--tables",
        nargs="+",
        required=True,
        help="the collect step's metrics.csv of each data set",
    )
    p.add_argument(
        "--out",
        default="results/summary",
        help="path without extension; .md and .csv are written",
    )
    p.add_argument(
        "--recorded",
        metavar="CSV",
        help="results of earlier, longer runs to show beside this job's "
        "(workflow/recorded/runs.csv)",
    )
    p.set_defaults(func=cmd_summary)

    p = steps.add_parser("plot", parents=[common], **fmt, help="draw one figure")
    p.add_argument("figure", choices=FIGURES)
    p.add_argument(
        "--dataset", choices=(*DATASETS, REUTERS), default="mnist", help="data set"
    )
    p.add_argument("--out", required=True, help="PNG file to write")
    p.add_argument(
        "--test", help="prepared images (default: data/DATASET/prepared/test.npz)"
    )
    p.add_argument(
        "--codes-dir",
        help="folder of MODEL/latent-K.npz files from the evaluate step "
        "(default: results/DATASET/codes)",
    )
    p.add_argument(
        "--table",
        help=f"the collect step's CSV (default: {MNIST_TABLE}, and for the "
        "retrieval figure results/reuters/retrieval.csv)",
    )
    p.add_argument("--data-out", help="CSV of the plotted values (error-vs-code-size)")
    p.add_argument(
        "--control",
        help="the control data set's metrics.csv (error-vs-code-size-control)",
    )
    p.add_argument(
        "--train",
        help="prepared training images, for the mean-image error "
        "(error-vs-code-size-control; default: data/DATASET/prepared/train.npz)",
    )
    p.add_argument(
        "--model-file",
        help="the denoising model's .pt file (denoising; default: from "
        "figures.denoising in params.yaml)",
    )
    p.add_argument(
        "--training-dir",
        help="folder of MODEL/latent-K training curves from the train step "
        "(training-curves; default: results/DATASET/training)",
    )
    p.set_defaults(func=cmd_plot)

    p = steps.add_parser(
        "fetch-reuters",
        parents=[common],
        **fmt,
        help="download Reuters-21578, verified",
    )
    p.add_argument("--out", default="data/reuters/raw", help="folder for the tarball")
    p.set_defaults(func=cmd_fetch_reuters)

    p = steps.add_parser(
        "parse-reuters",
        parents=[common],
        **fmt,
        help="SGML stories to JSON lines, with counts",
    )
    p.add_argument(
        "--raw",
        default="data/reuters/raw/reuters21578.tar.gz",
        help="the tarball, or a folder of reut2-*.sgm files",
    )
    p.add_argument(
        "--out", default="data/reuters/parsed/stories.jsonl", help="stories to write"
    )
    p.add_argument(
        "--counts",
        default="data/reuters/parsed/counts.json",
        help="counts to write: documents, without body, per split",
    )
    p.set_defaults(func=cmd_parse_reuters)

    p = steps.add_parser(
        "prepare-reuters",
        parents=[common],
        **fmt,
        help="ModApte split, word-stem counts and classes",
    )
    p.add_argument(
        "--parsed",
        default="data/reuters/parsed/stories.jsonl",
        help="the parse step's stories",
    )
    p.add_argument(
        "--out",
        default="data/reuters/prepared",
        help="folder for train.npz, test.npz and summary.json",
    )
    p.set_defaults(func=cmd_prepare_reuters)

    p = steps.add_parser(
        "evaluate-retrieval",
        parents=[common],
        **fmt,
        help="retrieval of test stories by one model's codes",
    )
    p.add_argument("--model-file", required=True, help="a train step's .pt file")
    p.add_argument(
        "--test", default="data/reuters/prepared/test.npz", help="prepared stories"
    )
    p.add_argument("--metrics", required=True, help="JSON file to write")
    p.add_argument("--codes", required=True, help="npz file to write")
    p.set_defaults(func=cmd_evaluate_retrieval)

    p = steps.add_parser(
        "collect-retrieval",
        parents=[common],
        **fmt,
        help="one table of every Reuters run's retrieval",
    )
    p.add_argument(
        "--metrics-dir",
        default="results/reuters/metrics",
        help="folder of MODEL/latent-K.json files from evaluate-retrieval",
    )
    p.add_argument(
        "--table", default="results/reuters/retrieval.csv", help="CSV to write"
    )
    p.add_argument(
        "--summary", default="results/reuters/metrics.json", help="JSON to write"
    )
    p.set_defaults(func=cmd_collect_retrieval)

    p = steps.add_parser(
        "backprop",
        parents=[logging_options],
        formatter_class=_ExamplesFormatter,
        help="backpropagate through an expression, node by node",
        description=(
            "Build the graph of an expression, backpropagate from its output,\n"
            "print one row per node (operation, value, local gradients, gradient\n"
            "of the output) and draw the graph with both values on every node."
        ),
        epilog=(
            "examples:\n"
            "  aelab backprop\n"
            "  aelab backprop --example sum\n"
            "  aelab backprop --expr '(w + x*y) * z' --values w=5 x=3 y=2 z=4\n"
            "  aelab backprop --expr 'v = x*y; u = w + v; f = u*z' \\\n"
            "      --values w=5 x=3 y=2 z=4 --out graph.png --table table.csv"
        ),
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--example",
        choices=("product", "sum"),
        default="product",
        help="a worked example: product is f = (w + x*y) * z, sum f = (w + x*y) + z",
    )
    source.add_argument(
        "--expr",
        metavar="EXPR",
        help=(
            "your own expression: a formula of numbers, names, + - * / **, "
            "exp, log, tanh, sigmoid, relu, or named steps separated by ';' "
            "(the last is the output)"
        ),
    )
    p.add_argument(
        "--values",
        nargs="*",
        metavar="NAME=NUMBER",
        help="a value for each input name; with --example, replaces its own",
    )
    p.add_argument(
        "--out", default="results/backprop/graph.png", help="PNG of the graph"
    )
    p.add_argument("--table", metavar="FILE", help="also write the table as CSV")
    p.set_defaults(func=cmd_backprop)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log, args.verbose)
    try:
        if args.step != "backprop":  # a pipeline step
            from aelab.tracked_outputs import check_before_dvc_stage

            check_before_dvc_stage()
        args.func(args)
    except AelabError as err:
        log.error("%s", err)
        return 1
    except OSError as err:
        # A path the user gave that cannot be read or written.
        where = f"{err.filename}: " if err.filename else ""
        log.error(
            "%s%s. Check the path and its permissions.",
            where,
            err.strerror or err,
        )
        return 1
    except KeyboardInterrupt:
        log.error("interrupted; no partial output was kept")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
