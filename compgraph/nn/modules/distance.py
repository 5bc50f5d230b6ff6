"""torch.nn.modules.distance: PyTorch's import path over compgraph.nn (see __init__.py)."""
from . import submodule

__getattr__, __dir__ = submodule("distance")
