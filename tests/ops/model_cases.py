"""Cases and NumPy references for the fused kernels of the real-model workloads
(compgraph/ops/norm.py: layer_norm; conv2d_bias in ops/conv.py), in the format of tests/ops/cases.py and
tests/ops/reference.py, which wire them in.  MODEL_SMOOTH: second derivatives checked."""
import numpy as np

from tests.nn.conv_op_cases import _CONV, _CONV_1, _CONV_G, CONV_REF

MODEL_CASES = {
    # (x, weight, bias), nd trailing dims normalised
    "layer_norm": [(((3, 4), (4,), (4,)), {"nd": 1, "eps": 1e-5}),
                   (((2, 3, 4), (3, 4), (3, 4)), {"nd": 2, "eps": 1e-5}),
                   (((5,), (5,), (5,)), {"nd": 1, "eps": 0.1}),
                   (((2, 1, 6), (6,), (6,)), {"nd": 1, "eps": 1e-5})],
    # conv2d with its bias in the node (x, weight, bias)
    "conv2d_bias": [(((2, 3, 5, 6), (4, 3, 2, 2), (4,)), _CONV),
                    (((1, 4, 4, 3), (6, 2, 3, 2), (6,)), _CONV_G),
                    (((2, 3, 3, 4), (3, 1, 2, 1), (3,)), _CONV_1)],
}
MODEL_SMOOTH = {"layer_norm", "conv2d_bias"}


def _layer_norm(x, w, b, nd, eps):
    axes = tuple(range(x.ndim - nd, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _conv2d_bias(x, w, b, **attrs):
    return CONV_REF["conv2d"](x, w, **attrs) + b[:, None, None]


MODEL_REF = {"layer_norm": _layer_norm, "conv2d_bias": _conv2d_bias}
