"""Sample inputs for every op in the table, used by the generated tests.

Each entry maps an op name to a list of cases; a case is (inputs, attrs) where each input
is a spec: a shape (random normal float64 values), or a tagged spec:
  ("pos", shape)   positive values (log, sqrt, pow's base)
  ("int", shape, n) integers in 0..n-1 (class indices; not differentiated)
  ("bool", shape)  a random mask (not differentiated)
  ("away", shape)  values kept away from 0 (abs, relu kinks; max/min ties)
  ("prob", shape)  rows that sum to 1
  ("unit", shape)  values in (0, 1): probabilities
Broadcasting shapes, batched shapes and 0-d/1-element shapes are part of the sweep.
"""
import numpy as np

BIN = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (2, 3)), ((5,), (1,))]


def binary(kind_a=None, kind_b=None):
    return [(((kind_a, a) if kind_a else a, (kind_b, b) if kind_b else b), {}) for a, b in BIN]


UN = [(3, 4), (5,), (), (2, 3, 2)]


def unary(kind=None, **attrs):
    return [(((kind, s) if kind else s,), attrs) for s in UN]


REDUCE = [((3, 4), {"axis": None, "keepdims": False}), ((3, 4), {"axis": 1, "keepdims": False}),
          ((2, 3, 4), {"axis": (0, 2), "keepdims": True}), ((2, 3, 4), {"axis": -1, "keepdims": True})]


def reduce(kind=None, **extra):
    return [(((kind, s) if kind else s,), {**a, **extra}) for s, a in REDUCE]


