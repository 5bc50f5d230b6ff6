"""The op table.  Importing this package declares every primitive into OPS."""
from . import conv, elementwise, linalg, loss, recurrent, reduce, shape  # noqa: F401  (fill OPS)
from . import more_math  # noqa: F401,E402  (PyTorch's wider elementwise surface)
from .table import OPS, Op, defop  # noqa: F401
