"""torch.utils.data.sampler: PyTorch's import path.  The names are looked up, on first use, in
compgraph.utils.data and compgraph.data (compgraph/_reexport.py), so names added there
later appear here too."""
from ..._reexport import reexport

NAMES = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
         "WeightedRandomSampler"]

__getattr__, __dir__ = reexport("compgraph.utils.data.sampler", NAMES,
                                ("compgraph.utils.data", "compgraph.data"))
