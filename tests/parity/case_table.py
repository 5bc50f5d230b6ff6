"""The parity case of every public name of the PyTorch dialect (see test_oracle).

A key is a bare name (`exp`: used for torch.exp, Tensor.exp and F.exp wherever the name is
public) or a surface-qualified one (`Tensor.view`, `F.gelu`, `nn.Linear`) where the call or
the inputs differ.  Adding a name is one line: `"new_op": unary("pos"),`.  Names whose
behaviour is known to differ from PyTorch are listed in docs/pytorch-parity-gaps.md, not here.
"""
import numpy as np

from .case_kit import (ALL, FLOATS, INTS, NUMERIC, Const, DType, binary, compare, generic,
                       nondiff, reduction, unary, values_only)

# --- small generators ------------------------------------------------------------------


def _x(d, dtypes=FLOATS, domain="real", min_dims=0, **kw):
    return d.tensor(d.shape(min_dims=min_dims, **kw), dtypes, domain)


def _one_dim(extra=None, dtypes=FLOATS, domain="real", min_dims=0, dim_kw=None):
    """f(x, dim) for a dim of x (negative, or rarely out of range)."""
    def gen(d):
        x = _x(d, dtypes, domain, min_dims)
        k = extra(d, x) if extra else {}
        if dim_kw:
            return (x,), {dim_kw: d.dim(x.ndim), **k}
        return (x, d.dim(x.ndim)), k
    return gen


def _matrix_pair(d, dtypes=FLOATS, mismatch=True):
    n, k, m = d.int(0, 4), d.int(0, 4), d.int(0, 4)
    k2 = k if d.int(0, 9) or not mismatch else k + 1
    dt = d.choice(dtypes)
    dt2 = dt if d.int(0, 4) else d.choice(dtypes)     # mixed dtypes: PyTorch refuses them
    return d.array((n, k), dt), d.array((k2, m), dt2)


def _einsum_args(d):
    """A few contractions; each index of each operand is its size or (broadcast) 1, sizes 0
    included; now and then operands of two dtypes."""
    spec = d.choice(["ij,jk->ik", "ij,j->i", "bij,bjk->bik", "i,i->", "ij,kj->ikj"])
    size = {c: d.int(0, 3) for c in "bijk"}
    lhs = spec.split("->")[0].split(",")
    dt = d.choice(FLOATS)
    dts = [dt if d.int(0, 4) else d.choice(FLOATS) for _ in lhs]
    # finite values: against an empty index torch multiplies a size-1 inf by the empty sum
    # (NaN), compgraph broadcasts it away (0) (docs/pytorch-parity-gaps.md)
    ops = [d.array(tuple(1 if d.int(0, 3) == 0 else size[c] for c in term), t, edge=False)
           for term, t in zip(lhs, dts)]
    return (spec,) + tuple(ops), {}


def _shape_arg(d, x):
    """A shape with x's number of elements (one -1 now and then), rarely a wrong one."""
    n = x.size
    if d.int(0, 9) == 0:
        return (n + 1,)
    dims = [f for f in range(1, 5) if n % f == 0] if n else [0]
    first = d.choice(dims) if dims else 1
    rest = n // first if first else 0
    shape = (first, rest) if d.bool() else (n,)
    if d.bool() and n:
        shape = shape[:-1] + (-1,)
    return shape


def _index(d, n, size, dtype="int64"):
    return d.array((n,), dtype, f"int:0:{max(size, 1)}") if size else np.zeros((0,), dtype)


def _gather_args(d):
    x = _x(d, min_dims=1, min_side=1)
    dim = d.dim(x.ndim, False)
    shape = list(x.shape)
    shape[dim] = d.int(0, 4)
    index = d.array(shape, "int64", f"int:0:{x.shape[dim]}")
    return x, dim, index


def _split_args(d):
    x = _x(d, min_dims=1)
    dim = d.dim(x.ndim, False)
    size = x.shape[dim]
    if d.bool() or size == 0:
        return (x, d.int(1, 3)), {"dim": dim}
    a = d.int(0, size)
    return (x, [a, size - a]), {"dim": dim}


def _like():
    return lambda d: ((_x(d, ALL),), {})


def _size(d):
    """Sizes as PyTorch takes them: f(2, 3), f((2, 3)), f(()) and (refused) f()."""
    s = d.shape(max_dims=3)
    return s if d.bool() else (s,)


