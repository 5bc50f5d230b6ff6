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

# PyTorch's submodule paths (torch.utils.data.dataloader, .dataset, .sampler): the files in
# compgraph/utils/_data/, importable under this module's name through its __path__
import importlib as _importlib  # noqa: E402
import os as _os  # noqa: E402

__path__ = [_os.path.join(_os.path.dirname(__file__), "_data")]
dataloader, dataset, sampler = (_importlib.import_module(f"{__name__}.{m}")
                                for m in ("dataloader", "dataset", "sampler"))
