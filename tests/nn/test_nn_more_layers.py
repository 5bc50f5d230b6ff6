"""BatchNorm2d, AvgPool2d, AdaptiveAvgPool2d, Conv1d, SiLU/Mish/LogSigmoid, Dropout2d and
the functional forms: values against direct NumPy loops and formulas, gradients by finite
differences in float64, state_dict keys and the errors for wrong input shapes."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import ArgumentError, ArgumentValueError, ShapeError

from .helpers import gradcheck_module, randn


# --- BatchNorm2d -----------------------------------------------------------------------------

def test_batch_norm2d_training_running_stats_and_eval():
    bn = nn.BatchNorm2d(3, momentum=0.2).double()
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((4, 3, 5, 2)) * 3 - 1 for _ in range(3)]
    rm, rv = np.zeros(3), np.ones(3)
    bn.weight._value[...] = [1.0, 2.0, -0.5]
    bn.bias._value[...] = [0.0, 1.0, 3.0]
    w, b = bn.weight._value[:, None, None], bn.bias._value[:, None, None]
    for x in xs:
        mu, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
        expected = (x - mu[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) * w + b
        np.testing.assert_allclose(bn(cg.tensor(x))._value, expected, rtol=1e-10)
        n = x.size // 3
        rm = 0.8 * rm + 0.2 * mu
        rv = 0.8 * rv + 0.2 * var * n / (n - 1)          # unbiased in the running estimate
    np.testing.assert_allclose(bn.running_mean._value, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var._value, rv, rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 3
    bn.eval()
    x = xs[0]
    expected = (x - rm[:, None, None]) / np.sqrt(rv[:, None, None] + 1e-5) * w + b
    np.testing.assert_allclose(bn(cg.tensor(x))._value, expected, rtol=1e-10)
    assert int(bn.num_batches_tracked.item()) == 3


def test_batch_norm2d_state_dict_keys_and_options():
    assert list(nn.BatchNorm2d(3).state_dict()) == ["weight", "bias", "running_mean",
                                                    "running_var", "num_batches_tracked"]
    assert list(nn.BatchNorm2d(3, affine=False).state_dict()) == [
        "running_mean", "running_var", "num_batches_tracked"]
    free = nn.BatchNorm2d(2, track_running_stats=False).double()
    assert list(free.state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(1).standard_normal((3, 2, 2, 2))
    free.eval()                       # no running stats: batch statistics even in eval
    mu, var = x.mean((0, 2, 3))[:, None, None], x.var((0, 2, 3))[:, None, None]
    np.testing.assert_allclose(free(cg.tensor(x))._value, (x - mu) / np.sqrt(var + 1e-5),
                               rtol=1e-10)
    cum = nn.BatchNorm2d(2, momentum=None).double()
    xs = [np.random.default_rng(i).standard_normal((2, 2, 3, 3)) for i in range(3)]
    for x in xs:
        cum(cg.tensor(x))
    np.testing.assert_allclose(cum.running_mean._value,
                               np.mean([x.mean((0, 2, 3)) for x in xs], axis=0), rtol=1e-12)
    loaded = nn.BatchNorm2d(2).double()
    loaded.load_state_dict(cum.state_dict())
    np.testing.assert_array_equal(loaded.running_var._value, cum.running_var._value)


def test_batch_norm2d_gradients_and_shape_errors():
    assert gradcheck_module(nn.BatchNorm2d(2), randn(3, 2, 2, 2, requires_grad=True))
    bn = nn.BatchNorm2d(2).eval()
    assert gradcheck_module(bn, randn(2, 2, 3, 1, requires_grad=True))
    with pytest.raises(ArgumentError, match=r"BatchNorm2d\(2\): expected input of shape "
                                            r"\(N, 2, H, W\), got \(3, 2\)"):
        bn(cg.ones(3, 2))
    with pytest.raises(ArgumentError, match=r"got \(1, 3, 2, 2\)"):
        bn(cg.ones(1, 3, 2, 2))


# --- pooling ---------------------------------------------------------------------------------

def avg_pool_ref(x, k, s, p, ceil_mode, count_include_pad, divisor_override=None):
    """Loops over output pixels; a window's divisor counts the padded input it covers (or
    the real input only), windows cut at the padded end."""
    n, c, h, w = x.shape
    outs = []
    for size, kk, ss, pp in ((h, k[0], s[0], p[0]), (w, k[1], s[1], p[1])):
        span = size + 2 * pp - kk
        m = (-(-span // ss) if ceil_mode else span // ss) + 1
        if ceil_mode and (m - 1) * ss >= size + pp:
            m -= 1
        outs.append(m)
    out = np.zeros((n, c, outs[0], outs[1]))
    for i in range(outs[0]):
        for j in range(outs[1]):
            h0, w0 = i * s[0] - p[0], j * s[1] - p[1]
            h1, w1 = min(h0 + k[0], h + p[0]), min(w0 + k[1], w + p[1])
            window = x[:, :, max(h0, 0):min(h1, h), max(w0, 0):min(w1, w)]
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = (h1 - h0) * (w1 - w0)
            else:
                div = (min(h1, h) - max(h0, 0)) * (min(w1, w) - max(w0, 0))
            out[:, :, i, j] = window.sum((2, 3)) / div
    return out


POOLS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=4, stride=3, ceil_mode=True),
    dict(kernel_size=3, padding=1, divisor_override=2),
]


@pytest.mark.parametrize("kw", POOLS, ids=str)
def test_avg_pool2d_matches_the_loop_definition(kw):
    x = randn(2, 3, 7, 6)
    def pair(v):
        return (v, v) if isinstance(v, int) else tuple(v)
    k = pair(kw["kernel_size"])
    s = pair(kw.get("stride", k))
    p = pair(kw.get("padding", 0))
    expected = avg_pool_ref(x._value, k, s, p, kw.get("ceil_mode", False),
                            kw.get("count_include_pad", True), kw.get("divisor_override"))
    np.testing.assert_allclose(F.avg_pool2d(x, **kw)._value, expected, rtol=1e-12)
    np.testing.assert_allclose(nn.AvgPool2d(**kw)(x)._value, expected, rtol=1e-12)
    np.testing.assert_allclose(F.avg_pool2d(x[0], **kw)._value, expected[0], rtol=1e-12)


def test_avg_pool2d_hand_values_gradients_and_errors():
    x = cg.arange(16.0, dtype=cg.float64).reshape(1, 1, 4, 4)
    np.testing.assert_allclose(F.avg_pool2d(x, 2)._value[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # corner window of 3x3 with padding 1 holds 0, 1, 4, 5 and five zeros of padding
    assert F.avg_pool2d(x, 3, 1, 1)._value[0, 0, 0, 0] == pytest.approx(10 / 9)
    assert F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)._value[0, 0, 0, 0] == pytest.approx(2.5)
    for kw in POOLS[1:5]:
        assert gradcheck_module(nn.AvgPool2d(**kw), randn(1, 2, 5, 4, requires_grad=True))
    with pytest.raises(ArgumentValueError, match="at most half of the kernel size"):
        F.avg_pool2d(x, 2, 2, 2)
    with pytest.raises(ShapeError, match=r"avg_pool2d: expected \(C, H, W\) or \(N, C, H, W\)"):
        F.avg_pool2d(cg.ones(4, 4), 2)
    with pytest.raises(ShapeError, match="larger than the padded input"):
        F.avg_pool2d(x, 5)


def adaptive_ref(x, oh, ow):
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        h0, h1 = math.floor(i * h / oh), math.ceil((i + 1) * h / oh)
        for j in range(ow):
            w0, w1 = math.floor(j * w / ow), math.ceil((j + 1) * w / ow)
            out[..., i, j] = x[..., h0:h1, w0:w1].mean((-2, -1))
    return out


@pytest.mark.parametrize("size", [1, (1, 1), (2, 3), (3, 4), (5, 5), (7, 6), (None, 4),
                                  (4, None), (10, 13)], ids=str)
def test_adaptive_avg_pool2d_follows_the_start_end_rule(size):
    x = randn(2, 3, 7, 6)
    oh, ow = (size, size) if isinstance(size, int) else size
    oh, ow = oh or 7, ow or 6
    expected = adaptive_ref(x._value, oh, ow)
    out = nn.AdaptiveAvgPool2d(size)(x)
    assert out.shape == (2, 3, oh, ow)
    np.testing.assert_allclose(out._value, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x[0], size)._value, expected[0],
                               rtol=1e-12, atol=1e-15)


def test_adaptive_avg_pool2d_gradients_and_errors():
    # overlapping windows (7 -> 3: rows 0-2, 2-4, 4-6) and a global mean
    for size in [(3, 2), 1, (5, None)]:
        assert gradcheck_module(nn.AdaptiveAvgPool2d(size), randn(2, 2, 7, 4, requires_grad=True))
    with pytest.raises(ShapeError, match=r"expected \(C, H, W\) or \(N, C, H, W\) input, got \(2, 3\)"):
        F.adaptive_avg_pool2d(cg.ones(2, 3), 2)
    with pytest.raises(ArgumentError, match="output_size must be positive"):
        F.adaptive_avg_pool2d(cg.ones(1, 2, 3), (0, 2))


# --- Conv1d ----------------------------------------------------------------------------------

def conv1d_ref(x, w, b, stride, pad, dil, groups):
    n, c, length = x.shape
    o, cgp, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), pad))
    lo = (length + sum(pad) - dil * (k - 1) - 1) // stride + 1
    out = np.zeros((n, o, lo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(lo):
            patch = xp[:, g * cgp:(g + 1) * cgp, i * stride: i * stride + dil * (k - 1) + 1: dil]
            out[:, oc, i] = (patch * w[oc]).sum((1, 2)) + (0 if b is None else b[oc])
    return out


@pytest.mark.parametrize("kw", [dict(), dict(stride=2, padding=1), dict(padding="same", dilation=2),
                                dict(padding="valid", groups=2),
                                dict(stride=3, dilation=2, padding=2, groups=2, bias=False)],
                         ids=str)
def test_conv1d_matches_the_loop_definition_and_gradients(kw):
    cg.manual_seed(0)
    conv = nn.Conv1d(4, 6, 3, **kw).double()
    x = randn(2, 4, 9)
    pad = kw.get("padding", 0)
    dil = kw.get("dilation", 1)
    pads = {"same": (dil, dil), "valid": (0, 0)}.get(pad, (pad, pad)) if isinstance(pad, str) else (pad, pad)
    b = None if conv.bias is None else conv.bias._value
    expected = conv1d_ref(x._value, conv.weight._value, b, kw.get("stride", 1), pads, dil,
                          kw.get("groups", 1))
    np.testing.assert_allclose(conv(x)._value, expected, rtol=1e-10)
    np.testing.assert_allclose(conv(x[0])._value, expected[0], rtol=1e-10)
    assert conv.weight.shape == (6, 4 // kw.get("groups", 1), 3)
    assert gradcheck_module(conv, randn(1, 4, 7, requires_grad=True))


def test_conv1d_initialisation_state_dict_and_errors():
    cg.manual_seed(0)
    conv = nn.Conv1d(8, 16, 5)
    bound = 1 / math.sqrt(8 * 5)
    assert np.abs(conv.weight._value).max() <= bound and np.abs(conv.bias._value).max() <= bound
    assert list(conv.state_dict()) == ["weight", "bias"]
    assert "Conv1d(8, 16, kernel_size=(5,), stride=(1,))" == repr(conv)
    with pytest.raises(ShapeError, match=r"conv1d: expected \(C, L\) or \(N, C, L\) input, got \(2, 8, 3, 3\)"):
        conv(cg.ones(2, 8, 3, 3))
    with pytest.raises(ShapeError, match="has 3 channels"):
        conv(cg.ones(2, 3, 9))
    with pytest.raises(ArgumentError, match="divisible by groups"):
        nn.Conv1d(3, 4, 2, groups=2)
    with pytest.raises(ArgumentError, match="conv1d: padding='same' needs stride 1"):
        nn.Conv1d(8, 4, 2, stride=2, padding="same")(cg.ones(1, 8, 6))
    # an even kernel with 'same': the odd padding goes after, as PyTorch puts it
    even = nn.Conv1d(1, 1, 4, padding="same", bias=False).double()
    x = randn(1, 1, 6)
    expected = conv1d_ref(x._value, even.weight._value, None, 1, (1, 2), 1, 1)
    np.testing.assert_allclose(even(x)._value, expected, rtol=1e-10)


# --- activations and dropout2d ---------------------------------------------------------------

def test_silu_mish_logsigmoid_values_and_gradients():
    x = randn(4, 5) * 4
    a = x._value
    sig = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(F.silu(x)._value, a * sig, rtol=1e-12)
    np.testing.assert_allclose(nn.SiLU()(x)._value, a * sig, rtol=1e-12)
    np.testing.assert_allclose(nn.Mish()(x)._value, a * np.tanh(np.log1p(np.exp(a))), rtol=1e-12)
    np.testing.assert_allclose(F.logsigmoid(x)._value, np.log(sig), rtol=1e-12)
    assert F.logsigmoid(cg.tensor([-800.0]))._value[0] == -800.0     # no log(0)
    for m in (nn.SiLU(), nn.Mish(), nn.LogSigmoid()):
        assert gradcheck_module(m, randn(3, 4, requires_grad=True))


def test_dropout2d_drops_whole_channels():
    cg.manual_seed(0)
    x = cg.ones(50, 40, 3, 2)
    y = nn.Dropout2d(0.3)(x)._value
    per_channel = y.reshape(50, 40, -1)
    assert (per_channel == per_channel[..., :1]).all()         # a channel is kept or dropped whole
    kept = per_channel[..., 0] != 0
    assert abs(kept.mean() - 0.7) < 0.03
    np.testing.assert_allclose(per_channel[kept], 1 / 0.7, rtol=1e-6)
    drop = nn.Dropout2d(0.3).eval()
    assert drop(x) is x
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        z = F.dropout2d(cg.ones(20, 30, 4), 0.5)._value
    assert (z == z[..., :1]).all()
    with pytest.raises(ShapeError, match=r"dropout2d: expected \(N, C, H, W\)"):
        F.dropout2d(cg.ones(3, 4))
    # the gradient is the same mask
    cg.manual_seed(1)
    x = randn(4, 6, 2, 2, requires_grad=True)
    out = F.dropout2d(x, 0.5)
    out.sum().backward()
    np.testing.assert_allclose(x.grad._value, out._value / x._value, rtol=1e-12)


# --- normalize and cosine_similarity ---------------------------------------------------------

def test_normalize_values_and_gradients():
    x = randn(4, 5)
    a = x._value
    np.testing.assert_allclose(F.normalize(x)._value,
                               a / np.linalg.norm(a, axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(F.normalize(x, p=1, dim=0)._value,
                               a / np.abs(a).sum(0, keepdims=True), rtol=1e-12)
    tiny = cg.tensor([[1e-13, 0.0]], dtype=cg.float64)
    np.testing.assert_allclose(F.normalize(tiny)._value, [[0.1, 0.0]])     # divided by eps
    assert cg.gradcheck(lambda t: F.normalize(t, p=3.0, dim=-1), [randn(3, 4, requires_grad=True)])


def test_cosine_similarity_values_broadcasting_eps_and_gradients():
    x1, x2 = randn(4, 5), randn(4, 5, seed=1)
    a, b = x1._value, x2._value
    expected = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    np.testing.assert_allclose(F.cosine_similarity(x1, x2)._value, expected, rtol=1e-12)
    # x2 broadcast along dim 0 first: its norm is that of the broadcast column
    row = b[:1]
    bb = np.broadcast_to(row, a.shape)
    expected0 = (a * bb).sum(0) / (np.linalg.norm(a, axis=0) * np.linalg.norm(bb, axis=0))
    np.testing.assert_allclose(F.cosine_similarity(x1, cg.tensor(row), dim=0)._value, expected0,
                               rtol=1e-12)
    # each norm is clamped at eps on its own: 3e-5 / (5 * 1e-3)
    small = F.cosine_similarity(cg.tensor([[3.0, 4.0]]), cg.tensor([[1e-5, 0.0]]), eps=1e-3)
    assert small.item() == pytest.approx(0.006)
    assert cg.gradcheck(F.cosine_similarity, [randn(3, 4, requires_grad=True),
                                             randn(3, 4, seed=2, requires_grad=True)])
    with pytest.raises(ShapeError, match="do not broadcast"):
        F.cosine_similarity(cg.ones(3, 4), cg.ones(2, 4))
