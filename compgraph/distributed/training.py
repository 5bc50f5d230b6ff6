"""What ``compgraph train --distributed`` adds to the training loop (compgraph/train/loop.py).

Kept here so the loop changes by a few lines: the loop calls ``start``,
``wrap``, ``train_epoch`` and ``evaluate`` instead of its one-process
versions, and writes files only where ``is_main()``.

The run stays a function of its config alone, whatever the number of ranks:
``--batch-size`` is the global batch; step ``k`` of epoch ``e`` trains on the
batch that a one-process run trains on (same permutation of (seed, e), dealt
across the ranks); gradients are weighted by examples; so a checkpoint
written by N ranks resumes on M ranks, or on one.
"""

from __future__ import annotations

import math
import time

import numpy as np

import compgraph
from compgraph.distributed import comm
from compgraph.distributed.sampler import DistributedSampler

__all__ = ["start", "is_main", "quiet", "wrap", "train_epoch", "evaluate"]

is_main = comm.is_main


def start():
    """MPI up; an uncaught exception on any rank aborts the job."""
    return comm.init()


def quiet(message: str) -> None:
    """The echo/log of ranks other than 0: one copy of each line is enough."""


def wrap(model, bucket_size_mb: float = 25.0):
    """The model wrapped for gradient averaging; every rank now holds rank 0's weights."""
    from compgraph.distributed.ddp import DistributedDataParallel
    return DistributedDataParallel(model, bucket_size_mb=bucket_size_mb)


def train_epoch(ddp, criterion, optimizer, loader, x, y, batch_size: int, desc: str,
                progress: bool):
    """One epoch of this rank's share; returns (mean training loss over all ranks, seconds).

    ``loader`` (a compgraph.data.DataLoader) supplies the seed and the epoch,
    and is advanced as ``iter(loader)`` would be, so the checkpoint's loader
    state is the one-process run's.
    """
    from compgraph.train.errors import DivergedError
    from compgraph.train.progress import epoch_progress

    sampler = DistributedSampler(len(x), shuffle=loader.shuffle, seed=loader.seed)
    sampler.set_epoch(loader.epoch)
    loader.set_epoch(loader.epoch + 1)
    bar = epoch_progress(desc, len(x), enabled=progress)
    total, seen = 0.0, 0
    ddp.train()
    started = time.perf_counter()
    try:
        for idx, global_n in zip(sampler.batches(batch_size), sampler.global_batch_sizes(batch_size)):
            optimizer.zero_grad()
            ddp.set_step_weight(len(idx), global_n)
            if len(idx):   # an empty share (end of epoch) still joins synchronize()
                loss = criterion(ddp(compgraph.from_numpy(x[idx])), compgraph.from_numpy(y[idx]))
                loss.backward()
                value = loss.item()
                if not math.isfinite(value):
                    raise DivergedError(f"{desc}: the training loss became {value} on rank "
                                        f"{comm.rank()}; try a smaller --lr")
                total += value * len(idx)
                seen += len(idx)
            ddp.synchronize()
            optimizer.step()
            bar.update(global_n, total / max(seen, 1))
    finally:
        bar.close()
    seconds = time.perf_counter() - started
    loss_sum, count = comm.all_reduce_sum(np.array([total, seen]), "train loss")
    return loss_sum / max(count, 1), seconds


def evaluate(evaluate_fn, model, x, y):
    """``evaluate_fn(model, x, y)`` -> (error, loss) on this rank's share of the test set,
    combined into the whole test set's (a mean weighted by each share's size)."""
    r, n = comm.rank(), comm.world_size()
    xs, ys = x[r::n], y[r::n]
    error, loss = evaluate_fn(model, xs, ys) if len(xs) else (0.0, 0.0)
    both = comm.all_reduce_mean(np.array([error, loss]), weight=len(xs), what="test metrics")
    return float(both[0]), float(both[1])
