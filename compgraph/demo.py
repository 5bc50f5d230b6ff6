"""The demo: ``python -m compgraph.demo`` (what ``make demo`` runs).

From nothing to two trained classifiers on Fashion-MNIST: find the data (on
Debian, as root, install the package dataset-fashion-mnist; elsewhere
download it), train a linear model and an MLP for a few epochs each, draw
their curves side by side, and say where everything is.  A second run
resumes the finished runs, which takes seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

DATASET = "fashion-mnist"
DEBIAN_PACKAGE = "dataset-fashion-mnist"
# A few epochs each: about a minute on an idle 2-core machine (measured), a few when busy.
DEMO_RUNS = (("linear", 5), ("mlp", 8))


def _say(message: str = "") -> None:
    print(message, flush=True)


def ensure_data(data_dir=None) -> None:
    """Make sure Fashion-MNIST loads, fetching it if needed; raises DataError if impossible."""
    from compgraph.data import DataError, cache_dir, load_dataset

    quiet = [].append
    try:
        load_dataset(DATASET, "test", data_dir=data_dir, download=False, log=quiet)
        load_dataset(DATASET, "train", data_dir=data_dir, download=False, log=quiet)
        return
    except DataError:
        pass
    if _can_apt_install():
        _say(f"Fashion-MNIST is not on this machine; installing the Debian package "
             f"{DEBIAN_PACKAGE}:\n  apt-get install -y {DEBIAN_PACKAGE}")
        done = subprocess.run(["apt-get", "install", "-y", DEBIAN_PACKAGE])
        if done.returncode != 0:
            # A fresh image often has empty package lists.
            _say("refreshing the package lists first:\n  apt-get update")
            subprocess.run(["apt-get", "update"])
            done = subprocess.run(["apt-get", "install", "-y", DEBIAN_PACKAGE])
        if done.returncode == 0:
            return
        _say(f"apt-get failed (exit {done.returncode}); downloading instead")
    _say(f"Fashion-MNIST is not on this machine; downloading it (about 30 MB) into "
         f"{cache_dir(DATASET)}")
    for split in ("train", "test"):
        load_dataset(DATASET, split, data_dir=data_dir, download=True)


def _can_apt_install() -> bool:
    return (os.path.exists("/etc/debian_version") and shutil.which("apt-get") is not None
            and hasattr(os, "geteuid") and os.geteuid() == 0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compgraph.demo", description=__doc__.split("\n\n")[1])
    parser.add_argument("--out", default="runs", help="folder for the runs (default: %(default)s)")
    parser.add_argument("--data-dir", help="folder holding the Fashion-MNIST IDX files")
    args = parser.parse_args(argv)

    from compgraph.data import DataError
    from compgraph.train.config import make_config
    from compgraph.train.errors import PlotUnavailable
    from compgraph.train.loop import train
    from compgraph.train.plot import plot_runs

    started = time.perf_counter()
    try:
        ensure_data(args.data_dir)
    except DataError as exc:
        print(f"demo: cannot get Fashion-MNIST:\n{exc}", file=sys.stderr)
        return 1

    runs = []
    for model, epochs in DEMO_RUNS:
        out = os.path.join(args.out, f"demo-{model}")
        config = make_config(model, epochs=epochs,
                             data_dir=os.path.abspath(args.data_dir) if args.data_dir else None)
        _say(f"\n== {model}: {epochs} epochs on Fashion-MNIST -> {out}")
        history = train(config, out, resume=True, progress=True, log=_quiet_data_log)
        runs.append((model, out, history[-1]))

    _say("")
    compare = os.path.join(args.out, "compare.png")
    try:
        plot_runs([out for _, out, _ in runs], compare)
    except PlotUnavailable as exc:
        compare = None
        _say(f"(no plots: {exc})")
    for model, out, last in runs:
        _say(f"{model:7s} test error {100 * last['test_error']:5.2f}% after "
             f"{last['epoch']} epochs   run folder: {out}/")
    if compare:
        _say(f"curves of both runs: {compare}")
    _say(f"\ndemo finished in {time.perf_counter() - started:.0f} s. Next: "
         f"`compgraph train --help`, or `compgraph test --checkpoint {runs[-1][1]}`")
    return 0


def _quiet_data_log(message: str) -> None:
    # Keep the demo's output to what matters: where the data came from, not
    # every place that was looked at first.
    if "loaded from" in message or "download" in message or not message.startswith("compgraph.data"):
        print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
