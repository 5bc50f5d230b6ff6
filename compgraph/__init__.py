"""compgraph: computation graphs and reverse-mode automatic differentiation.

Three ways in, one engine underneath:
  import compgraph as torch            PyTorch-style eager tensors
  g = compgraph.Graph(); g.add(a, b)   the tutorial's explicit graph, forward(g)/backward(g)
  import compgraph.dynet as dy         DyNet-style lazy expressions with automatic batching
"""
from . import heap
heap.tune()              # array-sized blocks stay on the heap (heap.py: why)
from . import backend, ops  # noqa: F401
from .autograd import (detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad,  # noqa: F401
                       set_grad_enabled)
from .backend import (bool_, float16, float32, float64, get_default_dtype, int8, int16,  # noqa: F401
                      int32, int64, set_default_dtype, uint8)
from .errors import (AnomalyError, ArgumentError, ArgumentValueError, BoundsError,  # noqa: F401
                     CheckpointError, CompgraphError, DataError, DeviceError, DimError,
                     DTypeError, GraphError, IntegerDivisionError, MissingFileError,
                     MissingKeyError, PathIsFolderError, ShapeError, UnsupportedDTypeError)
from .functional import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .graph import Graph, backward, forward, one_hot  # noqa: F401
from .aten import binary_cross_entropy_with_logits, embedding  # noqa: F401,E402  (ATen's order)
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from . import methods  # noqa: F401  (attaches operators and methods to Tensor)
from . import cuda, nn, optim  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from . import utils  # noqa: F401,E402
from .serialization import device, load, save  # noqa: F401,E402
from .random import (Generator, default_generator, get_rng_state, initial_seed,  # noqa: F401
                     manual_seed, seed, set_rng_state)
from .executors.replay import compile  # noqa: F401
from .executors.autobatch import autobatch  # noqa: F401
from .viz import draw, explain, profile  # noqa: F401
from .tensor import Tensor, as_tensor, from_numpy, tensor  # noqa: F401
from .legacy import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,  # noqa: F401
                     HalfTensor, IntTensor, LongTensor, ShortTensor)
from . import accelerator, onnx  # noqa: F401,E402
from .parallel import (get_num_interop_threads, get_num_threads,  # noqa: F401,E402
                       set_num_interop_threads, set_num_threads)

# PyTorch's dtype aliases
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16
bool = bool_

__version__ = "0.1.0"
