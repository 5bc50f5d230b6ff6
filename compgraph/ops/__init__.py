"""The op table.  Importing this package declares every primitive into OPS."""
from . import conv, elementwise, linalg, loss, recurrent, reduce, shape, special  # noqa: F401  (fill OPS)
from .table import OPS, Op, defop  # noqa: F401
