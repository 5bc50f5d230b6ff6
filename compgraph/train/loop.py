"""The training loop behind ``compgraph train``: epochs, evaluation, checkpoints, resume.

Reproducibility: with the same config (seed included) a run's parameters
depend only on the epoch it starts from.  Model initialisation draws from
compgraph's RNG seeded with ``config.seed``; the loader's order for epoch
``e`` depends only on ``(seed, e)``; every checkpoint stores the model,
optimizer, loader and RNG state.  So a run resumed from the checkpoint of
epoch ``k`` redoes epoch ``k+1`` exactly as an uninterrupted run does, and
its final parameters are bitwise equal.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

import compgraph
import compgraph.nn as nn
import compgraph.optim as optim
from compgraph import random as cg_random
from compgraph.data import DataLoader, TensorDataset, load_dataset
from compgraph.train.checkpoint import (describe_damaged, list_checkpoints, save_checkpoint,
                                        scan_checkpoints)
from compgraph.train.config import TrainConfig, write_config
from compgraph.train.errors import (DamagedRunError, DivergedError, ResumeMismatchError,
                                    RunExistsError)
from compgraph.train.metrics import write_metrics
from compgraph.train.models import IMAGE_SHAPE, build_model
from compgraph.train.errors import PlotUnavailable
from compgraph.train.plot import CURVES_FILE, plot_run
from compgraph.train.progress import epoch_progress

__all__ = ["load_images", "evaluate", "make_optimizer",
           "train", "EVAL_BATCH"]

EVAL_BATCH = 1000


def load_images(name: str, split: str, data_dir=None, limit=None, log=None):
    """``(x, y)``: float32 images N x 1 x 28 x 28 scaled to [0, 1], int64 labels.

    Converted once, up front, so that batches are plain slices of one array.
    """
    images, labels = load_dataset(name, split, data_dir=data_dir, log=log)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = images.reshape((len(images),) + IMAGE_SHAPE).astype(np.float32)
    x *= np.float32(1 / 255)
    return x, np.ascontiguousarray(labels, dtype=np.int64)


def evaluate(model, x, y, batch_size: int = EVAL_BATCH):
    """``(error_rate, mean_loss)`` of ``model`` on images ``x`` and labels ``y``."""
    was_training = model.training
    model.eval()
    wrong, loss_sum = 0, 0.0
    try:
        with compgraph.no_grad():
            for start in range(0, len(x), batch_size):
                xb, yb = x[start:start + batch_size], y[start:start + batch_size]
                logits = model(compgraph.from_numpy(xb))
                loss_sum += compgraph.cross_entropy(logits, compgraph.from_numpy(yb),
                                                    reduction="sum").item()
                wrong += int(np.count_nonzero(logits.numpy().argmax(axis=1) != yb))
    finally:
        model.train(was_training)
    n = max(len(x), 1)
    return wrong / n, loss_sum / n


def make_optimizer(config: TrainConfig, parameters):
    if config.optimizer == "adam":
        return optim.Adam(parameters, lr=config.lr)
    return optim.SGD(parameters, lr=config.lr, momentum=config.momentum)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train(config: TrainConfig, out, resume: bool = False, progress: bool = True,
          plot: bool = True, echo=print, log=_stderr, distributed: bool = False) -> list[dict]:
    """Train ``config`` into the run folder ``out``; return the metrics of every epoch.

    With ``resume``, continue from the newest complete checkpoint in ``out``
    (whose config must match ``config`` except for ``epochs`` and
    ``data_dir``); without it, ``out`` must not hold checkpoints yet.
    ``echo`` gets the per-epoch summary lines, ``log`` everything else.
    With ``plot``, ``out/curves.png`` is drawn at the end (if matplotlib is installed).
    With ``distributed`` (under ``mpirun -np N``), the ranks share each batch
    (compgraph.distributed.training); rank 0 alone prints and writes ``out``.
    """
    out = os.fspath(out)
    dist = None
    if distributed:
        from compgraph.distributed import training as dist
        dist.start()
        if not dist.is_main():
            echo = log = dist.quiet
            progress = plot = False
    main = dist is None or dist.is_main()
    found = _resume_point(out, log) if resume else None
    if not resume and list_checkpoints(out):
        raise RunExistsError(
            f"{out} already holds a run ({os.path.basename(list_checkpoints(out)[-1][1])}); "
            "pass --resume to continue it, or choose another --out")
    if found is not None:  # before the data loads: a mismatch should fail at once
        _check_same_run(TrainConfig.from_json(found[1]["config"]), config, found[0])

    x_train, y_train = load_images(config.data, "train", config.data_dir, config.limit, log)
    x_test, y_test = load_images(config.data, "test", config.data_dir, None, log)
    os.makedirs(out, exist_ok=True)   # after the data: a run that cannot start leaves no folder

    cg_random.manual_seed(config.seed)
    model = build_model(config.model, config.hidden, config.activation)
    optimizer = make_optimizer(config, model.parameters())
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=config.batch_size,
                        shuffle=True, seed=config.seed)
    history: list[dict] = []
    start = 1
    if found is not None:
        path, state = found
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        loader.load_state_dict(state["loader"])
        cg_random.set_rng_state(state["rng"])
        history = [dict(m) for m in state["metrics"]]
        start = int(state["epoch"]) + 1
        log(f"resuming {out} from {os.path.basename(path)} (epoch {start - 1} of {config.epochs} done)")
    elif resume:
        log(f"no checkpoint in {out} yet; starting from epoch 1")
    # every rank loaded the same checkpoint; wrapping also broadcasts rank 0's weights
    ddp = dist.wrap(model) if dist is not None else None

    if main:
        write_config(out, config)
        write_metrics(out, history)  # drop records of an epoch whose checkpoint never landed
    criterion = nn.CrossEntropyLoss()
    for epoch in range(start, config.epochs + 1):
        loader.set_epoch(epoch - 1)
        set_learning_rate(optimizer, epoch_learning_rate(config, epoch))
        desc = f"epoch {epoch}/{config.epochs}"
        if dist is None:
            train_loss, seconds = _train_epoch(model, criterion, optimizer, loader, desc, progress)
        else:
            train_loss, seconds = dist.train_epoch(ddp, criterion, optimizer, loader, x_train,
                                                   y_train, config.batch_size, desc, progress)
        eval_start = time.perf_counter()
        if dist is None:
            test_error, test_loss = evaluate(model, x_test, y_test)
        else:
            test_error, test_loss = dist.evaluate(evaluate, model, x_test, y_test)
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "test_error": test_error,
            "test_loss": test_loss,
            "seconds": seconds,
            "examples_per_s": len(x_train) / seconds if seconds > 0 else None,
            "eval_seconds": time.perf_counter() - eval_start,
        }
        history.append(record)
        if main:
            write_metrics(out, history)
            save_checkpoint(out, epoch, config=config, model=model, optimizer=optimizer,
                            loader=loader, rng_state=cg_random.get_rng_state(), metrics=history)
        echo(f"epoch {epoch:3d}/{config.epochs}  train loss {train_loss:.4f}  "
             f"test error {100 * test_error:5.2f}%  test loss {test_loss:.4f}  "
             f"{seconds:6.1f} s  {record['examples_per_s'] or 0:,.0f} ex/s")
    if plot:
        _plot_curves(out, log)
    return history


def _resume_point(out: str, log):
    """The newest checkpoint that loads, as ``(path, state)``, or None in a fresh folder.

    A checkpoint that does not load and is newer than the one resumed from would be
    overwritten when the run reaches its epoch (all of them, when none loads).  It may
    hold the only copy of that progress (a file of a newer compgraph, a disk error
    that can be repaired), so this refuses rather than guess: the user moves the files
    aside, after which the resume starts from what remains, or picks a new --out.
    Files older than the resume point are not even read: the run never writes their
    epochs again.
    """
    found, damaged = scan_checkpoints(out)
    if damaged:
        if found is None:
            start, after = "no checkpoint loads, so it would restart at epoch 1", "start afresh"
        else:
            start = f"the newest checkpoint that loads is {os.path.basename(found[0])}"
            after = f"continue from {os.path.basename(found[0])}"
        raise DamagedRunError(
            f"cannot resume {out}: {start} and overwrite checkpoints that do not load: "
            f"{describe_damaged(damaged)}; they are left untouched: move them out of {out} "
            f"to {after}, or train into a new --out")
    return found


def _plot_curves(out: str, log) -> None:
    try:
        path = plot_run(out)
    except PlotUnavailable as exc:
        log(f"skipping {CURVES_FILE}: {exc}")
    else:
        log(f"wrote {path}")


def epoch_learning_rate(config: TrainConfig, epoch: int) -> float:
    """lr * lr_decay ** (epoch - 1): a function of the epoch alone, so a resumed run,
    or one extended with more epochs, uses the rates an uninterrupted run uses."""
    return config.lr * config.lr_decay ** (epoch - 1)


def set_learning_rate(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _train_epoch(model, criterion, optimizer, loader, desc: str, progress: bool):
    """One pass over ``loader``; returns (mean training loss, seconds)."""
    bar = epoch_progress(desc, len(loader.dataset), enabled=progress)
    total, seen = 0.0, 0
    model.train()
    started = time.perf_counter()
    try:
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                raise DivergedError(f"{desc}: the training loss became {value}; "
                                    "try a smaller --lr")
            n = len(yb)
            total += value * n
            seen += n
            bar.update(n, total / seen)
    finally:
        bar.close()
    return total / max(seen, 1), time.perf_counter() - started


# Settings a resumed run may change: more epochs, or the data found elsewhere.
_RESUMABLE_CHANGES = ("epochs", "data_dir")


def _check_same_run(saved: TrainConfig, given: TrainConfig, path: str) -> None:
    saved_d, given_d = saved.to_json(), given.to_json()
    for key in _RESUMABLE_CHANGES:
        saved_d.pop(key), given_d.pop(key)
    diffs = [f"{k}={given_d[k]!r} (the checkpoint has {saved_d[k]!r})"
             for k in saved_d if saved_d[k] != given_d.get(k)]
    if diffs:
        raise ResumeMismatchError(f"cannot resume from {path}: " + ", ".join(diffs))
