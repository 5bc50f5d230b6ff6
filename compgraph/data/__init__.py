"""Data: IDX files, MNIST/Fashion-MNIST, in-memory datasets and a batch loader."""

from compgraph.data.datasets import cache_dir, load_dataset
from compgraph.data.idx import DataError, read_idx, write_idx
from compgraph.data.loader import DataLoader, TensorDataset

__all__ = [
    "read_idx",
    "write_idx",
    "load_dataset",
    "TensorDataset",
    "DataLoader",
    "cache_dir",
    "DataError",
]
