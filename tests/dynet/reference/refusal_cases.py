"""The refusal sweep: every expression function of the dialect called with wrong inputs --
a list where an Expression is expected, a mismatched dimension, batches of different sizes,
a batched operand next to an unbatched one, a list, a float, a negative or too large number
where an int is expected -- next to the call with right inputs.  Real DyNet decides which of
them raise (generate_refusals.py records it); compgraph.dynet must raise a clear error
exactly there and compute DyNet's value everywhere else (tests/dynet/test_refusals.py).

A spec is (name, argument kinds, keyword arguments); the variants are made from the kinds.
"""
import numpy as np

from harness import data

# expression kinds: (dims, batch) of a trainable input with fixed values
EXPR = {"v": ((3,), 1), "v4": ((4,), 1), "m": ((3, 2), 1), "m42": ((4, 2), 1), "M": ((3, 3), 1),
        "col": ((3, 1), 1), "T": ((2, 3, 2), 1), "img": ((4, 4, 1), 1), "flt": ((2, 2, 1, 2), 1),
        "fb": ((2,), 1), "s": ((1,), 1), "pos": ((3,), 1), "prob": ((3,), 1), "v6": ((6,), 1),
        "g": ((12,), 1), "h": ((3,), 1), "Wx": ((12, 3), 1), "Wh": ((12, 3), 1), "b12": ((12,), 1),
        "m23": ((2, 3), 1), "f12": ((3, 2), 1), "bv": ((3,), 2), "bv4": ((4,), 2)}
# a different size of the same rank, for the `dim` variant
OTHER = {"v": "v4", "m": "m42", "M": "m", "col": "v4", "fb": "v", "s": "v", "pos": "v4",
         "prob": "v4", "h": "v4", "T": "m", "img": "m", "flt": "m", "m23": "m42", "f12": "m42",
         "g": "v4", "b12": "v4", "Wx": "m42", "Wh": "m42", "v6": "v4", "bv": "bv4"}


def _value(kind, seed):
    dims, _ = EXPR[kind]
    lo, hi = (0.1, 0.9) if kind in ("pos", "prob") else (-0.9, 0.9)
    if kind == "M":                   # well conditioned, positive determinant (inverse, logdet)
        return data(dims, seed, lo, hi) * 0.3 + 2 * np.eye(dims[0])
    return data(dims, seed, lo, hi)


def make(dy, c, kind, seed, batch=1):
    """A trainable expression of the kind (a batch of `batch` of them, lookup rows)."""
    batch = max(batch, EXPR[kind][1])
    if batch == 1:
        return c.param(f"x{seed}", _value(kind, seed))
    dims, _ = EXPR[kind]
    flat = int(np.prod(dims))
    rows = np.stack([_value(kind, seed + 10 * k).reshape(-1, order="F") for k in range(batch)])
    E = c.lookup(f"E{seed}", rows)
    e = dy.lookup_batch(E, list(range(batch)))
    return e if len(dims) == 1 else dy.reshape(e, dims, batch_size=batch)


SPECS = []


def spec(name, kinds, **kw):
    SPECS.append((name, tuple(kinds), kw))


for _n in ("sin cos tan asin acos atan sinh cosh tanh asinh atanh exp square sqrt abs erf cube "
           "log lgamma logistic rectify selu softsign sparsemax nobackprop flip_gradient "
           "squared_norm l2_norm sum_elems mean_elems std_elems sum_batches mean_batches "
           "std_batches transpose log_softmax").split():
    spec(_n, ("pos" if _n in ("sqrt", "log", "lgamma", "acosh") else "v",))
spec("acosh", ("v",))
spec("elu", ("v",), alpha=0.5)
spec("silu", ("v",), beta=1.0)
spec("scale_gradient", ("v",), lambd=0.5)
spec("inverse", ("M",))
spec("logdet", ("M",))
for _n in ("round", "ceil", "floor", "argmax"):
    spec(_n, ("v", "zero_gradient"))
spec("softmax", ("m", "d0"))
spec("log_softmax", ("v", "restrict"))
for _n in ("cdiv", "cmult", "bmin", "bmax", "squared_distance", "l1_distance", "dot_product",
           "circ_conv", "circ_corr"):
    spec(_n, ("v", "prob" if _n == "cdiv" else "v"))
