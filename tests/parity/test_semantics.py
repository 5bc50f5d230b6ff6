"""Semantics PyTorch programs rely on, checked against real PyTorch (issue 12, sections 1-2).

Every test runs the same code on compgraph and on torch (`both`) and compares values,
gradients, dtypes and which inputs raise.  Section 1 are regressions of places where
compgraph used to give a different number without an error; section 2 is type promotion,
error classes, warnings and 0-d tensors.
"""
import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import compgraph as cg
import compgraph.nn.functional as CF

LIBS = ((cg, CF), (torch, TF))


def both(f):
    """f(L, F) on compgraph and on torch, as plain NumPy/Python results."""
    return [_plain(f(L, F)) for L, F in LIBS]


def _plain(x):
    if isinstance(x, (cg.Tensor, torch.Tensor)):
        return x.detach().numpy()
    if isinstance(x, (tuple, list)):
        return type(x)(_plain(v) for v in x)
    return x


def assert_same(ours, theirs, atol=1e-5):
    if isinstance(theirs, (tuple, list)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b, atol)
        return
    if isinstance(theirs, np.ndarray):
        assert ours.shape == theirs.shape
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_allclose(ours, theirs, atol=atol, rtol=1e-5, equal_nan=True)
    else:
        assert ours == theirs


def check(f, atol=1e-5):
    ours, theirs = both(f)
    assert_same(ours, theirs, atol)


# === 1. silently wrong numbers ===================================================================

@pytest.mark.parametrize("x_shape, w_shape, stride, padding", [
    ((1, 1, 5, 1), (1, 1, 3, 1), 2, 0),               # the issue's case
    ((2, 3, 7, 4), (2, 3, 3, 1), (2, 1), 0),          # a (k, 1) kernel, stride (s, 1)
    ((1, 2, 9, 1), (3, 2, 2, 1), (3, 1), (1, 0)),
    ((1, 1, 6, 3), (1, 1, 1, 3), (1, 2), 0),          # the transposed case, (1, k)
    ((2, 2, 6, 5), (4, 2, 3, 3), 1, 1),               # the widened stride-1 path still right
])
def test_conv2d_gradients_with_narrow_kernels(x_shape, w_shape, stride, padding):
    rng = np.random.default_rng(0)
    xv = rng.standard_normal(x_shape).astype(np.float32)
    wv = rng.standard_normal(w_shape).astype(np.float32)

    def f(L, F):
        x = L.tensor(xv, requires_grad=True)
        w = L.tensor(wv, requires_grad=True)
        y = F.conv2d(x, w, stride=stride, padding=padding)
        (y * y).sum().backward()
        return y, x.grad, w.grad
    check(f, atol=1e-4)


def test_conv2d_issue_example_and_nn_conv2d():
    def f(L, F):
        x = L.ones(1, 1, 5, 1, requires_grad=True)
        F.conv2d(x, L.ones(1, 1, 3, 1), stride=2).sum().backward()
        conv = L.nn.Conv2d(1, 1, (3, 1), stride=(2, 1), bias=False)
        with L.no_grad():
            conv.weight.copy_(L.ones(1, 1, 3, 1))
        x2 = L.ones(1, 1, 5, 1, requires_grad=True)
        conv(x2).sum().backward()
        return x.grad, x2.grad
    ours, theirs = both(f)
    assert theirs[0].reshape(-1).tolist() == [1, 1, 2, 1, 1]
    assert_same(ours, theirs)


@pytest.mark.parametrize("shape, kernel, stride", [((1, 1, 10, 1), (5, 1), None),
                                                   ((2, 3, 8, 2), (2, 1), (2, 1)),
                                                   ((1, 2, 9, 3), (3, 1), (3, 1))])
