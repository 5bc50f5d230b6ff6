"""Samplers as torch.utils.data has them: which example indices a DataLoader visits, in
which order (Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
WeightedRandomSampler) and how they are grouped into batches (BatchSampler).

Random samplers draw from their ``generator=`` (a compgraph.Generator), else from a fresh
generator seeded from the default one at each ``iter``, so compgraph.manual_seed makes a
program's orders repeatable, as torch.manual_seed does.
"""
from __future__ import annotations

import math

import numpy as np

from compgraph.errors import ArgumentError, ArgumentValueError, ShapeError

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "BatchSampler"]


_CHUNK = 1024      # draws with replacement are made this many at a time


def _is_positive_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0


def _fresh_generator(generator):
    """`generator` itself, or a new one seeded by a draw from the default generator."""
    from compgraph.random import Generator, rng
    if generator is not None:
        return generator
    return Generator().manual_seed(int(rng(None).integers(0, 2 ** 63)))


class Sampler:
    """Base class: subclasses define __iter__ (indices) and usually __len__."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler should "
                                  "implement __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices (``num_samples`` of them: whole permutations one
    after another, then part of one), or with ``replacement=True`` independent draws."""

    def __init__(self, data_source, replacement: bool = False, num_samples=None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise ArgumentError(f"RandomSampler: replacement should be a boolean value, but "
                                f"got replacement={replacement!r}")
        if num_samples is not None and not _is_positive_int(num_samples):
            raise ArgumentValueError(f"RandomSampler: num_samples should be a positive "
                                     f"integer value, but got num_samples={num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self):
        # lazily, a chunk at a time: minGPT asks for num_samples=1e10 and takes a few batches
        from compgraph.sampling import randint, randperm
        n, k = len(self.data_source), self.num_samples
        gen = _fresh_generator(self.generator)
        if self.replacement:
            if n == 0:
                raise ShapeError("RandomSampler: cannot draw with replacement from an empty "
                                 "dataset")
            for start in range(0, k, _CHUNK):
                yield from randint(0, n, (min(_CHUNK, k - start),), generator=gen)._value.tolist()
            return
        for _ in range(k // n if n else 0):
            yield from randperm(n, generator=gen)._value.tolist()
        if n and k % n:
            yield from randperm(n, generator=gen)._value[:k % n].tolist()

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        from compgraph.sampling import randperm
        order = randperm(len(self.indices), generator=_fresh_generator(self.generator))
        return iter([self.indices[i] for i in order._value.tolist()])

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement: bool = True, generator=None):
        if not _is_positive_int(num_samples):
            raise ArgumentValueError(f"WeightedRandomSampler: num_samples should be a positive "
                                     f"integer value, but got num_samples={num_samples!r}")
        if not isinstance(replacement, bool):
            raise ArgumentValueError(f"WeightedRandomSampler: replacement should be a boolean "
                                     f"value, but got replacement={replacement!r}")
        from compgraph.data.loader import _as_numpy
        from compgraph.tensor import from_numpy
        w = _as_numpy(weights).astype(np.float64)
        if w.ndim != 1:
            raise ShapeError(f"WeightedRandomSampler: weights should be a 1d sequence but "
                             f"given weights have shape {tuple(w.shape)}")
        self.weights = from_numpy(w)
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        from compgraph.sampling import multinomial
        picks = multinomial(self.weights, self.num_samples, self.replacement,
                            generator=self.generator)
        return iter(picks._value.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter unless
    ``drop_last``."""

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if not _is_positive_int(batch_size):
            raise ArgumentValueError(f"BatchSampler: batch_size should be a positive integer "
                                     f"value, but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):
            raise ArgumentValueError(f"BatchSampler: drop_last should be a boolean value, but "
                                     f"got drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)
