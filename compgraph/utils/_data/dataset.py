"""torch.utils.data.dataset: PyTorch's import path.  The names are looked up, on first use, in
compgraph.utils.data and compgraph.data (compgraph/_reexport.py), so names added there
later appear here too."""
from ..._reexport import reexport

NAMES = ["Dataset", "IterableDataset", "TensorDataset", "StackDataset", "ConcatDataset",
         "ChainDataset", "Subset", "random_split"]

__getattr__, __dir__ = reexport("compgraph.utils.data.dataset", NAMES,
                                ("compgraph.utils.data", "compgraph.data"))
