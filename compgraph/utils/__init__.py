"""compgraph.utils: `compgraph.utils.data` as torch.utils.data."""
from . import data  # noqa: F401
