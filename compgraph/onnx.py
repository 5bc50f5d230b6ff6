"""torch.onnx: importable, as programs import it, but compgraph writes no ONNX files.

export() raises UnsupportedError (a NotImplementedError) naming what compgraph can save
instead, rather than failing later on a missing attribute."""
from .errors import UnsupportedError


def export(model, args=(), f=None, *unused, **kwargs):
    raise UnsupportedError("torch.onnx.export: compgraph cannot export a model to ONNX; save "
                           "its weights with compgraph.save(model.state_dict(), path) and "
                           "export from PyTorch, which loads them")


dynamo_export = export


def is_in_onnx_export():
    """Always False: compgraph never runs an ONNX export."""
    return False
