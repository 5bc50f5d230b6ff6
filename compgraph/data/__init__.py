"""Data: IDX files, MNIST/Fashion-MNIST, in-memory datasets and a batch loader."""

from compgraph.data.datasets import cache_dir, load_dataset
from compgraph.data.idx import DataError, read_idx, write_idx
from compgraph.data.loader import (DataLoader, TensorDataset, default_collate, default_convert,
                                   get_worker_info)
from compgraph.data.samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                     SubsetRandomSampler, WeightedRandomSampler)
from compgraph.data.subsets import ConcatDataset, Dataset, IterableDataset, Subset, random_split

__all__ = [
    "read_idx",
    "write_idx",
    "load_dataset",
    "TensorDataset",
    "DataLoader",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "Dataset",
    "IterableDataset",
    "Sampler",
    "SequentialSampler",
    "RandomSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
    "BatchSampler",
    "Subset",
    "ConcatDataset",
    "random_split",
    "cache_dir",
    "DataError",
]