def _conv2d_args(d):
    n, cin, cout, groups = d.int(1, 2), d.choice([1, 2, 4]), d.choice([1, 2]), 1
    if d.bool() and cin % 2 == 0:
        groups, cout = 2, 2
    stride = d.choice([1, 2, (2, 1), (1, 2)])
    # kernels (and inputs) of width 1 with any stride: the col2im path of issue 12, 1.1
    kh, kw = d.int(1, 3), d.int(1, 3)
    h, w = d.int(kh, 6), d.int(kw, 6)
    k = {"stride": stride, "padding": d.choice([0, 1, (1, 0)]),
         "dilation": d.choice([1, 1, 2]), "groups": groups}
    x = d.array((n, cin, h, w), "float64", edge=False)
    wt = d.array((cout, cin // groups, kh, kw), "float64", edge=False)
    b = d.array((cout,), "float64", edge=False) if d.bool() else None
    return (x, wt, b), k


def _conv1d_args(d):
    n, cin, cout, k = d.int(1, 2), d.choice([1, 2]), d.choice([1, 3]), d.int(1, 3)
    x = d.array((n, cin, d.int(k, 7)), "float64", edge=False)
    wt = d.array((cout, cin, k), "float64", edge=False)
    return (x, wt, d.array((cout,), "float64", edge=False) if d.bool() else None), {
        "stride": d.choice([1, 2]), "padding": d.choice([0, 1]), "dilation": d.choice([1, 2])}


def _pool_args(d, dilation=True):
    # kernels of width 1 included: avg_pool2d's (k, 1) input gradient (issue 12, 1.1)
    k = d.choice([1, 2, 3, (2, 1), (1, 2)])
    x = d.array((d.int(1, 2), d.int(1, 2), d.int(3, 6), d.int(3, 6)), "float64", "distinct")
    kw = {"stride": d.choice([None, 1, 2, (2, 1)]), "padding": d.choice([0, 1]),
          "ceil_mode": d.bool()}
    if dilation and d.bool():
        kw["dilation"] = 2
    return (x, k), kw


def _classes(d):
    n, c = d.int(1, 4), d.int(1, 4)
    return d.array((n, c), "float64", edge=False), d.array((n,), "int64", f"int:0:{c}")


def _loss_pair(domain_x="real", domain_y="real", reduction=True):
    def gen(d):
        # a target of another shape now and then: the regression losses broadcast it (with
        # a warning), the others refuse it
        s = t = d.shape(max_dims=3)
        if d.int(0, 4) == 0:
            s, t = d.shapes(2, max_dims=3)
        k = {"reduction": d.choice(["mean", "sum", "none"])} if reduction and d.bool() else {}
        return (d.array(s, "float64", domain_x, edge=False),
                d.array(t, "float64", domain_y, edge=False)), k
    return gen


def _nll(log=True):
    def gen(d):
        x, y = _classes(d)
        if log:
            x = x - np.log(np.exp(x).sum(-1, keepdims=True))
        k = {}
        if d.bool():
            k["reduction"] = d.choice(["mean", "sum", "none"])
        if d.int(0, 3) == 0:
            k["weight"] = Const(d.array((x.shape[1],), "float64", "pos"))
        if d.int(0, 3) == 0:
            k["ignore_index"] = 0
        return (x, y), k
    return gen


def _layer_norm(d):
    x = d.array(d.shape(min_dims=1, min_side=1), "float64", edge=False)
    ns = x.shape[-d.int(1, x.ndim):]
    affine = d.bool()
    return (x, ns, d.array(ns, "float64") if affine else None,
            d.array(ns, "float64") if affine else None), {}


def _batch_norm(d):
    c = d.int(1, 3)
    x = d.array((d.int(2, 4), c) + ((d.int(1, 3),) if d.bool() else ()), "float64", edge=False)
    train = d.bool()
    return (x, Const(d.array((c,), "float64")), Const(d.array((c,), "float64", "pos")),
            d.array((c,), "float64", edge=False), d.array((c,), "float64", edge=False)), {"training": train}


def _bool_mask(d, shape):
    return d.array(shape, "bool")


# --- the table ----------------------------------------------------------------------------

ELEMENTWISE = {
    "abs": unary(dtypes=NUMERIC), "absolute": unary(dtypes=NUMERIC), "neg": unary(dtypes=NUMERIC),
    "negative": unary(dtypes=NUMERIC),
    # float ops of integers and bools: the default float, as PyTorch's
    "exp": unary(dtypes=ALL), "log": unary("pos", dtypes=ALL), "log1p": unary("pos", dtypes=ALL),
    "sqrt": unary("pos", dtypes=ALL), "rsqrt": unary("pos", dtypes=ALL),
    "square": unary(dtypes=NUMERIC), "sign": unary(dtypes=NUMERIC),
    "sin": unary(dtypes=ALL), "cos": unary(dtypes=ALL), "tanh": unary(dtypes=ALL),
    "sigmoid": unary(dtypes=ALL), "relu": unary(dtypes=NUMERIC),
    "floor": unary(dtypes=NUMERIC), "ceil": unary(dtypes=NUMERIC), "trunc": unary(dtypes=NUMERIC),
    "fix": unary(dtypes=NUMERIC), "round": unary(),
    "isnan": nondiff(unary(dtypes=NUMERIC)), "isinf": nondiff(unary(dtypes=NUMERIC)),
    "isfinite": nondiff(unary(dtypes=NUMERIC)),
    # number bounds of either kind beside tensors of any dtype (int64 clamped at 1.5: float32)
    "clamp": unary(dtypes=ALL, kwargs=lambda d: {"min": d.choice([None, -0.5, -1]), "max": d.choice([0.5, 1.0, 2])}),
    "clip": unary(dtypes=ALL, kwargs=lambda d: {"min": d.choice([-0.5, 0]), "max": d.choice([None, 0.5])}),
    "clamp_min": generic(lambda d: ((_x(d, ALL), d.choice([-0.2, 1])), {})),
    "clamp_max": generic(lambda d: ((_x(d, ALL), d.choice([0.3, 2])), {})),
    "add": binary(dtypes=NUMERIC), "sub": binary(dtypes=NUMERIC), "subtract": binary(dtypes=NUMERIC),
    "mul": binary(dtypes=NUMERIC), "multiply": binary(dtypes=NUMERIC), "div": binary(b="away", dtypes=NUMERIC),
    "divide": binary(b="away", dtypes=NUMERIC), "true_divide": binary(b="away", dtypes=NUMERIC),
    "pow": binary("pos", dtypes=NUMERIC),
    "maximum": binary(scalar=False, dtypes=NUMERIC), "minimum": binary(scalar=False, dtypes=NUMERIC),
    "floor_divide": nondiff(binary(dtypes=INTS, b="away")),
    "remainder": nondiff(binary(dtypes=INTS, b="away")),
    "eq": compare(), "ne": compare(), "lt": compare(), "le": compare(), "gt": compare(),
    "ge": compare(),
    "logical_and": compare(ALL), "logical_or": compare(ALL), "logical_xor": compare(ALL),
    "logical_not": nondiff(unary(dtypes=ALL)),
    "bitwise_and": compare(INTS + ("bool",)),
    "bitwise_or": compare(INTS + ("bool",)),
    "bitwise_xor": compare(INTS + ("bool",)),
    "bitwise_not": nondiff(unary(dtypes=INTS + ("bool",))),
    "where": generic(lambda d: (lambda s: ((_bool_mask(d, s[0]), d.array(s[1]), d.array(s[2])), {}))(
        d.shapes(3))),
}

REDUCTIONS = {
    # mean/std/var of integers and bools: PyTorch refuses them
    "sum": reduction(dtypes=ALL), "mean": reduction(dtypes=ALL), "prod": reduction("away", tuple_dims=False),
    "logsumexp": reduction(dtypes=ALL),
    "var": reduction(dtypes=ALL, extra=lambda d: {"unbiased": d.bool()} if d.bool() else {}),
    "std": reduction(dtypes=ALL, extra=lambda d: {"unbiased": d.bool()} if d.bool() else {}),
    "amax": reduction("distinct", dtypes=NUMERIC), "amin": reduction("distinct", dtypes=NUMERIC),
    "max": reduction("distinct", tuple_dims=False, dtypes=NUMERIC),
    "min": reduction("distinct", tuple_dims=False, dtypes=NUMERIC),
    "argmax": nondiff(reduction("distinct", tuple_dims=False, dtypes=NUMERIC)),
    "argmin": nondiff(reduction("distinct", tuple_dims=False, dtypes=NUMERIC)),
    "any": nondiff(reduction(dtypes=ALL, tuple_dims=False)),
    "all": nondiff(reduction(dtypes=ALL, tuple_dims=False)),
    "norm": reduction(tuple_dims=False, extra=lambda d: {"p": d.choice([1, 2, "fro"])}
                      if d.bool() else {}),
    "softmax": generic(_one_dim()), "log_softmax": generic(_one_dim()),
    "cumsum": generic(_one_dim(dtypes=ALL)), "cumprod": generic(_one_dim(domain="away")),
}

LINALG = {
    "matmul": generic(lambda d: (_matrix_pair(d, ALL), {})),
    "mm": generic(lambda d: (_matrix_pair(d), {})),
    "mv": generic(lambda d: (lambda a, b: ((a, b[:, 0] if b.shape[1] else b.sum(1)), {}))(
        *_matrix_pair(d))),
    "dot": generic(lambda d: (lambda n: ((d.array((n,)), d.array((n if d.int(0, 9) else n + 1,))), {}))(
        d.int(0, 4))),
    "outer": generic(lambda d: ((d.array((d.int(0, 4),)), d.array((d.int(0, 4),))), {})),
    "ger": generic(lambda d: ((d.array((d.int(0, 4),)), d.array((d.int(0, 4),))), {})),
    "bmm": generic(lambda d: (lambda b, a, c: ((d.array((b,) + a.shape), d.array((b,) + c.shape)), {}))(
        d.int(1, 3), *_matrix_pair(d))),
    "einsum": generic(lambda d: _einsum_args(d)),
    "tensordot": generic(lambda d: ((d.array((2, 3, 4)), d.array((3, 4, 2))), {"dims": 2})),
    "tril": generic(lambda d: ((_x(d, min_dims=2),), {"diagonal": d.int(-1, 1)})),
    "triu": generic(lambda d: ((_x(d, min_dims=2),), {"diagonal": d.int(-1, 1)})),
}

SHAPE = {
    "reshape": generic(lambda d: (lambda x: ((x, _shape_arg(d, x)), {}))(_x(d, ALL))),
    "flatten": generic(lambda d: (lambda x: ((x,), {"start_dim": d.dim(x.ndim, False)}))(_x(d))),
    "squeeze": generic(lambda d: (lambda x: ((x,) if d.bool() else (x, d.dim(x.ndim)), {}))(
        d.tensor(d.shape(max_side=2), ALL))),
    "unsqueeze": generic(lambda d: (lambda x: ((x, d.int(-x.ndim - 1, x.ndim)), {}))(_x(d, ALL))),
    "permute": generic(lambda d: (lambda x: ((x, tuple(d.rng.permutation(x.ndim).tolist())), {}))(_x(d, ALL))),
    "transpose": generic(lambda d: (lambda x: ((x, d.dim(x.ndim), d.dim(x.ndim)), {}))(_x(d))),
    "swapaxes": generic(lambda d: (lambda x: ((x, d.dim(x.ndim, False), d.dim(x.ndim, False)), {}))(
        _x(d))),
    "t": generic(lambda d: ((_x(d, max_dims=2),), {})),
    "broadcast_to": generic(lambda d: (lambda s: ((d.array(s[0]), tuple(np.broadcast_shapes(*s))), {}))(
        d.shapes(2))),
    "cat": generic(lambda d: (lambda s, k: (([d.array(s[:k] + (d.int(0, 3),) + s[k + 1:]) for _ in range(2)],),
                                            {"dim": k}))(d.shape(min_dims=1), 0)),
    "concat": generic(lambda d: (([d.array((2, 3)), d.array((1, 3))],), {})),
    "concatenate": generic(lambda d: (([d.array((2, 3)), d.array((2, 1))],), {"dim": 1})),
    "stack": generic(lambda d: (lambda s: (([d.array(s), d.array(s)],), {"dim": d.int(-len(s) - 1, len(s))}))(
        d.shape())),
    "split": generic(_split_args), "chunk": generic(lambda d: (lambda x: ((x, d.int(1, 3)), {"dim": d.dim(x.ndim, False)}))(
        _x(d, min_dims=1))),
    "unbind": generic(lambda d: (lambda x: ((x,), {"dim": d.dim(x.ndim, False)}))(_x(d, min_dims=1))),
    "select": generic(lambda d: (lambda x, k: ((x, k, d.int(-x.shape[k], x.shape[k] - 1)), {}))(
        *(lambda x: (x, d.dim(x.ndim, False)))(_x(d, min_dims=1, min_side=1)))),
    "flip": generic(lambda d: (lambda x: ((x, (d.dim(x.ndim, False),)), {}))(_x(d, ALL, min_dims=1))),
    "gather": generic(lambda d: (_gather_args(d), {})),
    "index_select": generic(lambda d: (lambda x, k: ((x, k, _index(d, d.int(0, 4), x.shape[k])), {}))(
        *(lambda x: (x, d.dim(x.ndim, False)))(_x(d, min_dims=1, min_side=1)))),
    "masked_fill": generic(lambda d: (lambda x: ((x, _bool_mask(d, x.shape), d.choice([0.0, -1.5, float("-inf")])), {}))(
        _x(d))),
    "scatter_add": generic(lambda d: (lambda x, k, i: ((x, k, i, d.array(i.shape, x.dtype if d.int(0, 3) else d.choice(FLOATS))), {}))(
        *_gather_args(d))),
    "repeat": generic(lambda d: (lambda x: ((x,) + tuple(d.int(0, 2) for _ in range(max(x.ndim, 1))), {}))(
        _x(d, min_dims=1))),
    "sort": generic(_one_dim(domain="distinct", extra=lambda d, x: {"descending": d.bool()}, dim_kw="dim")),
    "argsort": nondiff(generic(_one_dim(domain="distinct", extra=lambda d, x: {"descending": d.bool()},
                                        dim_kw="dim"))),
    "topk": generic(lambda d: (lambda x: ((x, d.int(0, x.shape[-1])), {"largest": d.bool()}))(
        d.tensor(d.shape(min_dims=1), FLOATS, "distinct"))),
    "nonzero": nondiff(generic(lambda d: ((_x(d, ALL),), {}))),
    "clone": unary(dtypes=ALL),
}

CREATION = {
    "zeros": values_only(lambda d: (_size(d), {"dtype": DType(d.choice(ALL))})),
    "ones": values_only(lambda d: (_size(d), {"dtype": DType(d.choice(ALL))})),
    "full": values_only(lambda d: ((d.shape(max_dims=3), d.choice([1.5, -2.0])), {})),
    "eye": values_only(lambda d: ((d.int(0, 4),) + ((d.int(0, 4),) if d.bool() else ()), {})),
    "arange": values_only(lambda d: (d.choice([(5,), (1, 7, 2), (0.0, 1.0, 0.25), (3, -2, -1)]), {})),
    "linspace": values_only(lambda d: ((d.choice([0.0, -1.0, -3.0]), d.choice([1.0, 5.0, 2.5]), d.int(0, 6)),
                                       {"dtype": DType(d.choice(ALL))} if d.bool() else {})),
    "zeros_like": values_only(_like()), "ones_like": values_only(_like()),
    "full_like": values_only(lambda d: ((_x(d, NUMERIC), 2), {})),
    "tensor": values_only(lambda d: ((d.choice([[1, 2], [1.5, 2.0], [[True], [False]], 3.0, 7, []]),), {})),
    "as_tensor": values_only(lambda d: ((d.choice([[1, 2], [1.5, 2.0], 3.0]),), {})),
    "is_tensor": values_only(lambda d: ((d.choice([_x(d), 3.0, [1.0]]),), {})),
    "numel": values_only(lambda d: ((_x(d),), {})),
    "allclose": values_only(lambda d: (lambda x: ((x, x + d.choice([0.0, 1e-9, 1e-2])), {}))(_x(d))),
    "equal": values_only(lambda d: (lambda x: ((x, x if d.bool() else x + 1), {}))(_x(d))),
    "empty_like": values_only(lambda d: ((_x(d, ALL),), {}),
                              post=lambda s, out: (tuple(out.shape), str(out.dtype).replace("torch.", ""))),
    "empty": values_only(lambda d: (_size(d), {}),
                         post=lambda s, out: (tuple(out.shape), str(out.dtype).replace("torch.", ""))),
}


def _random_shape_dtype(side, out):
    return (tuple(out.shape), str(out.dtype).replace("torch.", ""))


RANDOM = {n: values_only(g, post=_random_shape_dtype) for n, g in {
    "rand": lambda d: (_size(d), {}), "randn": lambda d: (_size(d), {}),
    "rand_like": lambda d: ((_x(d),), {}), "randn_like": lambda d: ((_x(d),), {}),
    "randint": lambda d: ((0, 5, d.shape(max_dims=3)), {}), "randperm": lambda d: ((d.int(0, 5),), {}),
}.items()}

NN_FUNCTIONAL = {
    # integer and bool inputs: PyTorch's kernels refuse most (NotImplementedError)
    "F.relu": unary(dtypes=ALL), "F.sigmoid": unary(dtypes=ALL), "F.tanh": unary(dtypes=ALL),
    "F.gelu": unary(dtypes=ALL, kwargs=lambda d: {"approximate": d.choice(["none", "tanh"])}),
    "F.elu": unary(dtypes=ALL, kwargs=lambda d: {"alpha": d.choice([1.0, 0.5])}),
    "F.leaky_relu": unary(dtypes=ALL, kwargs=lambda d: {"negative_slope": d.choice([0.01, 0.2])}),
    "F.softplus": unary(dtypes=ALL, kwargs=lambda d: {"beta": d.choice([1.0, 2.0]), "threshold": d.choice([20.0, 1.0])}),
    "F.silu": unary(dtypes=ALL), "F.mish": unary(dtypes=ALL), "F.logsigmoid": unary(dtypes=ALL),
    "F.softmax": generic(_one_dim(dim_kw="dim")), "F.log_softmax": generic(_one_dim(dim_kw="dim")),
    "F.linear": generic(lambda d: (lambda x, w: ((x, w.T.copy(), d.array((w.shape[1],), x.dtype) if d.bool() else None), {}))(
        *_matrix_pair(d))),
    "F.conv2d": generic(_conv2d_args, grad_tol=(1e-6, 1e-8)),
    "F.conv1d": generic(_conv1d_args),
    "F.max_pool2d": generic(lambda d: _pool_args(d)),
    "F.avg_pool2d": generic(lambda d: (lambda a, k: (a, {**k, "count_include_pad": d.bool()}))(
        *_pool_args(d, dilation=False))),
    "F.adaptive_avg_pool2d": generic(lambda d: ((d.array((1, 2, d.int(1, 6), d.int(1, 6))),
                                                 d.choice([1, 2, (2, 3), 3])), {})),
    "F.pad": generic(lambda d: ((_x(d, min_dims=1), d.choice([(1, 1), (0, 2), (1, 0, 2, 1)])),
                                {"value": d.choice([0.0, 1.5])})),
    "F.layer_norm": generic(_layer_norm),
    "F.batch_norm": generic(_batch_norm, check_args=False),
    "F.embedding": generic(lambda d: (lambda w: ((d.array((d.int(0, 3), d.int(1, 3)), "int64", f"int:0:{w.shape[0]}"), w),
                                                 {"max_norm": d.choice([None, 0.5, 1.0]), "norm_type": d.choice([1.0, 2.0])}))(
        d.array((d.int(1, 4), d.int(1, 3))))),
    # labels of another dtype than int64: PyTorch refuses them
    "F.one_hot": values_only(lambda d: ((d.array((d.int(0, 4),), d.choice(["int64"] * 3 + ["int32", "float64"]), "int:0:3"),),
                                        {"num_classes": d.choice([-1, 3, 4])})),
    "F.normalize": generic(lambda d: ((_x(d, min_dims=1, domain="away"),), {"dim": -1, "p": d.choice([1.0, 2.0])})),
    "F.cosine_similarity": generic(lambda d: (lambda s: ((d.array(s, "float64", "away"), d.array(s, "float64", "away")), {"dim": -1}))(
        d.shape(min_dims=1, min_side=1))),
    "F.dropout": values_only(lambda d: ((_x(d),), {"p": d.choice([0.0, 0.3]), "training": False})),
    "F.dropout2d": values_only(lambda d: ((d.array((2, 3, 2, 2)),), {"p": 0.3, "training": False})),
    "F.mse_loss": generic(_loss_pair()), "F.l1_loss": generic(_loss_pair()),
    "F.smooth_l1_loss": generic(_loss_pair()), "F.huber_loss": generic(_loss_pair()),
    "F.binary_cross_entropy": generic(_loss_pair("unit", "unit")),
    "F.binary_cross_entropy_with_logits": generic(_loss_pair("real", "unit")),
    "F.kl_div": generic(lambda d: (lambda x, y: ((np.log(x), y), {"reduction": d.choice(["sum", "batchmean", "none"])}))(
        *_loss_pair("unit", "unit", False)(d)[0])),
    "F.nll_loss": generic(_nll()),
    "F.cross_entropy": generic(_nll(log=False)),
}

TENSOR = {
    # surface-specific calls: variadic sizes, in-place methods, conversions, properties
    "Tensor.view": generic(lambda d: (lambda x: ((x,) + _shape_arg(d, x), {}))(_x(d))),
    "Tensor.view_as": generic(lambda d: (lambda x: ((x, x.reshape(-1)), {}))(_x(d))),
    "Tensor.expand": generic(lambda d: (lambda s: ((d.array(s[0]),) + tuple(np.broadcast_shapes(*s)), {}))(
        d.shapes(2))),
    "Tensor.expand_as": generic(lambda d: (lambda s: ((d.array(s[0]), d.array(np.broadcast_shapes(*s))), {}))(
        d.shapes(2))),
    "Tensor.permute": generic(lambda d: (lambda x: ((x,) + tuple(d.rng.permutation(x.ndim).tolist()), {}))(
        _x(d, min_dims=1))),
    "Tensor.repeat": generic(lambda d: (lambda x: ((x,) + tuple(d.int(0, 2) for _ in range(max(x.ndim, 1))), {}))(
        _x(d, min_dims=1))),
    "Tensor.reshape": generic(lambda d: (lambda x: ((x,) + _shape_arg(d, x), {}))(_x(d))),
    "Tensor.type_as": nondiff(generic(lambda d: ((_x(d), _x(d, ALL)), {}))),
    "Tensor.float": unary(dtypes=ALL, grad=False), "Tensor.double": unary(dtypes=ALL, grad=False),
    "Tensor.half": unary(dtypes=FLOATS, grad=False, tol=(1e-3, 1e-3)),
    "Tensor.long": unary(dtypes=INTS + ("bool",)), "Tensor.int": unary(dtypes=INTS + ("bool",)),
    "Tensor.bool": unary(dtypes=ALL, grad=False),
    "Tensor.to": values_only(lambda d: ((_x(d, ALL), DType(d.choice(ALL))), {})),
    "Tensor.detach": unary(grad=False), "Tensor.contiguous": unary(),
    "Tensor.cpu": unary(),
    "Tensor.numpy": values_only(lambda d: ((_x(d, ALL),), {}),
                                post=lambda s, out: s.lib.from_numpy(out) if s.is_torch else s.lib.tensor(out)),
    "Tensor.item": values_only(lambda d: ((d.tensor((), ALL) if d.int(0, 5) else d.tensor((2,)),), {})),
    "Tensor.tolist": values_only(lambda d: ((_x(d, ALL, max_dims=2),), {}),
                                 post=lambda s, out: repr(out)),
    "Tensor.size": values_only(lambda d: (lambda x: ((x,) + ((d.dim(x.ndim),) if d.bool() else ()), {}))(_x(d))),
    "Tensor.dim": values_only(lambda d: ((_x(d),), {})),
    "Tensor.numel": values_only(lambda d: ((_x(d),), {})),
    "Tensor.is_floating_point": values_only(lambda d: ((_x(d, ALL),), {})),
    "Tensor.zero_": values_only(lambda d: ((_x(d),), {})),
    "Tensor.fill_": values_only(lambda d: ((_x(d), 2.5), {})),
    "Tensor.copy_": values_only(lambda d: (lambda s: ((d.array(np.broadcast_shapes(*s)), d.array(s[0])), {}))(
        d.shapes(2))),
    "Tensor.add_": values_only(lambda d: (lambda s: ((d.array(np.broadcast_shapes(*s)), d.array(s[1])),
                                                     {"alpha": d.choice([1, 2.0])}))(d.shapes(2))),
    "Tensor.sub_": values_only(lambda d: (lambda s: ((d.array(np.broadcast_shapes(*s)), d.array(s[1])), {}))(
        d.shapes(2))),
    "Tensor.mul_": values_only(lambda d: (lambda s: ((d.array(np.broadcast_shapes(*s)), d.array(s[1])), {}))(
        d.shapes(2))),
    "Tensor.div_": values_only(lambda d: (lambda s: ((d.array(np.broadcast_shapes(*s)), d.array(s[1], domain="away")), {}))(
        d.shapes(2))),
    "Tensor.clamp_": values_only(lambda d: ((_x(d), -0.5, 0.5), {})),
    "Tensor.masked_fill_": values_only(lambda d: (lambda x: ((x, _bool_mask(d, x.shape), 9.0), {}))(_x(d))),
    "Tensor.requires_grad_": values_only(lambda d: ((_x(d),), {}),
                                         post=lambda s, out: out.requires_grad),
    "Tensor.uniform_": values_only(lambda d: ((_x(d),), {}), post=_random_shape_dtype, check_args=False),
    "Tensor.normal_": values_only(lambda d: ((_x(d),), {}), post=_random_shape_dtype, check_args=False),
    "Tensor.new_zeros": values_only(lambda d: ((_x(d, ALL), 2, 3), {})),
    "Tensor.new_ones": values_only(lambda d: ((_x(d, ALL), 2), {})),
    "Tensor.new_full": values_only(lambda d: ((_x(d, ALL), (2,), 3), {})),
    "Tensor.new_tensor": values_only(lambda d: ((_x(d, ALL), [1, 2]), {})),
    "Tensor.new_empty": values_only(lambda d: ((_x(d, ALL), 2), {}), post=_random_shape_dtype),
    "Tensor.type": values_only(lambda d: ((_x(d, ALL), DType(d.choice(ALL))), {})),
}

# attributes compared on both (properties and operators)
ATTRIBUTES = {
    "Tensor.T": generic(lambda d: ((_x(d, max_dims=2),), {}), call="attr"),
    "Tensor.shape": values_only(lambda d: ((_x(d),), {}), call="attr"),
    "Tensor.ndim": values_only(lambda d: ((_x(d),), {}), call="attr"),
    "Tensor.dtype": values_only(lambda d: ((_x(d, ALL),), {}), call="attr"),
    "Tensor.is_leaf": values_only(lambda d: ((_x(d),), {}), call="attr"),
    "Tensor.requires_grad": values_only(lambda d: ((_x(d, ALL),), {}), call="attr"),
    "Tensor.data": values_only(lambda d: ((_x(d),), {}), call="attr"),
    "Tensor.grad": values_only(lambda d: ((_x(d),), {}), call="attr"),
}

CASES = {**ELEMENTWISE, **REDUCTIONS, **LINALG, **SHAPE, **CREATION, **RANDOM, **NN_FUNCTIONAL,
         **TENSOR, **ATTRIBUTES}


# --- the rest of the surface: state, dtypes, autograd entry points -------------------------

def _scatter_args(d):
    """scatter with distinct indices along dim (which of colliding writes wins is
    unspecified in PyTorch); src a tensor or a number."""
    x = _x(d, min_dims=1, min_side=1)
    dim = d.dim(x.ndim, False) % x.ndim
    shape = list(x.shape)
    shape[dim] = d.int(0, x.shape[dim])
    perm = np.argsort(d.rng.random((x.shape[dim],) + tuple(shape[:dim] + shape[dim + 1:])), axis=0)
    index = np.moveaxis(perm[:shape[dim]], 0, dim).astype("int64")
    # src of another dtype than x: PyTorch refuses it
    dt = x.dtype if d.int(0, 3) else d.choice(["float32", "float64", "float16"])
    src = d.array(shape, dt) if d.bool() else d.choice([1.5, -2.0])
    return (x, dim, index, src), {}


def _grad_mode(ctx):
    def call(side, x):
        with getattr(side.lib, ctx)(*((False,) if ctx == "set_grad_enabled" else ())):
            y = x * 2
        return y.requires_grad, side.lib.is_grad_enabled()
    return values_only(lambda d: ((_x(d),), {}), call=call)


def _with_default_dtype(side, x):
    side.lib.set_default_dtype(side.lib.float64)
    try:
        return side.lib.tensor([1.5]).dtype, side.lib.get_default_dtype(), side.lib.zeros(1).dtype
    finally:
        side.lib.set_default_dtype(side.lib.float32)


def _backward(side, x):
    (x * x).sum().backward()
    return x.grad


def _retain(side, x):
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    return y.grad


def _hook(side, x):
    x.register_hook(lambda g: g * 3)
    (x * x).sum().backward()
    return x.grad


def _post_hook(side, x):
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad * 1))
    (x * x).sum().backward()
    return seen[0]