def test_avg_pool2d_gradient_with_a_k_by_1_kernel(shape, kernel, stride):
    xv = np.random.default_rng(1).standard_normal(shape).astype(np.float32)

    def f(L, F):
        x = L.tensor(xv, requires_grad=True)
        y = F.avg_pool2d(x, kernel, stride)
        (y * y).sum().backward()
        return y, x.grad
    check(f)


def test_scatter_with_repeated_indices_writes_one_value():
    def f(L, F):
        return L.zeros(3).scatter(0, L.tensor([1, 1]), L.tensor([5.0, 7.0]))
    ours, theirs = both(f)
    assert theirs.tolist() == [0, 7, 0]
    assert_same(ours, theirs)


def test_scatter_gradients_as_pytorch():
    # the input gets none where it was overwritten; every element of src gets the gradient
    # of the place it was written to, a repeated place too (PyTorch's gather of the gradient)
    xv = np.arange(12, dtype=np.float32).reshape(3, 4)
    sv = np.arange(6, dtype=np.float32).reshape(2, 3) + 100
    gv = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)

    def f(L, F):
        x = L.tensor(xv, requires_grad=True)
        s = L.tensor(sv, requires_grad=True)
        y = x.scatter(1, L.tensor([[0, 2, 1], [3, 0, 2]]), s)
        (y * L.tensor(gv)).sum().backward()
        r = L.tensor([5.0, 7.0], requires_grad=True)
        z = L.zeros(3).scatter(0, L.tensor([1, 1]), r)
        (z * L.tensor([1.0, 2.0, 3.0])).sum().backward()
        return y, x.grad, s.grad, r.grad
    check(f)


def test_scatter_with_a_number_and_scatter_add():
    def f(L, F):
        x = L.zeros(2, 3, dtype=L.int64)
        a = x.scatter(1, L.tensor([[0], [2]]), 5)
        b = L.zeros(4).scatter_add(0, L.tensor([1, 1, 3]), L.tensor([1.0, 2.0, 3.0]))
        return a, b
    check(f)


@pytest.mark.parametrize("shape, smoothing, reduction, weighted", [
    ((3, 4), 0.1, "mean", False), ((3, 4), 0.1, "sum", True), ((3, 4, 2), 0.0, "mean", False),
    ((3, 4, 2), 0.0, "mean", True), ((2, 4, 2, 3), 0.2, "none", False), ((4,), 0.3, "mean", False),
    ((3, 4), 0.0, "none", True), ((3, 4), 0.0, "mean", False),     # (the fused op)
])
def test_cross_entropy_probability_targets_keep_their_gradient(shape, smoothing, reduction,
                                                               weighted):
    rng = np.random.default_rng(3)
    xv = rng.standard_normal(shape).astype(np.float32)
    tv = rng.random(shape).astype(np.float32)
    wv = rng.random(shape[1] if len(shape) > 1 else shape[0]).astype(np.float32)

    def f(L, F):
        x = L.tensor(xv, requires_grad=True)
        t = L.tensor(tv, requires_grad=True)
        loss = F.cross_entropy(x, t, weight=L.tensor(wv) if weighted else None,
                               label_smoothing=smoothing, reduction=reduction)
        assert loss.requires_grad
        loss.sum().backward()
        return loss, x.grad, t.grad
    check(f)


def test_max_and_min_with_axis_return_values_and_indices():
    xv = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]], np.float32)

    def f(L, F):
        x = L.tensor(xv, requires_grad=True)
        a = x.max(axis=1)
        b = x.min(axis=0)
        c = L.max(x, axis=1, keepdim=True)
        d = L.min(x, dim=-1)
        (a[0].sum() + b.values.sum() + c[0].sum()).backward()
        return (tuple(a), tuple(b), tuple(c), tuple(d), a[0], x.grad)
    check(f)


