"""torch.utils.data.dataloader: PyTorch's import path.  The names are looked up, on first use, in
compgraph.utils.data and compgraph.data (compgraph/_reexport.py), so names added there
later appear here too."""
from ..._reexport import reexport

NAMES = ["DataLoader", "get_worker_info", "default_collate", "default_convert"]

__getattr__, __dir__ = reexport("compgraph.utils.data.dataloader", NAMES,
                                ("compgraph.utils.data", "compgraph.data"))
