"""Datasets over in-memory arrays and a mini-batch loader with PyTorch's semantics.

``DataLoader`` shuffles with a generator derived from ``(seed, epoch)`` only,
so epoch ``e`` of a run always sees the same order: that is what makes
``set_epoch`` / ``state_dict`` enough to resume a run or to give every worker
of a distributed job the same permutation.
"""

from __future__ import annotations

import math

import numpy as np

from compgraph.data.subsets import Dataset
from compgraph.errors import (ArgumentError, ArgumentValueError, BoundsError,
                              MissingKeyError, ShapeError)

__all__ = ["TensorDataset", "DataLoader", "default_collate"]


def _is_tensor(x) -> bool:
    return type(x).__name__ == "Tensor" or (
        hasattr(x, "_value") and hasattr(x, "requires_grad")
    )


def _as_numpy(x) -> np.ndarray:
    """A NumPy view of an array, a scalar or a compgraph Tensor (copied to host if on GPU)."""
    if _is_tensor(x):
        x = x._value
    if not isinstance(x, np.ndarray) and hasattr(x, "get"):
        x = x.get()  # CuPy array
    return np.asarray(x)


def _to_tensor(arr: np.ndarray):
    """Wrap a batch as a compgraph Tensor; plain NumPy while the engine is missing."""
    try:
        from compgraph.tensor import from_numpy
    except ImportError:
        return arr
    return from_numpy(arr)


class TensorDataset(Dataset):
    """Examples ``i`` of several equally long arrays: ``ds[i] == (a[i], b[i], ...)``.

    Tensors are accepted and stored as their NumPy values; items are NumPy.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ArgumentValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_as_numpy(a) for a in arrays)
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ShapeError(f"TensorDataset: argument {i} is 0-d; every array needs a first dimension")
        sizes = [len(a) for a in self.arrays]
        if len(set(sizes)) != 1:
            raise ShapeError(
                "TensorDataset: all arrays must have the same first dimension, got sizes "
                + ", ".join(f"arrays[{i}]={n}" for i, n in enumerate(sizes))
            )

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        try:
            return tuple(a[index] for a in self.arrays)
        except IndexError as exc:
            # NumPy's message speaks of "axis 0"; say which dataset and how long it is
            n = len(self)
            if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
                raise BoundsError(f"TensorDataset index {index} is out of range for a "
                                      f"dataset of {n} examples (valid: -{n}..{n - 1})") from None
            raise BoundsError(
                f"TensorDataset cannot be indexed with {index!r} ({type(index).__name__}): it "
                f"takes integers in -{n}..{n - 1}, slices or integer arrays (NumPy said: {exc})"
            ) from None


def default_collate(samples):
    """Stack a list of samples into a batch, keeping the samples' structure.

    Tuples/lists become tuples/lists of batches, dicts dicts of batches, and
    arrays, scalars and tensors are stacked along a new first axis and
    returned as a Tensor.
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        fields = [default_collate([s[i] for s in samples]) for i in range(len(first))]
        return tuple(fields) if isinstance(first, tuple) else fields
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    arrays = [_as_numpy(s) for s in samples]
    try:
        return _to_tensor(np.stack(arrays))
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        if len(shapes) < 2:
            raise
        raise ShapeError(
            f"default_collate: the samples of a batch must all have one shape to be stacked, "
            f"got shapes {', '.join(map(str, shapes))}; pad them, or pass collate= a function "
            "that batches them") from None


class DataLoader:
    """Iterate over ``dataset`` in mini-batches.

    Arguments follow ``torch.utils.data.DataLoader``: ``batch_size``,
    ``shuffle`` (a new order each epoch), ``drop_last`` (drop a final short
    batch), ``collate`` (list of samples -> batch; ``default_collate`` if
    None; PyTorch's ``collate_fn`` is the same). ``seed`` fixes the shuffling;
    if None a random seed is drawn once, so the loader's ``state_dict()`` can
    still reproduce it. ``num_workers`` and ``pin_memory`` are accepted for
    PyTorch code and change nothing: batches are made in this process.

    Each ``iter(loader)`` is one epoch and advances the epoch counter;
    ``set_epoch(n)`` chooses the epoch the next ``iter`` uses.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed: int | None = None, collate=None, *,
                 collate_fn=None, num_workers: int = 0, pin_memory: bool = False):
        if collate is not None and collate_fn is not None:
            raise ArgumentError("DataLoader: pass collate or collate_fn, not both")
        collate = collate if collate is not None else collate_fn
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ArgumentValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise ArgumentError(f"DataLoader: dataset must support len() and indexing (a "
                                f"TensorDataset, a list, ...), got {type(dataset).__name__}")
        if seed is None:
            seed = np.random.SeedSequence().entropy
        elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ArgumentValueError(f"DataLoader: seed must be a non-negative int or None, got {seed!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.collate = collate
        self.epoch = 0

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter()`` run epoch ``epoch`` (its shuffle order)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ArgumentValueError(f"DataLoader.set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        """``{"epoch": next epoch to run, "seed": shuffle seed}``."""
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        missing = {"epoch", "seed"} - set(state)
        if missing:
            raise MissingKeyError(f"DataLoader.load_state_dict: missing keys {sorted(missing)}")
        self.set_epoch(state["epoch"])
        self.seed = int(state["seed"])

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The example indices epoch ``epoch`` visits, in order."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        # spawn_key gives each epoch its own independent stream from one seed.
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch,)))
        return rng.permutation(n)

    def __iter__(self):
        # The epoch advances when iteration starts, not lazily at the first
        # batch, so that iter() twice gives two different epochs.
        order = self.epoch_order(self.epoch)
        self.epoch += 1
        return self._batches(order)

    def _batches(self, order: np.ndarray):
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        fast = isinstance(self.dataset, TensorDataset) and self.collate is None
        collate = self.collate or default_collate
        for start in range(0, stop, self.batch_size):
            indices = order[start:start + self.batch_size]
            if fast:
                # One fancy-index per array instead of a Python loop over
                # examples; it also copies, so a batch never aliases the data.
                yield tuple(_to_tensor(a[indices]) for a in self.dataset.arrays)
            else:
                yield collate([self.dataset[int(i)] for i in indices])