INDEX_CASES = [
    lambda L: (slice(None), 1, slice(None), L.tensor([0, 2, 1])),          # the issue's case
    lambda L: (1, slice(None), L.tensor([0, 2])),
    lambda L: (slice(None), 1, L.tensor([0, 2]), L.tensor([1, 1])),
    lambda L: (Ellipsis, 1, slice(None), L.tensor([[0, 2], [1, 1]])),
    lambda L: (L.tensor([0, 1]), slice(None), 1, slice(None)),
    lambda L: (L.tensor([0, 1]), 1, L.tensor([0, 1]), slice(None)),
    lambda L: (slice(None), L.tensor([0, 1]), slice(None), 1),
    lambda L: (None, slice(None), 1, slice(None), L.tensor([0, 1])),
    lambda L: (slice(None), 1, slice(None), L.tensor([True, False, True, False, True])),
    lambda L: (0, L.tensor([1, 2]), slice(None), L.tensor([3, 4])),
    lambda L: (slice(None), L.tensor(1), slice(None), L.tensor([0, 2, 1])),   # a 0-d tensor
    lambda L: (L.tensor(0), slice(None), L.tensor([1, 2])),
]


@pytest.mark.parametrize("case", range(len(INDEX_CASES)))
def test_advanced_indexing_places_dims_as_pytorch(case):
    rng = np.random.default_rng(4)
    xv = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    out_shape = tuple(torch.zeros(2, 3, 4, 5)[INDEX_CASES[case](torch)].shape)
    gv = rng.standard_normal(out_shape).astype(np.float32)

    def f(L, F):
        index = INDEX_CASES[case](L)
        x = L.tensor(xv, requires_grad=True)
        y = x[index]
        (y * L.tensor(gv)).sum().backward()
        z = L.zeros(2, 3, 4, 5)
        z[index] = L.tensor(gv)
        # an assignment recorded in the graph (the value requires grad)
        v = L.tensor(gv, requires_grad=True)
        w = L.zeros(2, 3, 4, 5)
        w[index] = v * 2
        (w * w).sum().backward()
        return y, x.grad, z, w, v.grad
    check(f)


@pytest.mark.parametrize("start, end, steps", [(-2.5, 3.7, 9), (0, 10, 5), (-3, 3, 7), (10, 0, 6),
                                               (0, 1, 1), (5, -5, 3), (-7.9, 7.9, 5), (0, 100, 11),
                                               (1.5, -2.5, 5), (-10, 10, 21)])
@pytest.mark.parametrize("dtype", ["int32", "int64", "int16"])
def test_integer_linspace_truncates_as_pytorch(start, end, steps, dtype):
    check(lambda L, F: L.linspace(start, end, steps, dtype=getattr(L, dtype)))


POW_VALUES = [-2.0, -1.0, -0.5, 0.0, -0.0, 0.5, 1.0, 2.0, np.inf, -np.inf, np.nan]


def test_pow_gradients_at_singular_points():
    a_v, b_v = (np.array(v, np.float32) for v in zip(*itertools.product(POW_VALUES, POW_VALUES)))

    def f(L, F):
        a = L.tensor(a_v, requires_grad=True)
        b = L.tensor(b_v, requires_grad=True)
        (a ** b).sum().backward()
        return a ** b, a.grad, b.grad
    check(f)


@pytest.mark.parametrize("exponent", [0.0, 0.5, 2.0, -1.0, 3, 1.5])
def test_pow_gradient_of_a_number_exponent(exponent):
    # PyTorch computes x ** 0.5 as sqrt(x) and its gradient's x ** -0.5 as rsqrt(x), which
    # differ from pow at -0.0 and -inf only (sqrt(-0.0) is -0.0); those two are left out
    values = [v for v in POW_VALUES if exponent != 0.5 or v not in (-np.inf,) and
              not (v == 0 and np.signbit(v))]

    def f(L, F):
        x = L.tensor(values, requires_grad=True)
        (x ** exponent).sum().backward()
        return x.grad
    check(f)


