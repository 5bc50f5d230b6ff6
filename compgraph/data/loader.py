"""Datasets over in-memory arrays and a mini-batch loader with PyTorch's semantics.

``DataLoader(shuffle=True)`` shuffles with a generator derived from ``(seed, epoch)``
only, so epoch ``e`` of a run always sees the same order: that is what makes
``set_epoch`` / ``state_dict`` enough to resume a run or to give every worker of a
distributed job the same permutation. Without ``seed=`` the seed is drawn, at first use,
from ``generator=`` or from the default generator, so ``compgraph.manual_seed`` makes a
program's shuffling repeatable, as ``torch.manual_seed`` does.
"""

from __future__ import annotations

import collections.abc
import math

import numpy as np

from compgraph.data.samplers import BatchSampler, RandomSampler, SequentialSampler
from compgraph.data.subsets import Dataset, IterableDataset
from compgraph.errors import (ArgumentError, ArgumentValueError, BoundsError,
                              MissingKeyError, ShapeError)

__all__ = ["TensorDataset", "DataLoader", "default_collate", "default_convert", "get_worker_info"]


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

    Tensors are accepted and stored as their NumPy values; items are tensors, as PyTorch's.
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

    @property
    def tensors(self):
        """The arrays as tensors (torch's TensorDataset.tensors)."""
        return tuple(_to_tensor(a) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        try:
            return tuple(_to_tensor(np.asarray(a[index])) for a in self.arrays)
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


def _stack(arrays):
    try:
        return _to_tensor(np.stack(arrays))
    except ValueError:
        shapes = sorted({a.shape for a in arrays})
        if len(shapes) < 2:
            raise
        raise ShapeError(
            f"default_collate: the samples of a batch must all have one shape to be stacked, "
            f"got shapes {', '.join(map(str, shapes))}; pad them, or pass collate_fn= a "
            "function that batches them") from None


def default_collate(batch):
    """Stack a list of samples into a batch, as torch's default_collate: tensors, NumPy
    arrays and NumPy scalars are stacked along a new first axis (keeping their dtype),
    Python floats become a float64 tensor, ints an int64 one (bools a bool one), strings
    stay a sequence; dicts become dicts, named tuples named tuples, and other tuples and
    lists *lists* of batches, field by field."""
    elem = batch[0]
    if _is_tensor(elem) or isinstance(elem, np.generic):
        return _stack([_as_numpy(s) for s in batch])
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "USO":
            raise ArgumentError(f"default_collate: cannot batch NumPy arrays of dtype "
                                f"{elem.dtype}; pass collate_fn= a function that batches them")
        return _stack([np.asarray(s) for s in batch])
    if isinstance(elem, float):
        return _to_tensor(np.array(batch, np.float64))
    if isinstance(elem, int):
        return _to_tensor(np.array(batch, np.bool_ if all(isinstance(s, bool) for s in batch)
                                   else np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {key: default_collate([s[key] for s in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):     # a named tuple
        return type(elem)(*(default_collate(f) for f in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(s) for s in batch}) != 1:
            raise ShapeError("default_collate: each element in list of batch should be of "
                             f"equal size, got lengths {sorted({len(s) for s in batch})}")
        return [default_collate(f) for f in zip(*batch)]
    raise ArgumentError(f"default_collate: batch must contain tensors, numpy arrays, numbers, "
                        f"dicts or lists; found {type(elem)}")


def default_convert(data):
    """What DataLoader(batch_size=None) applies to each sample: NumPy arrays and scalars
    become tensors, inside dicts and sequences too; everything else is left as it is."""
    if (isinstance(data, np.ndarray) and data.dtype.kind not in "USO"
            or isinstance(data, np.generic)):
        return _to_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(v) for key, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (list, tuple)):
        return [default_convert(v) for v in data]
    return data


def get_worker_info():
    """None: batches are always made in the calling process (torch returns None there too),
    so an IterableDataset that splits its stream per worker yields all of it."""
    return None


def _positive_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ArgumentValueError(f"DataLoader: {name} must be a positive int, got {v!r}")
    return int(v)


class DataLoader:
    """Iterate over ``dataset`` in mini-batches, with torch.utils.data.DataLoader's
    arguments (the same positional order): ``batch_size`` (None: single samples, no
    batching), ``shuffle``, ``sampler`` (the indices, in order), ``batch_sampler`` (lists
    of indices), ``collate_fn`` (list of samples -> batch; ``default_collate``),
    ``drop_last``, ``generator`` (what a shuffle draws its seed from), with PyTorch's
    mutual exclusions. ``num_workers``, ``pin_memory``, ``timeout``... are accepted for
    PyTorch code and change nothing: batches are made in this process.

    compgraph adds ``seed=`` (fixes the shuffling; else drawn once, at first use, from
    ``generator`` or the default generator, so the loader's ``state_dict()`` can reproduce
    it) and ``collate=`` (``collate_fn``'s other name). Each ``iter(loader)`` is one epoch
    and advances the epoch counter; ``set_epoch(n)`` chooses the epoch the next ``iter``
    uses.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, seed: int | None = None, collate=None):
        if collate is not None and collate_fn is not None:
            raise ArgumentError("DataLoader: pass collate or collate_fn, not both")
        collate = collate if collate is not None else collate_fn
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ArgumentValueError("DataLoader: num_workers option should be non-negative; "
                                     "use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ArgumentValueError("DataLoader: timeout option should be non-negative")
        if num_workers == 0 and persistent_workers:
            raise ArgumentValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if num_workers == 0 and prefetch_factor is not None:
            raise ArgumentValueError("DataLoader: prefetch_factor option could only be specified "
                                     "with num_workers > 0; otherwise set prefetch_factor to None")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ArgumentValueError(f"DataLoader: seed must be a non-negative int or None, "
                                     f"got {seed!r}")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            for name, value in (("shuffle", shuffle), ("sampler", sampler),
                                ("batch_sampler", batch_sampler)):
                if value not in (None, False):
                    raise ArgumentValueError(f"DataLoader with IterableDataset: expected "
                                             f"unspecified {name} option, but got "
                                             f"{name}={value!r}")
        elif not hasattr(dataset, "__getitem__") or (
                sampler is None and batch_sampler is None and not hasattr(dataset, "__len__")):
            raise ArgumentError(f"DataLoader: dataset must support len() and indexing (a "
                                f"TensorDataset, a list, ...), got {type(dataset).__name__}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ArgumentValueError("DataLoader: sampler option is mutually exclusive with "
                                     "shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ArgumentValueError("DataLoader: batch_sampler option is mutually "
                                         "exclusive with batch_size, shuffle, sampler, and "
                                         "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None:
            if drop_last:
                raise ArgumentValueError("DataLoader: batch_size=None option disables "
                                         "auto-batching and is mutually exclusive with "
                                         "drop_last")
        else:
            batch_size = _positive_int("batch_size", batch_size)
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.num_workers, self.pin_memory, self.timeout = int(num_workers), pin_memory, timeout
        self.collate = collate
        self._seed = None if seed is None else int(seed)
        self.epoch = 0
        # the loader's own shuffle draws from a generator it reseeds from (seed, epoch)
        self._own_shuffle = shuffle and not iterable
        if sampler is None and not iterable:
            if shuffle:
                from compgraph.random import Generator
                self._epoch_generator = Generator()
                sampler = RandomSampler(dataset, generator=self._epoch_generator)
            elif batch_sampler is None:
                sampler = SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and batch_size is not None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, self.drop_last)
        self.batch_sampler = batch_sampler

    @property
    def collate_fn(self):
        if self.collate is not None:
            return self.collate
        return default_collate if self.batch_size is not None or self.batch_sampler is not None \
            else default_convert

    @property
    def seed(self) -> int:
        """The shuffle seed; drawn from ``generator`` (or the default generator) on first use."""
        if self._seed is None:
            from compgraph.random import rng
            self._seed = int(rng(self.generator).integers(0, 2 ** 63))
        return self._seed

    @seed.setter
    def seed(self, value):
        self._seed = int(value)

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        if self.sampler is not None:
            return len(self.sampler)
        n = len(self.dataset)     # an IterableDataset: a TypeError without __len__, as in torch
        if self.batch_size is None:
            return n
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

    def _epoch_stream(self, epoch: int):
        """The NumPy stream of epoch ``epoch``: spawn_key gives each epoch its own
        independent stream from one seed (compgraph.distributed's samplers use the same)."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(epoch,)))

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The example indices epoch ``epoch`` visits, in order (a loader that shuffles
        itself or not at all; a sampler of your own decides its order when iterated)."""
        if self._own_shuffle:
            return self._epoch_stream(epoch).permutation(len(self.dataset))
        if isinstance(self.sampler, SequentialSampler):
            return np.arange(len(self.dataset))
        raise ArgumentError("DataLoader.epoch_order: this loader's order comes from the "
                            "sampler you gave "
                            f"({type(self.sampler or self.batch_sampler).__name__})")

    def __iter__(self):
        # The epoch advances when iteration starts, not lazily at the first
        # batch, so that iter() twice gives two different epochs.
        if self._own_shuffle:
            self._epoch_generator._set_stream(self._epoch_stream(self.epoch), self.seed)
        self.epoch += 1
        if isinstance(self.dataset, IterableDataset):
            return _LoaderIter(self._iterable_batches(), self)
        if self.batch_sampler is None:
            return _LoaderIter((self.collate_fn(self.dataset[i]) for i in self.sampler), self)
        return _LoaderIter(self._batches(iter(self.batch_sampler)), self)

    def _batches(self, index_batches):
        fast = isinstance(self.dataset, TensorDataset) and self.collate is None
        collate = self.collate_fn
        for indices in index_batches:
            if fast:
                # One fancy-index per array instead of a Python loop over
                # examples; it also copies, so a batch never aliases the data.
                rows = np.asarray(indices, dtype=np.int64)
                yield [_to_tensor(a[rows]) for a in self.dataset.arrays]
            else:
                yield collate([self.dataset[int(i)] if isinstance(i, (int, np.integer)) else
                               self.dataset[i] for i in indices])

    def _iterable_batches(self):
        collate = self.collate_fn
        if self.batch_size is None:
            yield from (collate(item) for item in self.dataset)
            return
        batch = []
        for item in self.dataset:
            batch.append(item)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)


class _LoaderIter:
    """One epoch's batches; len() is the loader's, as torch's loader iterators have."""

    __slots__ = ("_batches", "_loader")

    def __init__(self, batches, loader):
        self._batches, self._loader = batches, loader

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self):
        return len(self._loader)
