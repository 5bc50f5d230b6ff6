"""One exception base for everything compgraph raises on purpose.

Each error also subclasses the builtin a Python user would expect (ValueError for bad
shapes and values, TypeError for wrong kinds of argument, RuntimeError for misuse of the
graph), so `except ValueError` keeps working around compgraph code.
"""


class CompgraphError(Exception):
    """Base of every error compgraph raises on purpose."""


class ShapeError(CompgraphError, ValueError):
    """Operands whose shapes do not fit the op: the message names op, shapes, what fits."""


class BoundsError(CompgraphError, IndexError):
    """An index or a class label outside the range of the dimension it indexes."""


class DomainError(CompgraphError, ValueError):
    """Values outside what the op is defined for (probabilities outside [0, 1])."""


class DTypeError(CompgraphError, TypeError):
    """A dtype the op or the request cannot take (e.g. requires_grad on integers)."""


class ArgumentError(CompgraphError, TypeError):
    """An argument of the wrong kind (not a tensor, not a number)."""


class GraphError(CompgraphError, RuntimeError):
    """Misuse of the graph: backward twice without retain_graph, non-scalar backward, ..."""


class AnomalyError(CompgraphError, FloatingPointError):
    """Raised under detect_anomaly() by the first op that produced NaN or Inf."""


class DeviceError(CompgraphError, RuntimeError):
    """Arrays on different devices in one op, or a device that is not available."""


class TraceError(CompgraphError, RuntimeError):
    """compile() met something a replayed trace cannot reproduce (value-dependent control
    flow, random numbers drawn inside the traced function)."""