@pytest.mark.parametrize("base", [0.0, -2.0, 2.0])
def test_pow_gradient_of_a_number_base(base):
    def f(L, F):
        x = L.tensor(POW_VALUES, requires_grad=True)
        (base ** x).sum().backward()
        return x.grad
    check(f)


def test_refused_where_pytorch_raises():
    with pytest.raises(RuntimeError):
        torch.zeros(3).half().scatter(0, torch.tensor([1]), torch.tensor([5.0]))
    with pytest.raises(RuntimeError, match="dtype"):
        cg.zeros(3).half().scatter(0, cg.tensor([1]), cg.tensor([5.0]))
    with pytest.raises(RuntimeError):
        torch.linspace(0, 1, 3, dtype=torch.bool)
    with pytest.raises(RuntimeError, match="bool"):
        cg.linspace(0, 1, 3, dtype=cg.bool)


# === 2. type promotion ===========================================================================

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
BINARY = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "div": lambda L, a, b: a / b,
    "pow": lambda L, a, b: a ** b,
    "remainder": lambda L, a, b: a % b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "eq": lambda L, a, b: a == b,
    "lt": lambda L, a, b: a < b,
    "where": lambda L, a, b: L.where(L.tensor(True), a, b),
}


def _operand(L, dtype, dims):
    values = [True, False, True] if dtype == "bool" else [1, 2, 3]
    return L.tensor(values if dims else values[0], dtype=getattr(L, dtype))


def _dtype_or_error(f):
    try:
        return str(f().dtype).replace("torch.", "")
    except Exception:                        # noqa: BLE001  (which inputs raise is compared)
        return "raises"


def _unsupported_by_torch(name, d1, d2):
    # bool operands that PyTorch refuses (bool - bool, bool ** bool, bool % bool): compgraph
    # follows NumPy there and is not part of this check
    return d1 == d2 == "bool" and name in ("sub", "pow", "remainder") or \
        name == "sub" and "bool" in (d1, d2)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_promotion_table_as_pytorch(name):
    f = BINARY[name]
    mismatches = []
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        if _unsupported_by_torch(name, d1, d2):
            continue
        for dims1, dims2 in [(1, 1), (1, 0), (0, 1), (0, 0)]:
            got = _dtype_or_error(lambda: f(cg, _operand(cg, d1, dims1), _operand(cg, d2, dims2)))
            want = _dtype_or_error(lambda: f(torch, _operand(torch, d1, dims1),
                                             _operand(torch, d2, dims2)))
            if name == "add":     # torch.result_type is the rule itself
                rule = torch.result_type(_operand(torch, d1, dims1), _operand(torch, d2, dims2))
                assert want == str(rule).replace("torch.", "")
            if got != want:
                mismatches.append((d1, dims1, d2, dims2, got, want))
    assert not mismatches


@pytest.mark.parametrize("name", ["add", "mul", "div", "pow", "maximum", "eq", "lt", "remainder"])
def test_promotion_with_python_numbers_as_pytorch(name):
    f = BINARY[name]
    mismatches = []
    for d, dims, number, reflected in itertools.product(DTYPES, (1, 0), (True, 2, 0.5),
                                                        (False, True)):
        if name in ("pow", "remainder") and d == "bool" and number is True:
            continue
        if name in ("maximum",):
            continue          # maximum takes tensors only in PyTorch
        got = _dtype_or_error(lambda: f(cg, number, _operand(cg, d, dims)) if reflected
                              else f(cg, _operand(cg, d, dims), number))
        want = _dtype_or_error(lambda: f(torch, number, _operand(torch, d, dims)) if reflected
                               else f(torch, _operand(torch, d, dims), number))
        if got != want:
            mismatches.append((d, dims, number, reflected, got, want))
    assert not mismatches


def test_cat_promotes_as_pytorch():
    mismatches = []
    for d1, d2 in itertools.product(DTYPES, DTYPES):
        got = _dtype_or_error(lambda: cg.cat([_operand(cg, d1, 1), _operand(cg, d2, 1)]))
        want = _dtype_or_error(lambda: torch.cat([_operand(torch, d1, 1), _operand(torch, d2, 1)]))
        if got != want:
            mismatches.append((d1, d2, got, want))
    assert not mismatches