def _dtype_alias(name):
    return values_only(lambda d: ((), {}), call=lambda side: (
        side.lib.zeros(2, dtype=getattr(side.lib, name)).dtype, getattr(side.lib, name)))


STATE = {
    "torch.Tensor": values_only(lambda d: ((d.choice([[1, 2], [1.5, 2.0], [[True], [False]], []]),), {})),
    "scatter": generic(_scatter_args),
    "torch.conv2d": generic(_conv2d_args),
    "torch.dropout": values_only(lambda d: ((_x(d), d.choice([0.0, 0.5]), False), {})),
    "torch.device": values_only(lambda d: (("cpu",), {}), post=lambda s, out: str(out)),
    "torch.from_numpy": values_only(lambda d: ((_x(d, ALL),), {}),
                                    call=lambda side, x: side.lib.from_numpy(x.numpy().copy())),
    "torch.no_grad": _grad_mode("no_grad"), "torch.enable_grad": _grad_mode("enable_grad"),
    "torch.set_grad_enabled": _grad_mode("set_grad_enabled"),
    "torch.is_grad_enabled": values_only(lambda d: ((), {})),
    "torch.get_default_dtype": values_only(lambda d: ((), {})),
    "torch.set_default_dtype": values_only(lambda d: ((_x(d),), {}), call=_with_default_dtype),
    "Tensor.backward": values_only(lambda d: ((_x(d),), {}), call=_backward),
    "Tensor.retain_grad": values_only(lambda d: ((_x(d),), {}), call=_retain),
    "Tensor.register_hook": values_only(lambda d: ((_x(d),), {}), call=_hook),
    "Tensor.register_post_accumulate_grad_hook": values_only(lambda d: ((_x(d),), {}), call=_post_hook),
    "Tensor.detach_": values_only(lambda d: ((_x(d),), {}),
                                  call=lambda side, x: (lambda y: (y.detach_(), y.requires_grad))(x * 2)),
    "Tensor.device": values_only(lambda d: ((_x(d),), {}), call=lambda side, x: str(x.device)),
    "Tensor.grad_fn": values_only(lambda d: ((_x(d),), {}),
                                  call=lambda side, x: (x.grad_fn is None, (x * 2).grad_fn is None)),
    "nn.Parameter": values_only(lambda d: ((_x(d),), {}), call=lambda side, x: (
        lambda p: (p, p.requires_grad, p.is_leaf))(side.lib.nn.Parameter(x.detach()))),
    **{f"torch.{n}": _dtype_alias(n) for n in
       "bool double float float16 float32 float64 half int int16 int32 int64 int8 long short uint8".split()},
}

CASES.update(STATE)

from .module_methods import METHOD_CASES  # noqa: E402  (nn.Module's methods)
CASES.update(METHOD_CASES)

from .case_table_wide import WIDE  # noqa: E402  (the surface merged from pt-ops, pt-nn, pt-data)
CASES.update(WIDE)
