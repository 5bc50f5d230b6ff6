"""DyNet's refusals that the dialect's functions would otherwise compute past.

DyNet 2.1.2 raises on these inputs (tests/dynet/reference/refusals.json records where, found
by calling every expression function with wrong inputs on real DyNet); the functions of
expr.py and functions.py would broadcast, batch or convert their way to a number.  Each check
here runs before its function and raises a compgraph error naming the function, the dims and
what DyNet accepts.  They wrap functions that are not on a training step's hot path (a
wrapper is one more Python call); the hot ones (pick, pickneglogsoftmax, esum, concatenate)
check inline.
"""
import functools

import numpy as np

from ..errors import ArgumentError, ArgumentValueError, ShapeError
from . import expr as _expr, functions as _functions, lstm_ops as _lstm_ops
from .graph import BatchedExpression

_MAX_DIMS = 7      # DyNet's Dim holds at most 7 dimensions


def _batch(x):
    return x.shape[0] if x.__class__ is BatchedExpression else 1


def _dims(x):
    return tuple(x.shape[1:] if x.__class__ is BatchedExpression else x.shape) or (1,)


def _desc(x):
    b = _batch(x)
    return f"dims {_dims(x)}" + (f" (a batch of {b})" if b > 1 else "")


def no_batch(fn, *xs):
    """DyNet's node for fn does not support batching: every operand unbatched."""
    for x in xs:
        if x.__class__ is BatchedExpression:
            raise ShapeError(f"{fn}: DyNet 2.1.2 computes this for unbatched expressions only "
                             f"(its node does not support batching); got {_desc(x)}. Compute "
                             f"it per batch element (dy.pick_batch_elem)")


def same_batch(fn, *xs):
    """All operands with one batch size (no broadcasting of an unbatched one)."""
    bs = [_batch(x) for x in xs]
    if len(set(bs)) > 1:
        raise ShapeError(f"{fn}: the operands must have the same batch size in DyNet 2.1.2, got "
                         f"{', '.join(_desc(x) for x in xs)}")


def same_dims(fn, *xs):
    ds = [_dims(x) for x in xs]
    if len(set(ds)) > 1:
        raise ShapeError(f"{fn}: the operands must have the same dims (DyNet 2.1.2 does not "
                         f"broadcast here; a vector is not a one-column matrix), got "
                         f"{', '.join(str(d) for d in ds)}")


def one_element(fn, what, x, batched_ok=False):
    if int(np.prod(_dims(x))) != 1 or (not batched_ok and _batch(x) > 1):
        raise ShapeError(f"{fn}: {what} must be a single number (dims (1,)"
                         f"{'' if batched_ok else ', unbatched'}), got {_desc(x)}")


def expr_list(fn, xs, odd=False):
    """DyNet types these arguments `list`: an expression or a number there is refused."""
    if not isinstance(xs, (list, tuple)):
        raise ArgumentError(f"{fn}: expected a list of expressions, got {type(xs).__name__} "
                            f"{xs!r:.60}" + ("; for one expression pass [x]"
                                              if hasattr(xs, "dim") else ""))
    if not xs:
        raise ArgumentError(f"{fn}: expected a non-empty list of expressions")
    if odd and len(xs) % 2 == 0:
        raise ArgumentError(f"{fn}: expected [b, W1, x1, W2, x2, ...] (an odd number of "
                            f"expressions), got {len(xs)}")


def whole(fn, what, v):
    """An unsigned int argument: a list or a negative number is refused (DyNet: TypeError,
    OverflowError)."""
    if isinstance(v, (list, tuple, np.ndarray)):
        raise ArgumentError(f"{fn}: {what} must be an integer, got a list {v!r:.60}")
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) and v < 0:
        raise ArgumentValueError(f"{fn}: {what} must be a non-negative integer, got {v}")
    if not isinstance(v, (int, np.integer)) or isinstance(v, (bool, np.bool_)):
        raise ArgumentError(f"{fn}: {what} must be an integer, got {v!r} ({type(v).__name__})")


