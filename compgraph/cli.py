"""The ``compgraph`` command: train, test, plot, graph, data.

    compgraph train --model mlp --data fashion-mnist --out runs/mlp
    compgraph test --checkpoint runs/mlp/epoch-020.npz
    compgraph plot runs/linear runs/mlp -o compare.png
    compgraph graph --model mlp --out graph.svg
    compgraph data --data fashion-mnist

Exit status: 0 success, 1 failure (missing data, damaged checkpoint, ...),
2 bad arguments, 130 interrupted (Ctrl-C).  The training machinery is
imported inside each command, so ``--help`` and argument errors are instant.
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser"]

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Duplicated from compgraph.train.config / models (checked by a test) so that
# building the parser does not import the engine.
MODELS = ("linear", "mlp", "cnn")
DATASETS = ("fashion-mnist", "mnist")
OPTIMIZERS = ("adam", "sgd")
ACTIVATIONS = ("tanh", "relu")
GRAPH_SUFFIXES = (".svg", ".png", ".pdf", ".dot", ".gv", "")   # compgraph.viz.draw_model


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line: ``compgraph train: error: ...``."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs (the defaults table)."""


# --- argument types: each failure message names the problem --------------------------------

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _momentum(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _decay(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _hidden_sizes(text):
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive layer sizes such as 256 or 512,256, got {text!r}")
    return sizes


# --- the parser ------------------------------------------------------------------------------

DESCRIPTION = """\
Computation graphs and autodiff, with PyTorch's names: train and inspect
models on MNIST and Fashion-MNIST.

Run `compgraph COMMAND --help` for the options of each command."""

TRAIN_EPILOG = """\
defaults by model (all: adam, lr 0.001 decayed by 0.9 per epoch, batch 64),
with the Fashion-MNIST test error they were measured to reach (2-core CPU):
  linear  784-10                                        10 epochs   15.5%
  mlp     784-256-10, tanh                              20 epochs   10.7-11.0%
  cnn     conv3x3(16)+pool, conv3x3(32)+pool, dense 128,
          relu                                          10 epochs    8.7%

The run folder (--out) receives config.json, metrics.jsonl (one JSON object
per epoch: epoch, train_loss, test_error, test_loss, seconds, examples_per_s),
epoch-NNN.npz checkpoints and curves.png (needs matplotlib).  After Ctrl-C or
a crash, the same command with --resume continues from the last complete
checkpoint; with the same seed, the result is bitwise that of an
uninterrupted run.  If a checkpoint it would overwrite does not load,
--resume stops and names it rather than train over it.

examples:
  compgraph train --model linear --out runs/linear
  compgraph train --model mlp --hidden 512,256 --activation relu --out runs/mlp2
  compgraph train --model mlp --out runs/mlp --resume
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="compgraph", formatter_class=_Formatter, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    train = commands.add_parser(
        "train", help="train a model on MNIST or Fashion-MNIST", formatter_class=_Formatter,
        description="Train a linear model, an MLP or a CNN; print one line per epoch "
                    "and write a run folder.", epilog=TRAIN_EPILOG)
    train.add_argument("--model", choices=MODELS, help="model to train (default: mlp)")
    _add_data_options(train, default=None)
    # None means "the model's default" (see the table below), so that --resume
    # can tell options the user typed from defaults.
    train.add_argument("--epochs", type=_positive_int, help="number of epochs (default: by model)")
    train.add_argument("--batch-size", type=_positive_int, help="examples per step (default: 64)")
    train.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default: adam)")
    train.add_argument("--lr", type=_positive_float, help="learning rate of the first epoch (default: 0.001)")
    train.add_argument("--lr-decay", type=_decay, metavar="G",
                       help="multiply the learning rate by G after every epoch (default: 0.9)")
    train.add_argument("--momentum", type=_momentum, help="SGD momentum (default: 0.9)")
    train.add_argument("--hidden", type=_hidden_sizes, metavar="N[,N...]",
                       help="mlp hidden layer sizes (default: 256)")
    train.add_argument("--activation", choices=ACTIVATIONS,
                       help="nonlinearity (default: tanh for mlp, relu for cnn)")
    train.add_argument("--seed", type=_non_negative_int, help="seed for initialisation and "
                       "shuffling (default: 0)")
    train.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on the first N training examples only (quick checks, tests)")
    train.add_argument("--out", metavar="DIR", help="run folder (default: runs/MODEL)")
    train.add_argument("--resume", action="store_true",
                       help="continue the run in --out from its last complete checkpoint")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--distributed", action="store_true",
                       help="data-parallel over the ranks of an MPI job: mpirun -np N compgraph "
                            "train ... --distributed (needs mpi4py: pip install 'compgraph[mpi]'); "
                            "--batch-size is the global batch, split across the ranks; rank 0 "
                            "writes the run folder, which all ranks must see (shared filesystem)")
    train.set_defaults(run=_cmd_train)

    test = commands.add_parser(
        "test", help="print the test error rate of a checkpoint", formatter_class=_Formatter,
        description="Evaluate a checkpoint on the test split of the data it was trained on.")
    test.add_argument("--checkpoint", required=True, metavar="PATH",
                      help="an epoch-NNN.npz file, or a run folder (its newest checkpoint)")
    test.add_argument("--data-dir", metavar="DIR",
                      help="folder holding the IDX files (default: where training found them)")
    test.set_defaults(run=_cmd_test)

    plot = commands.add_parser(
        "plot", help="overlay the learning curves of runs", formatter_class=_Formatter,
        description="Draw loss (train solid, test dashed) and test error per epoch of one "
                    "or more run folders into one PNG. Needs matplotlib.")
    plot.add_argument("runs", nargs="+", metavar="RUN", help="run folders (with metrics.jsonl)")
    plot.add_argument("-o", "--output", default="compare.png", metavar="PNG", help="output file (default: %(default)s)")
    plot.set_defaults(run=_cmd_plot)

    graph = commands.add_parser(
        "graph", help="draw a model's computation graph", formatter_class=_Formatter,
        description="Draw the computation graph of a model (uses compgraph.viz and graphviz).")
    graph.add_argument("--model", choices=MODELS, default="mlp", help="model to draw (default: %(default)s)")
    graph.add_argument("--hidden", type=_hidden_sizes, metavar="N[,N...]",
                       help="mlp hidden layer sizes (default: 256)")
    graph.add_argument("--activation", choices=ACTIVATIONS,
                       help="nonlinearity (default: tanh for mlp, relu for cnn)")
    graph.add_argument("--out", default="graph.svg", metavar="FILE",
                       help="output file; its suffix (.svg, .png, .pdf, .dot) picks the format "
                            "(default: %(default)s)")
    graph.set_defaults(run=_cmd_graph)

    data = commands.add_parser(
        "data", help="find (or fetch) a dataset and say where it is", formatter_class=_Formatter,
        description="Look for the dataset where compgraph looks (--data-dir, the cache, "
                    "system packages), download it if missing unless --no-download, and "
                    "report where each split was found.")
    _add_data_options(data)
    data.add_argument("--no-download", action="store_true", help="only look, never download")
    data.set_defaults(run=_cmd_data)
    return parser


def _add_data_options(parser, default="fashion-mnist") -> None:
    parser.add_argument("--data", choices=DATASETS, default=default,
                        help="dataset (default: fashion-mnist)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="folder holding the IDX files; when given, the only place "
                             "looked in (default: the cache, $COMPGRAPH_DATA, the system "
                             "package, then a download)")


def _version() -> str:
    from compgraph import __version__
    return f"compgraph {__version__}"


# --- commands ----------------------------------------------------------------------------

class _UsageError(Exception):
    """A combination of arguments that argparse cannot check by itself (exit 2)."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cmd_train(args) -> int:
    from compgraph.train.checkpoint import list_checkpoints
    from compgraph.train.config import CONFIG_FILE, make_config, read_config
    from compgraph.train.loop import train

    given = dict(data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                 optimizer=args.optimizer, lr=args.lr, lr_decay=args.lr_decay,
                 momentum=args.momentum,
                 hidden=args.hidden, activation=args.activation, seed=args.seed,
                 limit=args.limit, data_dir=_abspath(args.data_dir))
    model = args.model or "mlp"
    out = args.out or os.path.join("runs", model)
    say = print
    if args.distributed:
        from compgraph.distributed import comm
        comm.init()   # before anything can fail: a failing rank must be able to abort the job
        if not comm.is_main():
            say = _silent
    if args.resume and os.path.isfile(os.path.join(out, CONFIG_FILE)) and list_checkpoints(out):
        config = _resumed_config(read_config(out), dict(given, model=args.model), out)
    else:
        if args.hidden is not None and model != "mlp":
            raise _UsageError(f"--hidden applies to --model mlp only (got --model {model})")
        config = make_config(model, **given)
    say(f"training {config.model} on {config.data} into {out}", flush=True)
    try:
        train(config, out, resume=args.resume, progress=not args.no_progress,
              distributed=args.distributed)
    except KeyboardInterrupt:
        if say is print:
            _stderr(_interrupted_message(out, config.model))
        return EXIT_INTERRUPTED
    say(f"done: {out}", flush=True)
    return 0


def _silent(*args, **kwargs):
    """print() of the ranks other than 0."""


def _resumed_config(saved, given, out):
    """The run's own config, with --epochs / --data-dir taken from the command line.

    Any other option that was typed and differs from the run's is an error:
    silently mixing settings would make the run neither one nor the other.
    """
    from dataclasses import replace

    changes = {}
    for key, value in given.items():
        if value is None or value == getattr(saved, key):
            continue
        if key in ("epochs", "data_dir"):
            changes[key] = value
            continue
        flag = "--" + key.replace("_", "-")
        raise _UsageError(f"{flag} {_show(value)} differs from the run's {_show(getattr(saved, key))} "
                          f"({os.path.join(out, 'config.json')}); a resumed run keeps its "
                          f"settings: drop {flag} or train into a new --out")
    return replace(saved, **changes)


def _show(value) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _interrupted_message(out, model) -> str:
    from compgraph.train.checkpoint import list_checkpoints

    done = list_checkpoints(out)
    where = f"the last complete checkpoint is {done[-1][1]}" if done else "no epoch was completed"
    return (f"interrupted; {where}. Continue with: compgraph train --model {model} "
            f"--out {out} --resume")


def _abspath(path):
    # Stored in config.json, so a resumed run finds the data from any directory.
    return None if path is None else os.path.abspath(path)


def _cmd_test(args) -> int:
    from compgraph.train.checkpoint import model_from_checkpoint
    from compgraph.train.loop import evaluate, load_images

    model, config, state = model_from_checkpoint(args.checkpoint, warn=_stderr)
    data_dir = _abspath(args.data_dir) or config.data_dir
    x, y = load_images(config.data, "test", data_dir, None, _stderr)
    error, loss = evaluate(model, x, y)
    wrong = round(error * len(y))
    print(f"{config.model} after epoch {state['epoch']} on {config.data} "
          f"({len(y)} test examples): test loss {loss:.4f}")
    print(f"test error rate: {100 * error:.2f}% ({wrong}/{len(y)})")
    return 0


def _cmd_plot(args) -> int:
    from compgraph.train.plot import plot_runs

    for run in args.runs:
        if not os.path.isdir(run):
            raise _UsageError(f"{run}: no such run folder")
    _check_output_folder(args.output)
    path = plot_runs(args.runs, args.output)
    print(f"wrote {path}")
    return 0


def _cmd_graph(args) -> int:
    try:
        from compgraph.viz import draw_model
    except ImportError as exc:
        _stderr(f"compgraph graph: drawing needs compgraph.viz, which could not be imported "
                f"({exc}); install the extra with pip install 'compgraph[viz]'")
        return EXIT_FAILURE
    from compgraph.train.config import make_config
    from compgraph.train.models import IMAGE_SHAPE, build_model

    if args.hidden is not None and args.model != "mlp":
        raise _UsageError(f"--hidden applies to --model mlp only (got --model {args.model})")
    # checked before the model is built and traced, which is the slow part
    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in GRAPH_SUFFIXES:
        raise _UsageError(f"--out {args.out}: its suffix picks the format; use "
                          f"{', '.join(s for s in GRAPH_SUFFIXES if s)} (got {suffix or 'none'!r})")
    _check_output_folder(args.out)
    config = make_config(args.model, hidden=args.hidden, activation=args.activation)
    model = build_model(config.model, config.hidden, config.activation)
    fmt = suffix.lstrip(".") or None
    result = draw_model(model, (1,) + IMAGE_SHAPE, args.out, format=fmt)
    print(f"wrote {result if isinstance(result, str) else args.out}")
    return 0


def _check_output_folder(path) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise _UsageError(f"cannot write {path}: the folder {folder} does not exist; create it "
                          "first or choose another path")


def _cmd_data(args) -> int:
    from compgraph.data import load_dataset

    for split in ("train", "test"):
        found = []
        images, labels = load_dataset(args.data, split, data_dir=_abspath(args.data_dir),
                                      download=not args.no_download, log=found.append)
        # load_dataset logs one line per source tried; the last says where it loaded from.
        for line in found[:-1]:
            print(f"  {line}")
        where = found[-1].split(": ", 2)[-1] if found else "?"
        print(f"{args.data} {split}: {len(images)} images {images.shape[1]}x{images.shape[2]}, "
              f"{len(set(labels.tolist()))} classes; {where}")
    return 0


# --- entry point ---------------------------------------------------------------------------

def main(argv=None) -> int:
    """Run the command line ``argv`` (default: sys.argv[1:]); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = f"compgraph {args.command}"
    status = _run(args, prog)
    if status and getattr(args, "distributed", False):
        # the other ranks would wait for this one in their next collective: end them too
        from compgraph.distributed import comm
        if comm.is_initialized():
            comm.abort(f"{prog} failed on this rank (exit status {status}); ending the job",
                       status)
    return status


def _run(args, prog) -> int:
    try:
        return args.run(args)
    except _UsageError as exc:
        _stderr(f"{prog}: error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _stderr(f"{prog}: interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 -- a known failure gets one line, not a traceback
        message = _known_failure(exc)
        if message is None:
            raise
        _stderr(f"{prog}: error: {message}")
        return EXIT_FAILURE


def _known_failure(exc):
    """The message for an expected failure (missing data, bad checkpoint...), else None."""
    from compgraph.errors import CompgraphError

    # compgraph raises CompgraphError on purpose, with a message meant for the user
    expected = (CompgraphError, FileNotFoundError, PermissionError, IsADirectoryError,
                NotADirectoryError)
    if isinstance(exc, expected):
        return str(exc)
    if type(exc).__name__ == "StateDictError":  # compgraph.nn: checkpoint of another model
        return str(exc)
    if type(exc).__name__ == "MPIUnavailableError":  # --distributed without mpi4py
        return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
