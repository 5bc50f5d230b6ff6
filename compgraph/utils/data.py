"""torch.utils.data's everyday names over compgraph.data: Dataset, TensorDataset, Subset,
ConcatDataset, random_split, DataLoader, default_collate."""
from ..data.loader import DataLoader, TensorDataset, default_collate  # noqa: F401
from ..data.subsets import ConcatDataset, Dataset, Subset, random_split  # noqa: F401

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset",
           "default_collate", "random_split"]