UNARY_FLOAT = ["exp", "log", "log1p", "sqrt", "sin", "cos", "tanh", "sigmoid", "logsumexp"]
UNARY_KEEP = ["abs", "neg", "relu", "floor", "clamp", "sum", "prod", "cumsum", "argmax",
              "isnan", "amax", "sign", "square"]


@pytest.mark.parametrize("name", UNARY_FLOAT + UNARY_KEEP)
def test_unary_result_dtypes_as_pytorch(name):
    def call(L, x):
        if name == "clamp":
            return L.clamp(x, min=0)
        if name in ("cumsum", "logsumexp"):
            return getattr(L, name)(x, 0)
        return getattr(L, name)(x)
    mismatches = []
    for d, dims in itertools.product(DTYPES, (1, 0)):
        want = _dtype_or_error(lambda: call(torch, _operand(torch, d, dims)))
        if want == "raises":
            continue          # (bool abs, bool neg, ...): PyTorch refuses
        got = _dtype_or_error(lambda: call(cg, _operand(cg, d, dims)))
        if got != want:
            mismatches.append((d, dims, got, want))
    assert not mismatches


def test_promotion_examples_from_the_issue_with_values_and_gradients():
    def f(L, F):
        w = L.tensor([0.5, -1.5, 2.0], requires_grad=True)
        n = L.tensor([1, 2, 3])                                  # int64
        a = w * n                                                # float32
        b = L.tensor(1) + 0.5                                    # float32
        c = L.tensor([1, 2], dtype=L.int32) + L.tensor(3)        # int32
        d = L.tensor([1, 4], dtype=L.int32) ** 0.5               # float32
        e = L.exp(L.tensor([0, 1]))                              # float32
        s = w * L.tensor(2.0, dtype=L.float64)                   # float32: 0-d ranks below
        (a.sum() + s.sum()).backward()
        return a, b, c, d, e, s, w.grad
    ours, theirs = both(f)
    assert [str(v.dtype) for v in theirs] == ["float32"] * 2 + ["int32"] + ["float32"] * 4
    assert_same(ours, theirs)


def test_gradients_come_back_in_each_inputs_dtype():
    def f(L, F):
        a = L.tensor([1.0, 2.0], requires_grad=True)                       # float32
        b = L.tensor([3.0, 4.0], dtype=L.float64, requires_grad=True)     # float64
        y = a * b                                                          # float64
        y.sum().backward()
        return y, a.grad, b.grad
    check(f)


def test_in_place_arithmetic_keeps_the_tensors_dtype():
    def f(L, F):
        w = L.ones(2, requires_grad=True)
        h = w * 1.0
        h += L.ones(2, dtype=L.float64)          # recorded in the graph
        h *= L.tensor([2, 3])
        h.sum().backward()
        a = L.ones(2)
        a += L.ones(2, dtype=L.float64)          # outside the graph
        a *= L.tensor([2, 3])
        return h, w.grad, a
    check(f)
    for L in (cg, torch):
        with pytest.raises(RuntimeError):
            i = L.ones(2, dtype=L.int64)
            i += 0.5


def test_matrix_products_of_one_dtype_keep_it():
    # (PyTorch refuses mixed dtypes here; compgraph promotes them by the same rule, since its
    # DyNet and tutorial dialects mix NumPy's float64 with float32 parameters)
    def f(L, F):
        a = L.tensor([[1, 2], [3, 4]], dtype=L.int32)
        h = L.ones(2, 2, dtype=L.float16)
        return a @ a, L.mm(h, h), L.mv(h, h[0]), L.dot(h[0], h[1])
    check(f)