spec("pow", ("prob", "s"))
spec("binary_log_loss", ("prob", "prob"))
spec("pairwise_rank_loss", ("s", "s"), m=1.0)
spec("huber_distance", ("v", "v"), c=1.0)
spec("colwise_add", ("m", "v"))
spec("trace_of_product", ("M", "M"))
spec("filter1d_narrow", ("m", "f12"))
spec("contract3d_1d", ("T", "fb"))
spec("contract3d_1d_1d", ("T", "fb", "v"))
spec("conv2d", ("img", "flt", "stride"))
spec("conv2d_bias", ("img", "flt", "fb", "stride"))
spec("maxpooling2d", ("img", "ksize", "stride"))
spec("weight_norm", ("v", "s"))
spec("layer_norm", ("v", "v", "v"))
spec("vanilla_lstm_gates", ("h", "h", "Wx", "Wh", "b12"))
spec("vanilla_lstm_c", ("h", "g"))
spec("vanilla_lstm_h", ("h", "g"))
spec("pick", ("v", "i1"))
spec("pick", ("m", "i1", "d1"))
spec("pick_batch", ("v", "ids2"))
spec("pickneglogsoftmax", ("v", "i1"))
spec("pickneglogsoftmax_batch", ("bv", "ids2"))
spec("hinge", ("v", "i1"), m=1.0)
spec("hinge_batch", ("bv", "ids2"), m=1.0)
spec("hinge_dim", ("m", "ids2", "d0"), m=1.0)
spec("poisson_loss", ("s", "i1"))
spec("pickrange", ("v", "i0", "i2"))
spec("pick_range", ("v", "i0", "i2"))
spec("pick_batch_elem", ("bv", "i1"))
spec("pick_batch_elems", ("bv", "ids2"))
spec("select_rows", ("m", "ids2"))
spec("select_cols", ("m", "ids1"))
spec("kmax_pooling", ("m", "i1"), d=1)
spec("kmh_ngram", ("m", "i1"))
spec("fold_rows", ("v6", "i2"))
spec("cumsum", ("m", "d1"))
spec("max_dim", ("m", "d1"))
spec("min_dim", ("m", "d1"))
spec("logsumexp_dim", ("m", "d1"))
spec("moment_elems", ("v", "i2"))
spec("moment_batches", ("v", "i2"))
spec("sum_dim", ("m", "dims0"))
spec("mean_dim", ("m", "dims0", "false"))
spec("std_dim", ("m", "dims0", "false"))
spec("moment_dim", ("m", "dims0", "i2", "false"))
spec("reshape", ("v6", "shape23"))
spec("strided_select", ("m", "strides", "from", "to"))
spec("dropout", ("v", "p0"))
spec("dropout_batch", ("v", "p0"))
spec("dropout_dim", ("m", "d1", "p0"))
spec("block_dropout", ("v", "p0"))
spec("noise", ("v", "p0"))
for _n in ("esum", "average", "logsumexp", "emax", "concatenate", "concatenate_cols",
           "concatenate_to_batch"):
    spec(_n, ("L",))
spec("affine_transform", ("Laff",))
spec("concatenate", ("L", "d1"))

# non-expression arguments: kind -> (value, wrong variants)
PLAIN = {
    "i0": 0, "i1": 1, "i2": 2, "d0": 0, "d1": 1, "zero_gradient": "zero_gradient",
    "restrict": [0, 2], "ids1": [1], "ids2": [0, 1], "dims0": [0], "false": False,
    "stride": [1, 1], "ksize": [2, 2], "shape23": (2, 3), "strides": [1, 1], "from": [0, 0],
    "to": [2, 1], "p0": 0.0,
}
INT_VARIANTS = {"list": [1], "float": 1.5, "neg": -1, "big": 9}
IDS_VARIANTS = {"int": 1, "big": [0, 9], "short": [0]}


