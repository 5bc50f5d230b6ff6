"""Which examples each rank trains on: every example exactly once per epoch, no padding.

Epoch ``e`` visits the permutation that ``compgraph.data.DataLoader`` uses for
the same ``(seed, e)`` (so a distributed run and a one-process run see the
same examples in the same global order).  The permutation is cut into
*global* batches of ``batch_size`` examples, and global batch ``k`` is dealt
to the ranks like cards: rank ``r`` gets its positions ``r, r+N, r+2N, ...``.

Consequences, all by construction:

* every example is in exactly one rank's batch, once per epoch (PyTorch's
  DistributedSampler instead repeats examples to even out the ranks; we do
  not, because the issue asks for "each example seen once per epoch");
* every rank runs the same number of steps, ``ceil(n / batch_size)`` (or
  ``n // batch_size`` with drop_last), so the collectives of a step always
  pair up; when the last global batch has fewer examples than ranks, some
  ranks get an *empty* batch for that step and take part with a zero gradient;
* the step's global batch does not depend on the number of ranks, so with
  gradients weighted by examples (``DistributedDataParallel.set_step_weight``)
  N ranks compute the same update as one, and a run can be resumed with a
  different number of ranks.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["DistributedSampler", "epoch_permutation", "shard_indices"]


def epoch_permutation(n: int, epoch: int, seed: int, shuffle: bool = True) -> np.ndarray:
    """The order of epoch ``epoch``: the same one compgraph.data.DataLoader(seed=seed) uses."""
    if not shuffle:
        return np.arange(n)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(epoch,)))
    return rng.permutation(n)


def shard_indices(n: int, batch_size: int, num_replicas: int, rank: int, epoch: int = 0,
                  seed: int = 0, shuffle: bool = True, drop_last: bool = False):
    """This rank's example indices for each step of epoch ``epoch``: a list of int arrays,
    the same length on every rank, some possibly empty (see the module docstring).

    ``batch_size`` is the global batch (all ranks together).
    """
    _check_args(n, num_replicas, rank)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    order = epoch_permutation(n, epoch, seed, shuffle)
    steps = n // batch_size if drop_last else math.ceil(n / batch_size)
    return [order[k * batch_size:(k + 1) * batch_size][rank::num_replicas] for k in range(steps)]


def _check_args(n, num_replicas, rank):
    if n < 0:
        raise ValueError(f"dataset size must be non-negative, got {n}")
    if num_replicas < 1:
        raise ValueError(f"num_replicas must be at least 1, got {num_replicas}")
    if not 0 <= rank < num_replicas:
        raise ValueError(f"rank must be in [0, {num_replicas - 1}], got {rank}")


class DistributedSampler:
    """The indices one rank visits, epoch by epoch (PyTorch's name and arguments).

    ``iter()`` equals the concatenation of ``batches(b)`` when b is a multiple of
    num_replicas; otherwise use ``batches``, which matches the one-process batches.

    ``num_replicas`` and ``rank`` default to the MPI job's (compgraph.distributed
    .comm).  ``iter(sampler)`` gives this rank's indices for the current epoch,
    ``order[rank::num_replicas]``; ``batches(batch_size)`` gives them grouped
    by step, which is what a training loop should use (it keeps the ranks in
    step at the end of an epoch).  ``set_epoch(e)`` before each epoch, as in
    PyTorch, or the order repeats.

    State (``state_dict``) is ``{"epoch", "seed"}``, the same as
    DataLoader's, and holds nothing about ranks: resume with any number.
    """

    def __init__(self, n, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        if num_replicas is None or rank is None:
            from compgraph.distributed import comm
            num_replicas = comm.world_size() if num_replicas is None else num_replicas
            rank = comm.rank() if rank is None else rank
        n = len(n) if hasattr(n, "__len__") else int(n)   # a dataset or its size
        _check_args(n, num_replicas, rank)
        self.n = n
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        if epoch < 0:
            raise ValueError(f"epoch must be non-negative, got {epoch}")
        self.epoch = int(epoch)

    def epoch_order(self) -> np.ndarray:
        """The global order of the current epoch (identical on every rank)."""
        return epoch_permutation(self.n, self.epoch, self.seed, self.shuffle)

    def __iter__(self):
        return iter(self.epoch_order()[self.rank::self.num_replicas].tolist())

    def __len__(self) -> int:
        # positions rank, rank+N, ... below n
        return max(0, math.ceil((self.n - self.rank) / self.num_replicas))

    def num_steps(self, batch_size: int) -> int:
        return self.n // batch_size if self.drop_last else math.ceil(self.n / batch_size)

    def batches(self, batch_size: int):
        """This rank's share of each global batch of ``batch_size`` examples, step by step."""
        return shard_indices(self.n, batch_size, self.num_replicas, self.rank, self.epoch,
                             self.seed, self.shuffle, self.drop_last)

    def global_batch_sizes(self, batch_size: int):
        """How many examples each step's global batch holds (to weight gradients)."""
        sizes = [batch_size] * (self.n // batch_size)
        if not self.drop_last and self.n % batch_size:
            sizes.append(self.n % batch_size)
        return sizes

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        self.set_epoch(state["epoch"])
        self.seed = int(state["seed"])
