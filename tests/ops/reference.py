"""NumPy reference for each op's forward, written independently of the op table."""
import math

import numpy as np


def _softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _xent(logits, target, reduction="mean"):
    logp = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) \
        - logits.max(-1, keepdims=True)
    if target.dtype.kind in "iu":
        per = -np.take_along_axis(logp, target[..., None], -1)[..., 0]
    else:
        per = -(target * logp).sum(-1)
    return {"mean": np.mean, "sum": np.sum, "none": lambda x: x}[reduction](per)


def _scatter(g, index, shape):
    out = np.zeros(shape, g.dtype)
    np.add.at(out, index, g)
    return out


_erf = np.vectorize(math.erf)

def _sig(z):
    return 1 / (1 + np.exp(-z))


def _lstm_cell(xw, hw, c):
    z = xw + hw
    H = c.shape[-1]
    i, f, g, o = _sig(z[..., :H]), _sig(z[..., H:2 * H]), np.tanh(z[..., 2 * H:3 * H]), _sig(z[..., 3 * H:])
    c2 = f * c + i * g
    return np.concatenate([o * np.tanh(c2), c2], axis=-1)


def _dynet_gates(x, h, Wx, Wh, b, forget_bias=0.0):
    z = Wx @ x + Wh @ h + b
    H = len(b) // 4
    z[H:2 * H] += forget_bias
    return np.concatenate([_sig(z[:3 * H]), np.tanh(z[3 * H:])])


def _dynet_c(c, gates):
    H = len(c)
    return gates[H:2 * H] * c + gates[:H] * gates[3 * H:]


def _dynet_h(c, gates):
    H = len(c)
    return gates[2 * H:3 * H] * np.tanh(c)


def _lstm_layer(xw, whh, h0, c0):
    """Step by step with the cell above, written independently of the fused op."""
    H = whh.shape[1]
    h, c, rows = h0, c0, []
    for t in range(len(xw)):
        z = xw[t] + h @ whh.T
        hc = _lstm_cell(z, np.zeros_like(z), c)
        h, c = hc[..., :H], hc[..., H:]
        gates = np.concatenate([_sig(z[..., :2 * H]), np.tanh(z[..., 2 * H:3 * H]), _sig(z[..., 3 * H:])], -1)
        rows.append(np.concatenate([h, c, gates], -1))
    return np.stack(rows)


def _index_put(a, v, index):
    out = np.array(a)
    out[index] = v
    return out


def _vnorm(a, ord, axis, keepdims):
    m = np.abs(a)
    if ord == np.inf:
        return m.max(axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return m.min(axis=axis, keepdims=keepdims)
    if ord == 0:
        return (m > 0).sum(axis=axis, keepdims=keepdims).astype(a.dtype)
    return (m ** ord).sum(axis=axis, keepdims=keepdims) ** (1 / ord)


REF = {
    "lstm_layer": _lstm_layer,
    "lstm_cell": _lstm_cell, "vanilla_lstm_gates": _dynet_gates,
    "vanilla_lstm_c": _dynet_c, "vanilla_lstm_h": _dynet_h,
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "maximum": np.maximum, "minimum": np.minimum,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "where": np.where,
    "neg": np.negative, "exp": np.exp, "log": np.log, "log1p": np.log1p, "sqrt": np.sqrt,
    "abs": np.abs, "sign": np.sign, "sin": np.sin, "cos": np.cos,
    "stop_gradient": np.copy,
    "first_order_only": lambda a, what="": np.copy(a),
    "lgamma": np.vectorize(math.lgamma),
    "inv": np.linalg.inv, "logdet": lambda a: np.linalg.slogdet(a)[1],
    "clip": lambda a, min=None, max=None: np.clip(a, min, max),
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)), "tanh": np.tanh,
    "relu": lambda a: a * (a > 0),
    "leaky_relu": lambda a, negative_slope: np.where(a > 0, a, negative_slope * a),
    "elu": lambda a, alpha: np.where(a > 0, a, alpha * (np.exp(a) - 1)),
    "softplus": lambda a: np.log(1 + np.exp(a)),
    "gelu": lambda a, approximate="none": (
        0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
        if approximate == "tanh" else 0.5 * a * (1 + _erf(a / math.sqrt(2)))),
    "gelu_cdf": lambda a: 0.5 * (1 + _erf(a / math.sqrt(2))),
    "sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod,
    "var": lambda a, axis, keepdims, correction: np.var(a, axis=axis, keepdims=keepdims, ddof=correction),
    "std": lambda a, axis, keepdims, correction: np.std(a, axis=axis, keepdims=keepdims, ddof=correction),
    "logsumexp": lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
    "argmax": np.argmax, "argmin": np.argmin,
    "softmax": _softmax,
    "log_softmax": lambda a, axis: np.log(_softmax(a, axis)),
    "linear": lambda x, w, b: x @ w.T + b,
    "matmul": np.matmul, "mm": np.matmul, "mv": np.matmul, "dot": np.dot, "outer": np.outer,
    "einsum": lambda *ops, subscripts: np.einsum(subscripts, *ops),
    "reshape": lambda a, shape: np.reshape(a, shape),
    "permute_dims": lambda a, axes: np.transpose(a, axes),
    "broadcast_to": np.broadcast_to,
    "getitem": lambda a, index: a[index],
    "scatter_add": _scatter,
    "index_put": _index_put,
    "concatenate": lambda *p, axis: np.concatenate(p, axis=axis),
    "stack": lambda *p, axis: np.stack(p, axis=axis),
    "copy": np.copy, "astype": lambda a, dtype: a.astype(dtype), "to_device": lambda a, device: a,
    "cross_entropy": _xent,
    "binary_cross_entropy": lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)),
    "dynet_binary_log_loss": lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)),
    "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor,
    "bitwise_not": np.invert,
    "floor_divide": lambda a, b: np.floor(a / b),
    "remainder": lambda a, b: a - b * np.floor(a / b),
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
    "round": lambda a, decimals=0: np.round(a, decimals),
    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
    "any": lambda a, axis, keepdims: (a != 0).sum(axis=axis, keepdims=keepdims) > 0,
    "all": lambda a, axis, keepdims: (a == 0).sum(axis=axis, keepdims=keepdims) == 0,
    "vector_norm": _vnorm,
    "cumsum": lambda a, axis: np.cumsum(a, axis=axis),
    "cumprod": lambda a, axis: np.multiply.accumulate(a, axis=axis),
    "tril": lambda a, k: np.tril(a, k), "triu": lambda a, k: np.triu(a, k),
    "flip": lambda a, axis: np.flip(a, axis),
}


from tests.nn.conv_op_cases import CONV_REF  # noqa: E402
REF.update(CONV_REF)

from tests.ops.more_cases import MORE_REF  # noqa: E402
REF.update(MORE_REF)

from tests.ops.model_cases import MODEL_REF  # noqa: E402
REF.update(MODEL_REF)