CASES = {
    "add": binary(), "sub": binary(), "mul": binary(),
    "div": binary(None, "away"),
    "pow": binary("pos") + [((("pos", (3,)), ("const", 2.0)), {})],
    "maximum": binary("away", "away"), "minimum": binary("away", "away"),
    "eq": binary(), "ne": binary(), "lt": binary(), "le": binary(), "gt": binary(), "ge": binary(),
    "where": [((("bool", (3, 4)), (3, 4), (4,)), {}), ((("bool", (4,)), (3, 4), ()), {})],
    "neg": unary(), "exp": unary(), "log": unary("pos"), "log1p": unary("pos"),
    "sqrt": unary("pos"), "abs": unary("away"), "sign": unary("away"),
    "sin": unary(), "cos": unary(),
    "clip": [(((3, 4),), {"min": -0.5, "max": 0.5}), (((5,),), {"min": None, "max": 0.2})],
    "sigmoid": unary(), "tanh": unary(), "relu": unary("away"),
    "leaky_relu": unary("away", negative_slope=0.1), "elu": unary("away", alpha=1.3),
    "softplus": unary(), "gelu": unary() + unary(approximate="tanh"), "gelu_cdf": unary(),
    "sum": reduce(), "mean": reduce(), "max": reduce("distinct"), "min": reduce("distinct"),
    "prod": reduce("away") + [((("one_zero", (3, 4)),), {"axis": 1, "keepdims": False}),
                              ((("one_zero", (5,)),), {"axis": None, "keepdims": False})], "var": reduce(correction=1) + reduce(correction=0),
    "std": reduce(correction=1), "logsumexp": reduce(),
    "argmax": reduce("distinct")[:2], "argmin": reduce("distinct")[:2],   # one axis or all
    "softmax": [(((3, 4),), {"axis": -1}), (((2, 3, 4),), {"axis": 1}), (((5,),), {"axis": 0})],
    "log_softmax": [(((3, 4),), {"axis": -1}), (((2, 3, 4),), {"axis": 0})],
    "matmul": [(((3, 4), (4, 5)), {}), (((4,), (4, 5)), {}), (((3, 4), (4,)), {}),
               (((4,), (4,)), {}), (((2, 3, 4), (4, 5)), {}), (((2, 1, 3, 4), (5, 4, 2)), {}),
               (((4,), (2, 4, 3)), {}), (((2, 3, 4), (4,)), {})],
    "mm": [(((3, 4), (4, 5)), {})],
    "linear": [(((5, 3), (4, 3), (4,)), {}), (((3,), (4, 3), (4,)), {}),
               (((2, 5, 3), (4, 3), (4,)), {}), (((5, 3), (4, 3), ()), {})],
    "mv": [(((3, 4), (4,)), {})],
    "dot": [(((4,), (4,)), {})],
    "outer": [(((3,), (4,)), {})],
    "einsum": [(((3, 4), (4, 5)), {"subscripts": "ij,jk->ik"}),
               (((2, 3, 4), (3, 5)), {"subscripts": "mnr,nk->mrk"}),   # the mode-n product
               (((3, 4),), {"subscripts": "ij->i"}),
               (((3,), (4,), (3, 4)), {"subscripts": "i,j,ij->"}),
               (((2, 3),), {"subscripts": "ij->ji"})],
    "reshape": [(((3, 4),), {"shape": (2, 6)}), (((2, 3, 4),), {"shape": (-1, 4)}),
                (((6,),), {"shape": (1, 6, 1)})],
    "permute_dims": [(((3, 4),), {"axes": (1, 0)}), (((2, 3, 4),), {"axes": (2, 0, 1)})],
    "broadcast_to": [(((3, 1),), {"shape": (2, 3, 4)}), (((4,),), {"shape": (3, 4)})],
    "getitem": [(((5, 4),), {"index": (slice(1, 4),)}),
                (((5, 4),), {"index": (slice(None), 2)}),
                (((5, 4),), {"index": (np.array([0, 2, 2, 4]),)}),           # repeated rows
                (((5, 4),), {"index": (np.array([0, 1, 1]), np.array([3, 0, 0]))}),
                (((5, 4),), {"index": (np.array([True, False, True, False, True]),)}),
                (((2, 3, 4),), {"index": (Ellipsis, None, 1)})],
    "index_put": [(((5, 4), (2, 4)), {"index": (slice(1, 3),)}),
                  (((5, 4), (4,)), {"index": (np.array([0, 3]),)}),          # broadcast value
                  (((5, 4), ()), {"index": (np.array([True, False, True, False, True]),)}),
                  (((5, 4), (2,)), {"index": (np.array([0, 1]), np.array([3, 0]))})],
    "scatter_add": [(((3,),), {"index": (np.array([0, 2, 2]),), "shape": (4,)}),
                    (((2, 4),), {"index": (slice(1, 3),), "shape": (5, 4)})],
    "concatenate": [(((2, 3), (4, 3)), {"axis": 0}), (((2, 3), (2, 1), (2, 2)), {"axis": -1})],
    "stack": [(((2, 3), (2, 3)), {"axis": 0}), (((3,), (3,), (3,)), {"axis": 1})],
    "copy": unary(),
    "astype": [(((3, 4),), {"dtype": np.dtype(np.float64)})],
    "to_device": [(((3, 4),), {"device": "cpu"})],
    "lstm_cell": [(((2, 12), (2, 12), (2, 3)), {}), (((12,), (12,), (3,)), {}),
                  (((2, 12), (12,), (2, 3)), {})],
    "lstm_layer": [(((5, 12), (12, 3), (3,), (3,)), {}), (((4, 2, 12), (12, 3), (2, 3), (2, 3)), {})],
    "vanilla_lstm_gates": [(((3,), (4,), (16, 3), (16, 4), (16,)), {}),
                           (((3,), (4,), (16, 3), (16, 4), (16,)), {"forget_bias": 1.0})],
    "vanilla_lstm_c": [(((4,), (16,)), {})],
    "vanilla_lstm_h": [(((4,), (16,)), {})],
    "cross_entropy": [(((4, 5), ("int", (4,), 5)), {"reduction": "mean"}),
                      (((4, 5), ("int", (4,), 5)), {"reduction": "sum"}),
                      (((4, 5), ("int", (4,), 5)), {"reduction": "none"}),
                      (((5,), ("int", (), 5)), {"reduction": "mean"}),
                      (((3, 5), ("prob", (3, 5))), {"reduction": "mean"})],
    "binary_cross_entropy": [((("unit", (3, 4)), ("unit", (3, 4))), {}),
                             ((("unit", (5,)), ("unit", (5,))), {}),
                             ((("unit", ()), ("unit", ())), {})],
    "dynet_binary_log_loss": [((("unit", (3, 4)), ("unit", (3, 4))), {}),
                              ((("unit", (5,)), ("unit", (5,))), {})],
}

INTS = [((("int", (3, 4), 8), ("int", (3, 4), 8)), {}), ((("int", (3, 4), 8), ("int", (4,), 8)), {}),
        ((("bool", (3, 4)), ("bool", (4,))), {}), ((("bool", (5,)), ("int", (5,), 4)), {})]

