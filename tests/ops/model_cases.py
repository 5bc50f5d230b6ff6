"""Cases and NumPy references for the fused kernels of the real-model workloads
(compgraph/ops/norm.py: layer_norm), in the format of tests/ops/cases.py and
tests/ops/reference.py, which wire them in.  MODEL_SMOOTH: second derivatives checked."""
import numpy as np

MODEL_CASES = {
    # (x, weight, bias), nd trailing dims normalised
    "layer_norm": [(((3, 4), (4,), (4,)), {"nd": 1, "eps": 1e-5}),
                   (((2, 3, 4), (3, 4), (3, 4)), {"nd": 2, "eps": 1e-5}),
                   (((5,), (5,), (5,)), {"nd": 1, "eps": 0.1}),
                   (((2, 1, 6), (6,), (6,)), {"nd": 1, "eps": 1e-5})],
}
MODEL_SMOOTH = {"layer_norm"}


def _layer_norm(x, w, b, nd, eps):
    axes = tuple(range(x.ndim - nd, x.ndim))
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


MODEL_REF = {"layer_norm": _layer_norm}
