"""Sample cases and NumPy references (direct loops over output pixels) for the conv ops of
compgraph/ops/conv.py, in the format of tests/ops/cases.py and tests/ops/reference.py.

tests/ops/test_generated.py needs every op of the table covered; wire these in with
    CASES.update(CONV_CASES)   (tests/ops/cases.py)
    REF.update(CONV_REF)       (tests/ops/reference.py)
"""
import numpy as np

# --- cases ---------------------------------------------------------------------------------
_CONV = {"stride": (2, 1), "padding": ((1, 1), (0, 2)), "dilation": (1, 2), "groups": 1}
_CONV_G = {"stride": (1, 1), "padding": ((0, 0), (1, 1)), "dilation": (1, 1), "groups": 2}
# stride 1 takes the widened-row layout of the column matrix; with dilation, padding on
# one side only and a 1-wide kernel it needs (or does not need) the spare row differently
_CONV_W = {"stride": (1, 1), "padding": ((2, 0), (0, 1)), "dilation": (2, 3), "groups": 1}
_CONV_1 = {"stride": (1, 1), "padding": ((1, 1), (0, 0)), "dilation": (1, 1), "groups": 3}
_POOL = {"kernel": (2, 2), "stride": (2, 2), "padding": ((0, 0), (0, 0)), "dilation": (1, 1)}
_POOL_P = {"kernel": (3, 2), "stride": (2, 1), "padding": ((1, 2), (1, 0)), "dilation": (1, 2)}
CONV_CASES = {
    "conv2d": [(((2, 3, 5, 6), (4, 3, 2, 2)), _CONV), (((1, 4, 4, 3), (6, 2, 3, 2)), _CONV_G),
               (((2, 2, 5, 6), (3, 2, 2, 3)), _CONV_W), (((2, 3, 3, 4), (3, 1, 2, 1)), _CONV_1)],
    "conv2d_input_grad": [(((2, 4, 3, 6), (4, 3, 2, 2)), {"x_shape": (2, 3, 5, 6), **_CONV}),
                          (((1, 6, 2, 4), (6, 2, 3, 2)), {"x_shape": (1, 4, 4, 3), **_CONV_G}),
                          (((2, 3, 5, 1), (3, 2, 2, 3)), {"x_shape": (2, 2, 5, 6), **_CONV_W}),
                          (((2, 3, 4, 4), (3, 1, 2, 1)), {"x_shape": (2, 3, 3, 4), **_CONV_1})],
    "conv2d_weight_grad": [(((2, 3, 5, 6), (2, 4, 3, 6)), {"w_shape": (4, 3, 2, 2), **_CONV}),
                           (((1, 4, 4, 3), (1, 6, 2, 4)), {"w_shape": (6, 2, 3, 2), **_CONV_G}),
                           (((2, 2, 5, 6), (2, 3, 5, 1)), {"w_shape": (3, 2, 2, 3), **_CONV_W}),
                           (((2, 3, 3, 4), (2, 3, 4, 4)), {"w_shape": (3, 1, 2, 1), **_CONV_1})],
    "max_pool2d": [((("distinct", (2, 3, 4, 6)),), _POOL), ((("distinct", (1, 2, 5, 5)),), _POOL_P)],
    "max_pool2d_scatter": [(((2, 3, 2, 3), ("distinct", (2, 3, 4, 6))), _POOL),
                           (((1, 2, 3, 4), ("distinct", (1, 2, 5, 5))), _POOL_P)],
    "max_pool2d_gather": [(((2, 3, 4, 6), ("distinct", (2, 3, 4, 6))), _POOL),
                          (((1, 2, 5, 5), ("distinct", (1, 2, 5, 5))), _POOL_P)],
    "pad_constant": [(((3, 4),), {"pad_width": ((1, 0), (2, 3)), "value": 0.5}),
                     (((2, 3, 2),), {"pad_width": ((0, 0), (0, 1), (1, 1))})],
}


# --- references ----------------------------------------------------------------------------
def _windows_ref(shape_hw, k, s, d, pad):
    """(i, j, row slice, col slice) of every window of the padded input."""
    (h, w), (kh, kw) = shape_hw, k
    ho = (h + sum(pad[0]) - d[0] * (kh - 1) - 1) // s[0] + 1
    wo = (w + sum(pad[1]) - d[1] * (kw - 1) - 1) // s[1] + 1
    for i in range(ho):
        for j in range(wo):
            yield (i, j, slice(i * s[0], i * s[0] + d[0] * (kh - 1) + 1, d[0]),
                   slice(j * s[1], j * s[1] + d[1] * (kw - 1) + 1, d[1]))