def _build(dy, c, name, kinds, kw, swap):
    """Call dy.<name> with arguments of `kinds`; swap maps a position to a replacement:
    ("expr", kind, batch), ("list", kind), ("plain", value), ("plain_fn", fn(dy, c))."""
    args = []
    for k, kind in enumerate(kinds):
        how = swap.get(k)
        if kind in ("L", "Laff"):
            if how is None and kind == "Laff":       # b + W x
                args.append([make(dy, c, "v", 40), make(dy, c, "M", 41), make(dy, c, "v", 42)])
            elif how is None:
                args.append([make(dy, c, "v", 40), make(dy, c, "v", 41)])
            else:                                   # ("plain_fn", make the list)
                args.append(how[1](dy, c))
            continue
        if kind in EXPR:
            if how is None:
                args.append(make(dy, c, kind, k + 1))
            elif how[0] == "expr":
                args.append(make(dy, c, how[1], k + 1, how[2]))
            elif how[0] == "list":
                args.append(_value(kind, k + 1).tolist())
            continue
        args.append(PLAIN[kind] if how is None else how[1])
    return getattr(dy, name)(*args, **kw)


def variants():
    """{case name: (function name, kinds, kw, swap)} -- every spec and its wrong variants."""
    out = {}

    def add(label, name, kinds, kw, swap):
        key = f"{name}({','.join(kinds)})/{label}"
        out[key] = (name, kinds, kw, swap)

    for name, kinds, kw in SPECS:
        add("ok", name, kinds, kw, {})
        ex = [k for k, kind in enumerate(kinds) if kind in EXPR]
        for k in ex:
            add(f"list_for_arg{k}", name, kinds, kw, {k: ("list", kinds[k])})
            add(f"batched_arg{k}", name, kinds, kw, {k: ("expr", kinds[k], 2)})
            if kinds[k] in OTHER:
                add(f"dim_arg{k}", name, kinds, kw, {k: ("expr", OTHER[kinds[k]], 1)})
        if len(ex) >= 2:
            add("batches_2_and_3", name, kinds, kw,
                {ex[0]: ("expr", kinds[ex[0]], 2), ex[1]: ("expr", kinds[ex[1]], 3)})
            add("batches_2_and_2", name, kinds, kw,
                {ex[0]: ("expr", kinds[ex[0]], 2), ex[1]: ("expr", kinds[ex[1]], 2)})
        for k, kind in enumerate(kinds):
            if kind in ("i0", "i1", "i2", "d0", "d1"):
                for label, v in INT_VARIANTS.items():
                    add(f"int_{label}_arg{k}", name, kinds, kw, {k: ("plain", v)})
            elif kind in ("ids1", "ids2", "dims0", "restrict"):
                for label, v in IDS_VARIANTS.items():
                    add(f"ids_{label}_arg{k}", name, kinds, kw, {k: ("plain", v)})
            elif kind in ("L", "Laff"):
                for label, fn in (("mismatched_dims", lambda dy, c: [make(dy, c, "v", 40), make(dy, c, "v4", 41)]),
                                  ("empty", lambda dy, c: []),
                                  ("batches_2_and_3", lambda dy, c: [make(dy, c, "v", 40, 2), make(dy, c, "v", 41, 3)]),
                                  ("batched_and_not", lambda dy, c: [make(dy, c, "v", 40, 2), make(dy, c, "v", 41)]),
                                  ("expression_not_list", lambda dy, c: make(dy, c, "v", 40)),
                                  ("list_of_numbers", lambda dy, c: [1.0, 2.0])):
                    add(f"list_{label}", name, kinds, kw, {k: ("plain_fn", fn)})
    # the three reported by hand
    out["pickneglogsoftmax(v,ids2)/list_for_int"] = ("pickneglogsoftmax", ("v", "i1"), {}, {1: ("plain", [0, 1])})
    out["dot_product(col,v)/column_and_vector"] = ("dot_product", ("col", "v"), {}, {})
    out["binary_log_loss(col,prob)/column_and_vector"] = ("binary_log_loss", ("col", "prob"), {}, {})
    return out


def run_variant(dy, c, name, kinds, kw, swap):
    """The expression a variant computes (raises where the library refuses)."""
    return _build(dy, c, name, kinds, kw, swap)
