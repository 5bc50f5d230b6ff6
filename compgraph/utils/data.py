"""torch.utils.data's everyday names over compgraph.data: Dataset, TensorDataset, Subset,
ConcatDataset, random_split, DataLoader, default_collate."""
from ..data.loader import DataLoader, TensorDataset, default_collate  # noqa: F401
from ..data.subsets import ConcatDataset, Dataset, Subset, random_split  # noqa: F401

__all__ = ["ConcatDataset", "DataLoader", "Dataset", "Subset", "TensorDataset",
           "default_collate", "random_split"]

# PyTorch's submodule paths (torch.utils.data.dataloader, .dataset, .sampler): the files in
# compgraph/utils/_data/, importable under this module's name through its __path__
import importlib as _importlib  # noqa: E402
import os as _os  # noqa: E402

__path__ = [_os.path.join(_os.path.dirname(__file__), "_data")]
dataloader, dataset, sampler = (_importlib.import_module(f"{__name__}.{m}")
                                for m in ("dataloader", "dataset", "sampler"))