def test_lazy_graph_records_the_promoted_dtype():
    g = cg.Graph()
    x = g.var(np.ones(3, np.float32))
    y = cg.tensor([1, 2, 3]) * x          # int64 tensor * float32 node
    assert y.dtype == cg.float32
    cg.forward(g)
    assert y.value.dtype == np.float32
    assert y.value.tolist() == [1.0, 2.0, 3.0]


# === 2. error classes =============================================================================

ERROR_CASES = {
    "broadcast": lambda L, F: L.ones(3) + L.ones(4),
    "dim out of range (sum)": lambda L, F: L.ones(2, 3).sum(dim=3),
    "dim out of range (squeeze)": lambda L, F: L.ones(2, 3).squeeze(5),
    "dim out of range (transpose)": lambda L, F: L.ones(2, 3).transpose(0, 5),
    "dim out of range (softmax)": lambda L, F: L.ones(2, 3).softmax(4),
    "dim out of range (0-d)": lambda L, F: L.tensor(1.0).sum(1),
    "integer requires_grad": lambda L, F: L.tensor([1, 2], requires_grad=True),
    "integer division by zero": lambda L, F: L.tensor([1]) // L.tensor([0]),
    "gather out of bounds": lambda L, F: L.ones(3).gather(0, L.tensor([5])),
    "index out of bounds": lambda L, F: L.ones(3)[5],
    "too many indices": lambda L, F: L.ones(3)[0, 0],
    "embedding id": lambda L, F: F.embedding(L.tensor([5]), L.ones(3, 2)),
    "class index": lambda L, F: F.cross_entropy(L.ones(2, 3), L.tensor([0, 5])),
    "reshape": lambda L, F: L.ones(2, 3).reshape(4, 2),
    "view": lambda L, F: L.ones(2, 3).view(7),
    "matmul shapes": lambda L, F: L.ones(2, 3) @ L.ones(2, 3),
    "cat shapes": lambda L, F: L.cat([L.ones(2, 3), L.ones(2, 4)]),
    "expand": lambda L, F: L.ones(2, 3).expand(4, 3),
    "non-scalar backward": lambda L, F: (L.ones(2, requires_grad=True) * 2).backward(),
    "numpy of a tensor that requires grad": lambda L, F: L.ones(2, requires_grad=True).numpy(),
    "item of many": lambda L, F: L.ones(2).item(),
    "mean of integers": lambda L, F: L.ones(2, dtype=L.int64).mean(),
    "var of integers": lambda L, F: L.ones(2, dtype=L.int32).var(),
    "softmax of integers": lambda L, F: F.softmax(L.ones(2, dtype=L.int64), dim=0),
    "log_softmax of integers": lambda L, F: L.ones(2, dtype=L.int64).log_softmax(0),
    "linspace of bools": lambda L, F: L.linspace(0, 1, 3, dtype=L.bool),
    "negative learning rate": lambda L, F: L.optim.SGD([L.ones(1, requires_grad=True)], lr=-1),
    "truth of many": lambda L, F: bool(L.ones(2)),
    "linear dtypes": lambda L, F: F.linear(L.ones(2, 3, dtype=L.float64), L.ones(4, 3)),
    "chunk 0": lambda L, F: L.ones(3).chunk(0),
    "arange step 0": lambda L, F: L.arange(0, 5, 0),
    "negative size": lambda L, F: L.zeros(-1),
    "ragged data": lambda L, F: L.tensor([[1, 2], [3]]),
    "topk too large": lambda L, F: L.ones(3).topk(5),
    "select out of range": lambda L, F: L.ones(3).select(0, 5),
    "grad of another shape": lambda L, F: setattr(L.ones(2, requires_grad=True), "grad", L.ones(3)),
    "len of 0-d": lambda L, F: len(L.tensor(1.0)),
}


