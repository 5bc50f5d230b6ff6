"""torch.utils.data's names over compgraph.data: datasets, samplers, DataLoader, collate."""
from ..data.loader import (DataLoader, TensorDataset, default_collate,  # noqa: F401
                           default_convert, get_worker_info)
from ..data.samplers import (BatchSampler, RandomSampler, Sampler,  # noqa: F401
                             SequentialSampler, SubsetRandomSampler, WeightedRandomSampler)
from ..data.subsets import (ConcatDataset, Dataset, IterableDataset, Subset,  # noqa: F401
                            random_split)

__all__ = ["BatchSampler", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler",
           "TensorDataset", "WeightedRandomSampler", "default_collate", "default_convert",
           "get_worker_info", "random_split"]
