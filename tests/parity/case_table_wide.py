"""Parity cases of the surface merged from pt-ops, pt-nn and pt-data (issue 12, section 3):
the trig/hyperbolic/erf family, the wider tensor and functional surface, the legacy
constructors and the random functions (shapes, dtypes and errors only: their streams
differ by design).  Same format as case_table: one line per name."""
import numpy as np

from .case_kit import (ALL, Case, Const, FLOATS, INTS, NUMERIC, binary, compare, generic, nondiff,
                       reduction, unary, values_only)
from .case_table import _gather_args, _one_dim, _random_shape_dtype, _x


def _plus_one(d):
    return (np.asarray(d.tensor(None, FLOATS, "pos") + 1.0),), {}


def _shift_args(d):
    sa, sb = d.shapes(2)
    dt = d.choice(INTS)
    return (d.array(sa, dt, "int:0:50"), d.array(sb, dt, "int:0:4")), {}


def _lerp_args(d):
    sa, sb = d.shapes(2)
    x, y = d.array(sa), d.array(sb)
    w = d.choice([0.3, 1.5]) if d.bool() else d.array(sa, "float64", "unit")
    return (x, y, w), {}


def _diag_args(d):
    return (_x(d, min_dims=1, max_dims=2),), {"diagonal": d.int(-2, 2)}


def _diagonal_args(d):
    x = _x(d, min_dims=2)
    a, b = d.dim(x.ndim, False), d.dim(x.ndim, False)
    return (x,), {"offset": d.int(-2, 2), "dim1": a, "dim2": b}


def _masked_select_args(d):
    sa, sb = d.shapes(2)
    return (d.array(sa), d.array(sb, "bool")), {}


def _meshgrid_args(d):
    return tuple(d.array((d.int(0, 3),)) for _ in range(d.int(1, 3))), {
        "indexing": d.choice(["ij", "xy"])}


def _narrow_args(d):
    x = _x(d, min_dims=1)
    dim = d.dim(x.ndim, False)
    n = x.shape[dim]
    start = d.int(-n, n) if n else 0
    return (x, dim, start, d.int(0, max(n - (start % n if n else 0), 0))), {}


def _repeat_interleave_args(d):
    x = _x(d)
    if d.bool() or not x.ndim:
        return (x, d.int(0, 3)), {}
    dim = d.dim(x.ndim, False)
    return (x, d.array((x.shape[dim],), "int64", "int:0:3")), {"dim": dim}


def _roll_args(d):
    x = _x(d, min_dims=1)
    if d.bool():
        return (x, d.int(-5, 5)), {}
    return (x, d.int(-5, 5)), {"dims": d.dim(x.ndim, False)}


def _scatter_reduce_args(d):
    x, dim, index = _gather_args(d)
    reduce = d.choice(["sum", "prod", "mean", "amax", "amin"])
    src = d.array(index.shape, x.dtype, "distinct" if reduce in ("amax", "amin") else "away")
    return (x, dim, index, src, reduce), {"include_self": d.bool()}