@pytest.mark.parametrize("case", sorted(ERROR_CASES))
def test_errors_are_catchable_as_pytorchs_builtin_class(case):
    f = ERROR_CASES[case]
    with pytest.raises(Exception) as theirs:
        f(torch, TF)
    builtin = type(theirs.value)
    assert builtin.__module__ == "builtins"          # what a PyTorch program catches
    with pytest.raises(builtin) as ours:
        f(cg, CF)
    assert isinstance(ours.value, cg.CompgraphError)  # compgraph's own class and message


# === 2. warnings, 0-d tensors, empty means ======================================================

_QUIET = """
import {lib} as torch
x = torch.tensor([0.0, -1.0, 1000.0, 1.0], requires_grad=True)
y = torch.log(x) + torch.sqrt(x) + torch.exp(x) + x / 0 + torch.tensor(0.0) ** -1.0
z = (torch.log(x) * 0).sum()
z.backward()
torch.zeros(2, 0).mean(1)
print(x.grad.tolist())
"""


def test_no_numpy_warning_reaches_the_user():
    # a fresh interpreter: the warnings a user's script would see (pytest's capture would
    # hide them here), with every warning shown once (-W default)
    runs = [subprocess.run([sys.executable, "-W", "default", "-c", _QUIET.format(lib=lib)],
                           capture_output=True, text=True, timeout=120)
            for lib in ("compgraph", "torch")]
    for run in runs:
        assert run.returncode == 0, run.stderr
        assert "Warning" not in run.stderr, run.stderr
    assert runs[0].stdout == runs[1].stdout


def test_users_own_numpy_warnings_and_detect_anomaly_stay():
    code = ("import compgraph as torch, numpy as np\n"
            "np.log(np.zeros(1))\n"
            "with torch.detect_anomaly():\n"
            "    try:\n"
            "        torch.log(torch.tensor(0.0))\n"
            "    except FloatingPointError as e:\n"
            "        print('anomaly:', e)\n")
    run = subprocess.run([sys.executable, "-W", "default", "-c", code],
                         capture_output=True, text=True, timeout=120)
    assert "RuntimeWarning" in run.stderr          # NumPy's, from the user's line
    assert "anomaly:" in run.stdout and "log" in run.stdout


ZERO_D = {
    "sum": lambda x, d: x.sum(d), "mean": lambda x, d: x.mean(dim=d),
    "prod": lambda x, d: x.prod(d), "amax": lambda x, d: x.amax(d),
    "argmax": lambda x, d: x.argmax(d), "logsumexp": lambda x, d: x.logsumexp(d),
    "softmax": lambda x, d: x.softmax(d), "cumsum": lambda x, d: x.cumsum(d),
    "squeeze": lambda x, d: x.squeeze(d), "max": lambda x, d: tuple(x.max(d)),
    "min": lambda x, d: tuple(x.min(dim=d)), "unsqueeze": lambda x, d: x.unsqueeze(d),
}


@pytest.mark.parametrize("name", sorted(ZERO_D))
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_d_tensors_take_dim_0_and_minus_1(name, dim):
    def f(L, F):
        x = L.tensor(3.0, requires_grad=True)
        y = ZERO_D[name](x, dim)
        first = y[0] if isinstance(y, tuple) else y
        if first.dtype.is_floating_point if L is torch else first.dtype.kind == "f":
            first.sum().backward()
        return y, x.grad
    check(f)


def test_zero_d_leaf_gradient_converts_to_numpy():
    for L in (cg, torch):
        x = L.tensor(2.0, requires_grad=True)
        (x * x).backward()
        (x * 3).backward()
        assert x.grad.numpy().shape == ()
        assert float(x.grad.numpy()) == 7.0


def test_mean_over_an_empty_dim_is_nan_and_differentiates():
    def f(L, F):
        x = L.zeros(2, 0, requires_grad=True)
        y = x.mean(1)
        y.sum().backward()
        e = L.zeros(0, requires_grad=True)
        m = e.mean()
        m.backward()
        return y, x.grad, m, e.grad
    check(f)