def int_list(fn, what, v):
    if not isinstance(v, (list, tuple, np.ndarray)):
        raise ArgumentError(f"{fn}: {what} must be a list of integers (as DyNet's), got "
                            f"{type(v).__name__} {v!r:.60}")


def _ex(xs):
    return [_expr._ex(x) if x is not None else x for x in xs]


# --- the checks, per function ---------------------------------------------------------------------
def _binary_log_loss(x, y):
    x, y = _ex((x, y))
    no_batch("binary_log_loss", x, y)
    same_dims("binary_log_loss", x, y)
    return (x, y), {}


def _dot_product(a, b):
    a, b = _ex((a, b))
    same_dims("dot_product", a, b)
    return (a, b), {}


def _pair_same_batch(fn):
    def check(a, b, *rest, **kw):
        a, b = _ex((a, b))
        same_batch(fn, a, b)
        return (a, b) + rest, kw
    return check


def _pair_no_batch(fn):
    def check(a, b, *rest, **kw):
        a, b = _ex((a, b))
        no_batch(fn, a, b)
        return (a, b) + rest, kw
    return check


def _cdiv(a, b):
    a, b = _ex((a, b))
    if _batch(b) != 1 and _batch(b) != _batch(a):
        raise ShapeError(f"cdiv: the divisor's batch must match the dividend's or be 1 (DyNet "
                         f"2.1.2), got {_desc(a)} / {_desc(b)}")
    return (a, b), {}


def _colwise_add(x, bias):
    return tuple(_ex((x, bias))), {}


def _pow(x, y):
    x, y = _ex((x, y))
    one_element("pow", "the exponent y", y)
    return (x, y), {}


def _poisson_loss(log_lambda, x):
    (ll,) = _ex((log_lambda,))
    one_element("poisson_loss", "log_lambda", ll)
    whole("poisson_loss", "the target count", x)
    return (ll, x), {}


def _weight_norm(w, g):
    w, g = _ex((w, g))
    no_batch("weight_norm", w)
    one_element("weight_norm", "the gain g", g)
    return (w, g), {}


def _one_no_batch(fn):
    def check(x, *rest, **kw):
        (x,) = _ex((x,))
        no_batch(fn, x)
        return (x,) + rest, kw
    return check


def _contract3d_1d(x, y):
    x, y = _ex((x, y))
    if len(_dims(x)) != 3 or len(_dims(y)) != 1 or _dims(x)[2] != _dims(y)[0]:
        raise ShapeError(f"contract3d_1d: expected a 3-d tensor (i, j, k) and a k-vector, got "
                         f"{_desc(x)} and {_desc(y)}")
    return (x, y), {}


def _contract3d_1d_1d(x, y, z):
    x, y, z = _ex((x, y, z))
    no_batch("contract3d_1d_1d", x, y, z)
    return (x, y, z), {}


def _log_softmax(x, restrict=None):
    (x,) = _ex((x,))
    if restrict is not None:
        int_list("log_softmax", "restrict", restrict)
        no_batch("log_softmax (with restrict)", x)
    return (x, restrict), {}


def _hinge(x, index, m=1.0):
    (x,) = _ex((x,))
    whole("hinge", "the index", index)
    if _batch(x) > 1:
        raise ShapeError(f"hinge: one index ({index}) for {_desc(x)}: use hinge_batch with "
                         f"one index per batch element (as DyNet)")
    return (x, index, m), {}


def _ids_arg(fn, pos, what="d"):
    def check(*args, **kw):
        args = list(args)
        if len(args) > pos:
            int_list(fn, what, args[pos])
        elif what in kw:
            int_list(fn, what, kw[what])
        return tuple(args), kw
    return check


def _moment(fn, pos):
    def check(*args, **kw):
        if len(args) > pos:
            whole(fn, "the order r", args[pos])
        return args, kw
    return check