def _ho_wo(shape_hw, k, s, d, pad):
    last = list(_windows_ref(shape_hw, k, s, d, pad))[-1]
    return last[0] + 1, last[1] + 1


def _conv2d_ref(x, w, stride, padding, dilation, groups):
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    o, cg, kh, kw = w.shape
    ho, wo = _ho_wo(x.shape[2:], (kh, kw), stride, dilation, padding)
    out = np.zeros((x.shape[0], o, ho, wo))
    for oc in range(o):
        c0 = oc // (o // groups) * cg
        for i, j, rs, cs in _windows_ref(x.shape[2:], (kh, kw), stride, dilation, padding):
            out[:, oc, i, j] = np.tensordot(xp[:, c0:c0 + cg, rs, cs], w[oc], axes=3)
    return out


def _conv2d_input_grad_ref(g, w, x_shape, stride, padding, dilation, groups):
    (pt, pb), (pl, pr) = padding
    n, c, h, wd = x_shape
    dxp = np.zeros((n, c, h + pt + pb, wd + pl + pr))
    o, cg, kh, kw = w.shape
    for oc in range(o):
        c0 = oc // (o // groups) * cg
        for i, j, rs, cs in _windows_ref((h, wd), (kh, kw), stride, dilation, padding):
            dxp[:, c0:c0 + cg, rs, cs] += g[:, oc, i, j][:, None, None, None] * w[oc]
    return dxp[:, :, pt:pt + h, pl:pl + wd]


def _conv2d_weight_grad_ref(x, g, w_shape, stride, padding, dilation, groups):
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    o, cg, kh, kw = w_shape
    dw = np.zeros(w_shape)
    for oc in range(o):
        c0 = oc // (o // groups) * cg
        for i, j, rs, cs in _windows_ref(x.shape[2:], (kh, kw), stride, dilation, padding):
            dw[oc] += np.tensordot(g[:, oc, i, j], xp[:, c0:c0 + cg, rs, cs], axes=1)
    return dw


def _pool_argmax_ref(x, kernel, stride, padding, dilation):
    """{(i, j): (row, col) in the padded grid of each window's first maximum}, per (n, c)."""
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(padding), constant_values=-np.inf)
    rows = np.arange(xp.shape[2])[:, None] * np.ones(xp.shape[3], int)
    cols = np.ones(xp.shape[2], int)[:, None] * np.arange(xp.shape[3])
    picks = {}
    for i, j, rs, cs in _windows_ref(x.shape[2:], kernel, stride, dilation, padding):
        win = xp[:, :, rs, cs].reshape(x.shape[:2] + (-1,))
        k = win.argmax(-1)
        picks[i, j] = (rows[rs, cs].reshape(-1)[k], cols[rs, cs].reshape(-1)[k])
    return picks


def _max_pool2d_ref(x, kernel, stride, padding, dilation):
    return _max_pool2d_gather_ref(x, x, kernel, stride, padding, dilation)


def _max_pool2d_gather_ref(u, x, kernel, stride, padding, dilation):
    up = np.pad(u, ((0, 0), (0, 0)) + tuple(padding))
    picks = _pool_argmax_ref(x, kernel, stride, padding, dilation)
    ho, wo = _ho_wo(x.shape[2:], kernel, stride, dilation, padding)
    out = np.zeros(x.shape[:2] + (ho, wo))
    n, c = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    for (i, j), (r, q) in picks.items():
        out[:, :, i, j] = up[n, c, r, q]
    return out


def _max_pool2d_scatter_ref(g, x, kernel, stride, padding, dilation):
    (pt, pb), (pl, pr) = padding
    dxp = np.zeros(x.shape[:2] + (x.shape[2] + pt + pb, x.shape[3] + pl + pr))
    n, c = np.meshgrid(np.arange(x.shape[0]), np.arange(x.shape[1]), indexing="ij")
    for (i, j), (r, q) in _pool_argmax_ref(x, kernel, stride, padding, dilation).items():
        np.add.at(dxp, (n, c, r, q), g[:, :, i, j])
    return dxp[:, :, pt:pt + x.shape[2], pl:pl + x.shape[3]]


CONV_REF = {
    "conv2d": _conv2d_ref, "conv2d_input_grad": _conv2d_input_grad_ref,
    "conv2d_weight_grad": _conv2d_weight_grad_ref, "max_pool2d": _max_pool2d_ref,
    "max_pool2d_scatter": _max_pool2d_scatter_ref, "max_pool2d_gather": _max_pool2d_gather_ref,
    "pad_constant": lambda a, pad_width, value=0.0: np.pad(a, pad_width, constant_values=value),
}
