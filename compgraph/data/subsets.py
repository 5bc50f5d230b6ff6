"""Dataset (the base class), Subset, ConcatDataset and random_split, as torch.utils.data
has them.  DataLoader only needs len() and indexing, so these are plain wrappers."""

from __future__ import annotations

import bisect
import math

import numpy as np

from compgraph.errors import ArgumentError, ArgumentValueError, BoundsError

__all__ = ["Dataset", "IterableDataset", "Subset", "ConcatDataset", "random_split"]


class Dataset:
    """Subclass it and define __getitem__ (and __len__, which DataLoader needs)."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset should "
                                  "implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of examples: subclass it and define __iter__; DataLoader batches what it
    yields, in order (no sampler, no shuffle)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset "
                                  "should implement __iter__")


class Subset(Dataset):
    """The examples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[idx]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if not -n <= idx < n:
            raise BoundsError(f"ConcatDataset index {idx} is out of range for {n} examples")
        idx %= n
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][idx - start]


def random_split(dataset, lengths, generator=None):
    """Split into non-overlapping Subsets of the given lengths, or of fractions summing to
    1 (floor(n * f) each, the remainder handed out one by one from the first); the
    permutation comes from `generator` (a compgraph.Generator, a numpy Generator or an int
    seed), else from the
    generator compgraph.manual_seed seeds."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(
            isinstance(v, int) for v in lengths):
        if any(not 0 <= f <= 1 for f in lengths):
            raise ArgumentValueError(f"random_split: fractions must be in [0, 1], got {lengths}")
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in lengths):
        raise ArgumentError(f"random_split: lengths must be non-negative ints or fractions "
                            f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ArgumentValueError(f"Sum of input lengths ({sum(lengths)}) does not equal the "
                                 f"length of the input dataset ({n})!")
    from compgraph.random import Generator
    if generator is None or isinstance(generator, Generator):
        from compgraph.random import rng as stream
        rng = stream(generator)
    elif isinstance(generator, np.random.Generator):
        rng = generator
    else:
        rng = np.random.default_rng(generator)
    order = rng.permutation(n).tolist()
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, order[start:start + size]))
        start += size
    return out