def _moment_dim(x, d, r, b=False, n=0):
    int_list("moment_dim", "d", d)
    whole("moment_dim", "the order r", r)
    return (x, d, r, b, n), {}


def _list_fn(fn, odd=False):
    def check(xs, *rest, **kw):
        expr_list(fn, xs, odd)
        return (xs,) + rest, kw
    return check


def _emax(xs):
    expr_list("emax", xs)
    same_batch("emax", *_ex(xs))
    return (xs,), {}


def _kint(fn, pos, what, batched=True):
    def check(*args, **kw):
        if len(args) > pos:
            whole(fn, what, args[pos])
        if not batched:
            no_batch(fn, *_ex(args[:1]))
        return args, kw
    return check


def _batches_of(fn):
    def check(x):
        (x,) = _ex((x,))
        return (x,), {}
    return check


def _lstm_pair(fn):
    def check(c, gates):
        c, gates = _ex((c, gates))
        same_batch(fn, c, gates)
        return (c, gates), {}
    return check


CHECKS = {
    _expr: {
        "binary_log_loss": _binary_log_loss, "dot_product": _dot_product,
        "bmax": _pair_same_batch("bmax"), "bmin": _pair_same_batch("bmin"),
        "cdiv": _cdiv, "colwise_add": _colwise_add, "l1_distance": _pair_no_batch("l1_distance"),
        "log_softmax": _log_softmax, "hinge": _hinge, "block_dropout": _one_no_batch("block_dropout"),
        "sum_dim": _ids_arg("sum_dim", 1), "mean_dim": _ids_arg("mean_dim", 1),
        "average": _list_fn("average"), "logsumexp": _list_fn("logsumexp"),
        "concatenate_cols": _list_fn("concatenate_cols"),
        "concatenate_to_batch": _list_fn("concatenate_to_batch"),
        "affine_transform": _list_fn("affine_transform", odd=True),
        "sum_batches": _batches_of("sum_batches"), "mean_batches": _batches_of("mean_batches"),
    },
    _functions: {
        "pow": _pow, "poisson_loss": _poisson_loss, "weight_norm": _weight_norm,
        "huber_distance": _pair_no_batch("huber_distance"),
        "pairwise_rank_loss": _pair_same_batch("pairwise_rank_loss"),
        "trace_of_product": _pair_no_batch("trace_of_product"),
        "circ_conv": _pair_no_batch("circ_conv"), "circ_corr": _pair_no_batch("circ_corr"),
        "contract3d_1d": _contract3d_1d, "contract3d_1d_1d": _contract3d_1d_1d,
        "kmh_ngram": _kint("kmh_ngram", 1, "n", batched=False),
        "fold_rows": _kint("fold_rows", 1, "nrows"), "kmax_pooling": _kint("kmax_pooling", 1, "k"),
        "std_dim": _ids_arg("std_dim", 1), "moment_dim": _moment_dim,
        "moment_elems": _moment("moment_elems", 1), "moment_batches": _moment("moment_batches", 1),
        "hinge_batch": _ids_arg("hinge_batch", 1, "indices"), "emax": _emax,
    },
    _lstm_ops: {
        "vanilla_lstm_c": _lstm_pair("vanilla_lstm_c"), "vanilla_lstm_h": _lstm_pair("vanilla_lstm_h"),
    },
}


def _wrap(fn, check):
    @functools.wraps(fn)
    def checked(*args, **kw):
        args, kw2 = check(*args, **kw)
        return fn(*args, **kw2)
    return checked


def install(namespace):
    """Replace each checked function, in the module defining it and in `namespace` (the
    package's globals), by its checked version."""
    for module, table in CHECKS.items():
        for name, check in table.items():
            checked = _wrap(getattr(module, name), check)
            setattr(module, name, checked)
            if name in namespace:
                namespace[name] = checked
