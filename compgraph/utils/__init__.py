"""compgraph.utils: `compgraph.utils.data` as torch.utils.data.

Imported on first use: it brings in compgraph.data (downloads, checksums, gzip), which
`import compgraph` itself does not need."""
import importlib


def __getattr__(name):
    if name == "data":
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module 'compgraph.utils' has no attribute {name!r}")