CASES.update({
    "bitwise_and": INTS, "bitwise_or": INTS, "bitwise_xor": INTS,
    "bitwise_not": [((("int", (3, 4), 8),), {}), ((("bool", (5,)),), {})],
    "floor_divide": binary(None, "away"), "remainder": binary(None, "away"),
    "floor": unary(), "ceil": unary(), "trunc": unary(),
    "round": unary() + [(((3, 4),), {"decimals": 1})],
    "isnan": [((("special", (3, 4)),), {})], "isinf": [((("special", (3, 4)),), {})],
    "isfinite": [((("special", (3, 4)),), {})],
    "any": reduce("bool") + reduce("sparse"), "all": reduce("bool") + reduce("sparse"),
    "vector_norm": (reduce(ord=2) + reduce("away", ord=1) + reduce(ord=3)
                    + reduce("distinct", ord=float("inf"))[:2] + reduce("distinct", ord=-float("inf"))[:2]
                    + reduce(ord=0)[:2]
                    # the zero vector: PyTorch's gradient there is 0, as central differences give
                    + [((("zeros", (4,)),), {"ord": 2, "axis": None, "keepdims": False}),
                       ((("zeros", (3, 4)),), {"ord": 3, "axis": 1, "keepdims": True})]),
    "cumsum": [(((3, 4),), {"axis": 1}), (((5,),), {"axis": 0}), (((2, 3, 4),), {"axis": -1})],
    "cumprod": [((("away", (3, 4)),), {"axis": 1}), ((("away", (2, 3, 4)),), {"axis": 0}),
                ((("zeros_in", (3, 5)),), {"axis": 1}), ((("zeros_in", (6,)),), {"axis": 0})],
    "tril": [(((4, 4),), {"k": 0}), (((3, 5),), {"k": 1}), (((2, 3, 4),), {"k": -1})],
    "triu": [(((4, 4),), {"k": 0}), (((3, 5),), {"k": -1}), (((2, 3, 4),), {"k": 2})],
    "flip": [(((3, 4),), {"axis": (0,)}), (((2, 3, 4),), {"axis": (0, 2)}), (((5,),), {"axis": (-1,)})],
    # compgraph/ops/special.py
    "lgamma": unary("pos") + [((("away", (3, 4)),), {})], "stop_gradient": unary(), "first_order_only": unary(),
    "inv": [(((3, 3),), {}), (((2, 4, 4),), {})], "logdet": [(((3, 3),), {}), (((2, 2, 2),), {})],
})

# ops with no gradient: only their forward is checked against NumPy
NONDIFF = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin", "bitwise_and", "bitwise_or",
           "bitwise_xor", "bitwise_not", "floor_divide", "isnan", "isinf", "isfinite", "any", "all", "stop_gradient"}


def make_input(spec, rng, dtype=np.float64):
    """An array for one input spec, plus whether it should be differentiated."""
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str):
        kind = spec[0]
        if kind == "const":
            return np.asarray(spec[1], dtype), False
        shape = spec[1]
        if kind == "pos":
            return rng.uniform(0.5, 2.0, shape).astype(dtype), True
        if kind == "away":
            v = rng.uniform(0.3, 2.0, shape) * rng.choice([-1, 1], shape)
            return np.asarray(v, dtype), True
        if kind == "distinct":
            n = int(np.prod(shape))
            return (rng.permutation(n).reshape(shape) * 0.37 + rng.uniform(0, 0.1)).astype(dtype), True
        if kind == "one_zero":        # prod's gradient where an element is exactly zero
            v = rng.uniform(0.5, 2.0, shape)
            v.reshape(-1)[0] = 0.0
            return v.astype(dtype), True
        if kind == "int":
            return rng.integers(0, spec[2], shape).astype(np.int64), False
        if kind == "bool":
            return rng.random(shape) > 0.5, False
        if kind == "unit":            # inside (0, 1), away from its ends
            return rng.uniform(0.05, 0.95, shape).astype(dtype), True
        if kind == "sparse":          # mostly zeros: any/all of floats
            return (rng.standard_normal(shape) * (rng.random(shape) > 0.7)).astype(dtype), False
        if kind == "zeros_in":        # cumprod's gradient at exact zeros, one or two per row
            v = rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)
            rows = v.reshape(-1, shape[-1])
            for r in rows:
                r[rng.permutation(len(r))[:1 + len(r) % 2]] = 0.0
            return v.astype(dtype), True
        if kind == "zeros":
            return np.zeros(shape, dtype), True
        if kind == "wide":            # across the corners of the hard activations (at +-3)
            return rng.uniform(-5, 5, shape).astype(dtype), True
        if kind == "above1":          # arccosh's domain
            return rng.uniform(1.2, 3.0, shape).astype(dtype), True
        if kind == "special":         # some nan, inf and -inf among ordinary numbers
            v = rng.standard_normal(shape)
            flat = v.reshape(-1)
            flat[rng.permutation(flat.size)[:3]] = [np.nan, np.inf, -np.inf]
            return v.astype(dtype), False
        if kind == "prob":
            p = rng.random(shape) + 0.1
            return (p / p.sum(-1, keepdims=True)).astype(dtype), True
        raise ValueError(kind)
    return rng.standard_normal(spec).astype(dtype), True


# the convolution ops declare their cases beside the layers that use them
from tests.nn.conv_op_cases import CONV_CASES  # noqa: E402
CASES.update(CONV_CASES)

# PyTorch's wider elementwise surface (compgraph/ops/more_math.py)
from tests.ops.more_cases import MORE_CASES, MORE_NONDIFF  # noqa: E402
CASES.update(MORE_CASES)
NONDIFF |= MORE_NONDIFF

# the real-model kernels (compgraph/ops/norm.py)
from tests.ops.model_cases import MODEL_CASES  # noqa: E402
CASES.update(MODEL_CASES)