def _unflatten_args(d):
    x = _x(d, min_dims=1)
    dim = d.dim(x.ndim, False)
    n = x.shape[dim]
    sizes = d.choice([(n,), (1, n), (-1, 1)] + ([(2, n // 2), (-1, 2)] if n % 2 == 0 and n else []))
    return (x, dim, sizes), {}


def _unfold_args(d):
    x = _x(d, min_dims=1)
    dim = d.dim(x.ndim, False)
    return (x, dim, d.int(1, max(x.shape[dim], 1)), d.int(1, 2)), {}


def _legacy(name):
    def call(side, data):
        t = getattr(side.lib, name)(data)
        return t, getattr(side.lib, name)(2, 3).shape
    return values_only(lambda d: ((d.choice([[1, 2], [0, 1, 1], [[1], [0]], []]),), {}), call=call)


def _randomness(gen, call):
    return values_only(gen, call=call, post=_random_shape_dtype, check_args=False)


def _filler(name, args=()):
    return _randomness(lambda d: ((_x(d, FLOATS),), {}),
                       lambda side, x: getattr(x.detach(), name)(*args))


TRIG = {
    "tan": unary("away", dtypes=NUMERIC, tol=(1e-4, 1e-4)),
    **{n: unary(dtypes=NUMERIC) for n in
       "atan arctan sinh cosh asinh arcsinh erf erfc exp2 expm1".split()},
    **{n: unary("unit", dtypes=NUMERIC) for n in "asin arcsin acos arccos atanh arctanh erfinv".split()},
    **{n: generic(_plus_one) for n in "acosh arccosh".split()},
    **{n: unary("pos", dtypes=NUMERIC) for n in "log2 log10".split()},
    "atan2": binary(scalar=False, edge=False), "arctan2": binary(scalar=False, edge=False),
    "logaddexp": binary(scalar=False), "copysign": binary("away", "away", edge=False),
    "fmod": binary(b="away", edge=False),
    "bitwise_left_shift": nondiff(generic(_shift_args)), "bitwise_right_shift": nondiff(generic(_shift_args)),
    "lerp": generic(_lerp_args), "isclose": compare(FLOATS, scalar=False),
    "celu": unary(dtypes=ALL, kwargs=lambda d: {"alpha": d.choice([1.0, 0.5])}), "selu": unary(dtypes=ALL),
}

SURFACE = {
    "logcumsumexp": generic(_one_dim()), "cummax": generic(_one_dim(domain="distinct")),
    "cummin": generic(_one_dim(domain="distinct")),
    "std_mean": reduction(extra=lambda d: {"unbiased": d.bool()} if d.bool() else {}),
    "var_mean": reduction(extra=lambda d: {"unbiased": d.bool()} if d.bool() else {}),
    "diag": generic(_diag_args), "diagonal": generic(_diagonal_args),
    "masked_select": generic(_masked_select_args),
    "meshgrid": generic(_meshgrid_args), "narrow": generic(_narrow_args),
    "Tensor.nelement": values_only(lambda d: ((_x(d),), {})),
    "repeat_interleave": generic(_repeat_interleave_args), "roll": generic(_roll_args),
    "scatter_reduce": generic(_scatter_reduce_args), "unflatten": generic(_unflatten_args),
    "Tensor.unfold": generic(_unfold_args),
    "div": binary(b="away", kwargs=lambda d: {"rounding_mode": d.choice([None, "floor", "trunc"])}),
}

LEGACY = {f"torch.{n}": _legacy(n) for n in
          "BoolTensor ByteTensor CharTensor DoubleTensor FloatTensor HalfTensor IntTensor "
          "LongTensor ShortTensor".split()}

RANDOM = {
    "bernoulli": _randomness(lambda d: ((_x(d, FLOATS, "unit"),), {}), lambda side, x: side.lib.bernoulli(x)),
    "Tensor.bernoulli": _randomness(lambda d: ((_x(d, FLOATS, "unit"),), {}), lambda side, x: x.bernoulli()),
    "multinomial": _randomness(lambda d: ((d.array((d.int(1, 2), d.int(1, 4)), "float64", "pos"), d.int(1, 3)),
                                          {"replacement": d.bool()}),
                               lambda side, p, n, **k: side.lib.multinomial(p, n, **k)),
    "Tensor.multinomial": _randomness(lambda d: ((d.array((d.int(1, 4),), "float64", "pos"), d.int(1, 3)), {}),
                                      lambda side, p, n: p.multinomial(n)),
    "normal": _randomness(lambda d: ((_x(d), d.array((), "float64", "pos")), {}),
                          lambda side, m, s: side.lib.normal(m, s)),
    "poisson": _randomness(lambda d: ((_x(d, FLOATS, "pos"),), {}), lambda side, x: side.lib.poisson(x)),
    "Tensor.poisson": _randomness(lambda d: ((_x(d, FLOATS, "pos"),), {}),
                                  lambda side, x: side.lib.poisson(x)),
    "randint_like": _randomness(lambda d: ((_x(d, ALL), 5), {}), lambda side, x, h: side.lib.randint_like(x, h)),
    "Tensor.bernoulli_": _filler("bernoulli_", (0.5,)), "Tensor.cauchy_": _filler("cauchy_"),
    "Tensor.exponential_": _filler("exponential_"), "Tensor.geometric_": _filler("geometric_", (0.3,)),
    "Tensor.log_normal_": _filler("log_normal_"), "Tensor.random_": _filler("random_", (0, 7)),
}

FUNCTIONAL = {
    "F.hardtanh": unary(dtypes=ALL, kwargs=lambda d: {"min_val": d.choice([-1.0, -2.0]), "max_val": d.choice([1.0, 2.0])}),
    "F.hardsigmoid": unary(dtypes=ALL), "F.hardswish": unary(dtypes=ALL), "F.relu6": unary(dtypes=ALL),
    "F.softsign": unary(dtypes=ALL), "F.softmin": generic(_one_dim(dim_kw="dim", dtypes=ALL)),
    # prelu's weight: one slope, or one per channel (dim 1)
    "F.prelu": Case(lambda d: (lambda x: ((x, d.array((d.choice([1, x.shape[1]]),), "float64",
                                                      edge=False)), {}))(
        d.array((d.int(1, 3), d.int(1, 4), d.int(1, 3)), "float64", edge=False))),
}

def _aten_embedding(d):
    w = d.array((d.int(1, 4), d.int(1, 3)))
    ids = d.array((d.int(0, 3), d.int(1, 3)), "int64", f"int:0:{w.shape[0]}")
    return (w, ids) + ((d.int(0, w.shape[0] - 1),) if d.bool() else ()), {}


def _aten_bce(d):
    s = d.shape(max_dims=3)
    x, y = d.array(s, "float64", edge=False), d.array(s, "float64", "unit", edge=False)
    extra = {}
    if d.bool():
        extra["weight"] = Const(d.array(s[-1:], "float64", "pos"))
    if d.bool():
        extra["pos_weight"] = Const(d.array(s[-1:], "float64", "pos"))
    if d.bool():
        extra["reduction"] = d.choice([0, 1, 2, "mean"])
    return (x, y), extra


# the top-level names with ATen's argument order (torch.embedding(weight, indices), ...)
ATEN = {"torch.embedding": generic(_aten_embedding),
        "torch.binary_cross_entropy_with_logits": generic(_aten_bce)}

WIDE = {**TRIG, **SURFACE, **LEGACY, **RANDOM, **FUNCTIONAL, **ATEN}


# --- convolutions, pooling, resampling, attention (float64, no edge values) ---------------

def _f64(d, shape):
    return d.array(shape, "float64", edge=False)


def _conv3d_args(d):
    cin, cout, k = d.choice([1, 2]), d.choice([1, 2]), d.int(1, 2)
    x = _f64(d, (1, cin) + tuple(d.int(k, 4) for _ in range(3)))
    w = _f64(d, (cout, cin, k, k, k))
    return (x, w, _f64(d, (cout,)) if d.bool() else None), {
        "stride": d.choice([1, 2]), "padding": d.choice([0, 1])}


def _conv_transpose_args(n):
    def gen(d):
        cin, cout, k = d.choice([1, 2]), d.choice([1, 2]), d.int(1, 3)
        stride = d.choice([1, 2])
        x = _f64(d, (d.int(1, 2), cin) + tuple(d.int(1, 4) for _ in range(n)))
        w = _f64(d, (cin, cout) + (k,) * n)
        return (x, w, _f64(d, (cout,)) if d.bool() else None), {
            "stride": stride, "padding": d.choice([0, 1]) if k > 1 else 0,
            "output_padding": d.choice([0, stride - 1]), "dilation": d.choice([1, 2])}
    return gen


def _avg_pool3d_args(d):
    k = d.choice([1, 2, (2, 1, 2)])
    x = _f64(d, (1, d.int(1, 2), d.int(2, 4), d.int(2, 4), d.int(2, 4)))
    return (x, k), {"stride": d.choice([None, 1]), "count_include_pad": d.bool()}


def _unpool_call(side, x, k):
    F = side.lib.nn.functional
    y, idx = F.max_pool2d(x, k, return_indices=True)
    return F.max_unpool2d(y, idx, k), idx


def _interpolate_args(d):
    mode = d.choice(["nearest", "linear", "bilinear", "bicubic"])
    n = 1 if mode == "linear" else 2 if mode in ("bilinear", "bicubic") else d.int(1, 2)
    x = _f64(d, (1, d.int(1, 2)) + tuple(d.int(1, 4) for _ in range(n)))
    k = {"mode": mode}
    if d.bool():
        k["size"] = tuple(d.int(1, 6) for _ in range(n))
    else:
        k["scale_factor"] = d.choice([2, 2.0, 3])
    if mode != "nearest":
        k["align_corners"] = d.bool()
    return (x,), k


def _sdpa_args(d):
    b, lq, lk, e = d.int(1, 2), d.int(1, 4), d.int(1, 4), d.int(1, 4)
    k = {}
    form = d.int(0, 2)
    if form == 1:
        k["is_causal"] = True
    elif form == 2:
        k["attn_mask"] = d.array((lq, lk), "bool") | np.eye(lq, lk, dtype=bool) if d.bool() \
            else _f64(d, (lq, lk))
    return (_f64(d, (b, lq, e)), _f64(d, (b, lk, e)), _f64(d, (b, lk, e))), k


def _mha_forward(side, q, w_in, b_in, w_out, b_out):
    return side.lib.nn.functional.multi_head_attention_forward(
        q, q, q, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out, training=False)


FUNCTIONAL.update({
    "F.conv3d": generic(_conv3d_args, grad_tol=(1e-6, 1e-8)),
    "F.conv_transpose1d": generic(_conv_transpose_args(1), grad_tol=(1e-6, 1e-8)),
    "F.conv_transpose2d": generic(_conv_transpose_args(2), grad_tol=(1e-6, 1e-8)),
    "F.avg_pool3d": generic(_avg_pool3d_args),
    "F.max_unpool2d": generic(lambda d: ((d.array((1, d.int(1, 2), d.int(2, 6), d.int(2, 6)), "float64", "distinct"),
                                          d.choice([2, (2, 1)])), {}), call=_unpool_call),
    "F.interpolate": generic(_interpolate_args),
    "F.upsample": generic(lambda d: ((_f64(d, (1, 1, d.int(1, 4), d.int(1, 4))),), {"scale_factor": 2})),
    "F.scaled_dot_product_attention": generic(_sdpa_args),
    "F.multi_head_attention_forward": generic(lambda d: ((_f64(d, (d.int(1, 3), d.int(1, 2), 4)), _f64(d, (12, 4)),
                                                          _f64(d, (12,)), _f64(d, (4, 4)), _f64(d, (4,))), {}),
                                              call=_mha_forward),
})
WIDE.update(FUNCTIONAL)
