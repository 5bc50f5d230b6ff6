"""One exception base for everything compgraph raises on purpose.

Each error also subclasses the builtins a Python user would expect (ValueError for bad
shapes and values, TypeError for wrong kinds of argument, RuntimeError for misuse of the
graph), so `except ValueError` keeps working around compgraph code, and the builtin that
PyTorch raises in the same place (shape mismatches, dtype refusals: RuntimeError; a dim out
of range: IndexError), so a PyTorch program's `except RuntimeError` catches them too.
"""


# A dialect may name the user's own call in a message raised below it (the engine names its
# op, "mul", where a DyNet user called cmult).  Namers registered here run when an error is
# made -- never on a path that succeeds.
_namers = []


def add_namer(fn):
    """Register fn(message) -> message, applied to every CompgraphError's message."""
    _namers.append(fn)


class CompgraphError(Exception):
    """Base of every error compgraph raises on purpose."""

    def __init__(self, *args):
        if _namers and args and args[0].__class__ is str:
            msg = args[0]
            for fn in _namers:
                msg = fn(msg)
            args = (msg,) + args[1:]
        super().__init__(*args)


class ShapeError(CompgraphError, ValueError, RuntimeError):
    """Operands whose shapes do not fit the op: the message names op, shapes, what fits."""


class DimError(ShapeError, IndexError):
    """A dim out of range for the tensor's number of dimensions (PyTorch: IndexError)."""


class BoundsError(CompgraphError, IndexError, RuntimeError):
    """An index, a class label or an embedding id outside the range it indexes; the message
    names the index and the range."""


class DTypeError(CompgraphError, TypeError, RuntimeError):
    """A dtype the op or the request cannot take (e.g. requires_grad on integers)."""


class UnsupportedDTypeError(DTypeError, NotImplementedError):
    """A dtype the op has no meaning for (softmax of integers, linspace of bools), which
    PyTorch reports as NotImplementedError."""


class ArgumentError(CompgraphError, TypeError, ValueError):
    """An argument of the wrong kind (not a tensor, not a number, ragged nesting); PyTorch
    raises TypeError for some of these and ValueError for others, so it is both."""


class IntegerDivisionError(CompgraphError, ZeroDivisionError, RuntimeError):
    """Integer division (or remainder) by zero, which PyTorch refuses with a RuntimeError."""


class GraphError(CompgraphError, RuntimeError):
    """Misuse of the graph: backward twice without retain_graph, non-scalar backward, ..."""


class AnomalyError(CompgraphError, FloatingPointError):
    """Raised under detect_anomaly() by the first op that produced NaN or Inf."""


class DeviceError(CompgraphError, RuntimeError):
    """Arrays on different devices in one op, or a device that is not available."""


class TraceError(CompgraphError, RuntimeError):
    """compile() met something a replayed trace cannot reproduce (value-dependent control
    flow, random numbers drawn inside the traced function)."""


class ArgumentValueError(CompgraphError, ValueError, RuntimeError):
    """An argument of the right kind whose value cannot work: a negative learning rate,
    batch_size 0, a schedule period of 0, probabilities outside [0, 1]. The message names
    the argument and what fits. Also a RuntimeError: PyTorch's own checks of argument
    values (multinomial's weights, one_hot's classes) raise that; its Python-level ones
    (optimizers, DataLoader) raise ValueError."""


class MissingKeyError(CompgraphError, KeyError):
    """A dict the caller passed (a state dict, a parameter group) lacks a key it needs."""

    def __str__(self):
        # KeyError's str() is the repr of its argument; a sentence should read as one
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class MissingFileError(CompgraphError, FileNotFoundError):
    """A file or folder the caller named does not exist (to read from, or to write into)."""


class CheckpointError(CompgraphError, ValueError):
    """A checkpoint file is damaged, foreign, or of an unsupported version."""


class DataError(CompgraphError, ValueError):
    """A data file is missing, damaged or of the wrong shape, or no source of a dataset worked."""


class PathIsFolderError(CompgraphError, IsADirectoryError):
    """A file path the caller gave (to read or to write) names a folder."""


class UnsupportedError(CompgraphError, NotImplementedError):
    """A PyTorch feature compgraph knows by name but does not provide (an ONNX export, ...);
    the message says what to use instead."""
