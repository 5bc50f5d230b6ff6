"""The op table.  Importing this package declares every primitive into OPS."""
from . import conv, elementwise, linalg, loss, recurrent, reduce, shape, special  # noqa: F401  (fill OPS)
from . import more_math  # noqa: F401,E402  (PyTorch's wider elementwise surface)
from . import norm  # noqa: F401,E402  (layer_norm as one node)
from .table import OPS, Op, defop  # noqa: F401

# PyTorch prints no warning for log(0), 0/0 or exp(1000): they are -inf, nan, inf, quietly.
# NumPy's RuntimeWarnings from inside compgraph's own modules are silenced, and only those:
# the user's own NumPy code keeps its warnings, and detect_anomaly() reports NaN and Inf.
import warnings as _warnings  # noqa: E402

_warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"compgraph(\.|$)")
