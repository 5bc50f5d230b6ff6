"""Tests generated from the op table: every op, every case, gradient and forward.

Adding an op to compgraph/ops without sample cases (tests/ops/cases.py) and a NumPy
reference (tests/ops/reference.py) fails test_every_op_is_covered, so no op lands unchecked.
"""
import zlib

import numpy as np
import pytest

import compgraph as cg
from compgraph.ops import OPS
from compgraph.tensor import _make, apply

from .cases import CASES, NONDIFF, make_input
from .model_cases import MODEL_SMOOTH
from .more_cases import MORE_SMOOTH
from .reference import REF

ALL = [(name, i) for name in sorted(CASES) for i in range(len(CASES[name]))]
DIFF = [(n, i) for n, i in ALL if n not in NONDIFF]
# second derivatives: the smooth ops (kinks and ties make finite differences meaningless)
SMOOTH = {"add", "sub", "mul", "div", "pow", "exp", "log", "log1p", "sqrt", "sin", "cos",
          "sigmoid", "tanh", "softplus", "gelu", "gelu_cdf", "sum", "mean", "var", "std",
          "logsumexp", "softmax", "log_softmax", "matmul", "mm", "mv", "dot", "outer", "einsum",
          "reshape", "permute_dims", "broadcast_to", "getitem", "index_put", "scatter_add", "concatenate",
          "stack", "copy", "astype", "cross_entropy", "binary_cross_entropy", "prod", "where", "neg", "elu", "leaky_relu",
          "linear", "conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d",
          "max_pool2d_scatter", "max_pool2d_gather", "pad_constant", "lstm_cell",
          "cumsum", "tril", "triu", "flip", "remainder"} | MORE_SMOOTH | MODEL_SMOOTH


def _inputs(name, i, dtype=np.float64):
    rng = np.random.default_rng(zlib.crc32(f"{name}/{i}".encode()))
    specs, attrs = CASES[name][i]
    made = [make_input(s, rng, dtype) for s in specs]
    return [_make(a, diff) for a, diff in made], attrs


def _run(name, attrs):
    return lambda *xs: apply(OPS[name], tuple(xs), attrs)


def test_every_op_is_covered():
    assert set(OPS) == set(CASES), f"ops without cases: {set(OPS) ^ set(CASES)}"
    assert set(OPS) == set(REF), f"ops without a NumPy reference: {set(OPS) ^ set(REF)}"
    for name, op in OPS.items():
        assert op.nondiff == (name in NONDIFF), name
        if not op.nondiff:
            assert op.vjps or op.vjp_n or op.vjp_all, f"{name} has no VJP"


@pytest.mark.parametrize("name,i", DIFF, ids=[f"{n}-{i}" for n, i in DIFF])
def test_gradient_matches_finite_differences(name, i):
    tensors, attrs = _inputs(name, i)
    assert cg.gradcheck(_run(name, attrs), tensors)


@pytest.mark.parametrize("name,i", ALL, ids=[f"{n}-{i}" for n, i in ALL])
def test_forward_matches_numpy(name, i):
    tensors, attrs = _inputs(name, i)
    got = apply(OPS[name], tuple(tensors), attrs)
    want = REF[name](*[t._value for t in tensors], **attrs)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got._value, want, rtol=1e-10, atol=1e-12)
    # the shape rule (what lazy graphs use) predicts the computed shape
    assert tuple(OPS[name].shape(*[t.shape for t in tensors], **attrs)) == got.shape


@pytest.mark.parametrize("name,i", ALL, ids=[f"{n}-{i}" for n, i in ALL])
def test_float32_stays_float32(name, i):
    tensors, attrs = _inputs(name, i, np.float32)
    if name == "astype":
        return
    out = apply(OPS[name], tuple(tensors), attrs)
    if name not in NONDIFF and name != "argmax":
        assert out.dtype == np.float32, out.dtype
        wrt = [t for t in tensors if t.requires_grad]
        grads = cg.grad(out.sum() if out.numel() > 1 else out.reshape(()), wrt, allow_unused=True)
        for t, g in zip(wrt, grads):
            if g is not None:
                assert g.dtype == np.float32 and g.shape == t.shape


SECOND = [(n, i) for n, i in DIFF if n in SMOOTH]


@pytest.mark.parametrize("name,i", SECOND, ids=[f"{n}-{i}" for n, i in SECOND])
def test_second_derivative_matches_finite_differences(name, i):
    tensors, attrs = _inputs(name, i)
    assert cg.gradgradcheck(_run(name, attrs), tensors, atol=1e-4, rtol=1e-3)


# the rest: kinks and ties make finite differences of second order fragile, but the cases
# keep away from them; ops whose VJP works on arrays only must refuse create_graph clearly
REST = [(n, i) for n, i in DIFF if n not in SMOOTH and n != "to_device"]


@pytest.mark.parametrize("name,i", REST, ids=[f"{n}-{i}" for n, i in REST])
def test_second_derivative_or_a_clear_refusal(name, i):
    tensors, attrs = _inputs(name, i)
    if OPS[name].once:
        with pytest.raises(cg.GraphError, match="higher-order gradients cannot pass through"):
            cg.gradgradcheck(_run(name, attrs), tensors)
    else:
        assert cg.gradgradcheck(_run(name, attrs), tensors, atol=1e-4, rtol=1e-3)
