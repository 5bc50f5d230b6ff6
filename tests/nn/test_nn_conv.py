"""Conv2d, MaxPool2d and pad: values against direct loops over output pixels (here in the
tests only), gradients by finite differences, and the adjoint ops that make second
derivatives possible."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import ArgumentError, ShapeError
from compgraph.ops import OPS
from compgraph.tensor import apply

from .helpers import gradcheck_module, randn


def conv_ref(x, w, b, stride, pad, dil, groups):
    """Direct definition: out[n,o,i,j] = b[o] + sum_{c,p,q} x_pad[n, c, i*s+p*d, j*s+q*d] w[o,c,p,q]."""
    n, c, h, wd = x.shape
    o, cg_, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    ho = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * cg_:(g + 1) * cg_,
                           i * stride[0]: i * stride[0] + dil[0] * (kh - 1) + 1: dil[0],
                           j * stride[1]: j * stride[1] + dil[1] * (kw - 1) + 1: dil[1]]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3)) + (b[oc] if b is not None else 0)
    return out


CONFIGS = [
    dict(stride=1, padding=0, dilation=1, groups=1),
    dict(stride=2, padding=1, dilation=1, groups=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=1),
    dict(stride=1, padding=1, dilation=1, groups=2),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv2d_matches_the_definition(cfg):
    conv = nn.Conv2d(4, 6, 3, **cfg).double()
    x = randn(2, 4, 7, 6)
    pair = lambda v: (v, v) if isinstance(v, int) else v  # noqa: E731
    ref = conv_ref(x._value, conv.weight._value, conv.bias._value, pair(cfg["stride"]),
                   pair(cfg["padding"]), pair(cfg["dilation"]), cfg["groups"])
    out = conv(x)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out._value, ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv2d_gradients(cfg):
    conv = nn.Conv2d(2, 2, 2, **cfg)
    assert gradcheck_module(conv, randn(1, 2, 5, 4, requires_grad=True))


def test_conv2d_same_padding_unbatched_input_and_no_bias():
    conv = nn.Conv2d(2, 3, (2, 3), padding="same", bias=False).double()
    x = randn(2, 5, 4)
    out = conv(x)
    assert out.shape == (3, 5, 4)
    # PyTorch puts the odd padding after: rows (0, 1), columns (1, 1)
    xp = np.pad(x._value[None], ((0, 0), (0, 0), (0, 1), (1, 1)))
    ref = conv_ref(xp, conv.weight._value, None, (1, 1), (0, 0), (1, 1), 1)[0]
    np.testing.assert_allclose(out._value, ref, rtol=1e-10)
    assert gradcheck_module(conv, randn(2, 4, 3, requires_grad=True))


def test_conv2d_initialisation_and_errors():
    cg.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, groups=2)
    bound = 1 / math.sqrt(4 * 3 * 3)
    assert conv.weight.shape == (16, 4, 3, 3)
    assert np.abs(conv.weight._value).max() <= bound and np.abs(conv.bias._value).max() <= bound
    with pytest.raises(ShapeError, match="channels"):
        conv(cg.ones(1, 6, 5, 5))
    with pytest.raises(ShapeError, match="larger"):
        conv(cg.ones(1, 8, 2, 2))
    with pytest.raises(ArgumentError):
        nn.Conv2d(3, 4, 3, groups=2)


def test_conv_adjoint_ops_differentiate_correctly():
    """The VJP ops are ops with VJPs of their own: check those by finite differences."""
    attrs = {"stride": (2, 1), "padding": ((1, 1), (0, 0)), "dilation": (1, 2), "groups": 1}
    x = randn(2, 3, 5, 6, seed=1, requires_grad=True)
    w = randn(4, 3, 2, 2, seed=2, requires_grad=True)
    g = randn(*apply(OPS["conv2d"], (x, w), attrs).shape, seed=3, requires_grad=True)
    assert cg.gradcheck(lambda g, w: apply(OPS["conv2d_input_grad"], (g, w),
                                           {"x_shape": x.shape, **attrs}), [g, w])
    assert cg.gradcheck(lambda x, g: apply(OPS["conv2d_weight_grad"], (x, g),
                                           {"w_shape": w.shape, **attrs}), [x, g])


def pool_ref(x, k, s, p, ceil_mode=False):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    rnd = math.ceil if ceil_mode else math.floor
    ho = rnd((h + 2 * p - k) / s) + 1
    wo = rnd((w + 2 * p - k) / s) + 1
    if ceil_mode:
        ho -= (ho - 1) * s >= h + p
        wo -= (wo - 1) * s >= w + p
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = xp[:, :, i * s:i * s + k, j * s:j * s + k].max(axis=(2, 3))
    return out


@pytest.mark.parametrize("k,s,p,ceil", [(2, 2, 0, False), (3, 2, 1, False), (3, 2, 0, True),
                                        (2, 1, 1, False), (3, 2, 1, True)])
def test_max_pool_values_and_gradients(k, s, p, ceil):
    x = cg.tensor(np.random.default_rng(5).permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0,
                  requires_grad=True)              # distinct values: no ties at the maxima
    pool = nn.MaxPool2d(k, s, p, ceil_mode=ceil)
    out = pool(x)
    ref = pool_ref(x._value, k, s, p, ceil)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out._value, ref)
    assert cg.gradcheck(pool, [x])


def test_max_pool_gradient_goes_to_the_maximum_once_per_window():
    x = cg.tensor([[[[1., 5., 2.], [3., 4., 0.], [9., 8., 7.]]]], requires_grad=True)
    out = F.max_pool2d(x, 2, stride=1)
    np.testing.assert_array_equal(out._value, [[[[5., 5.], [9., 8.]]]])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad._value, [[[[0., 2., 0.], [0., 0., 0.], [1., 1., 0.]]]])


def test_max_pool_ties_in_tiled_windows_go_to_the_first():
    # stride == kernel: each pixel belongs to one window, so the gradient is written, not
    # accumulated; a window of equal values still sends it to its first pixel only
    x = cg.tensor([[[[2., 2., 0., 1.], [2., 2., 1., 1.]]]], requires_grad=True)
    out = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(out._value, [[[[2., 1.]]]])
    (out * cg.tensor([[[[3., 5.]]]])).sum().backward()
    np.testing.assert_array_equal(x.grad._value, [[[[3., 0., 0., 5.], [0., 0., 0., 0.]]]])


def test_max_pool_nan_wins_its_window_and_takes_the_gradient():
    # as in PyTorch: a NaN is the maximum of its window; the first NaN gets the gradient
    nan = float("nan")
    x = cg.tensor([[[[1., nan, 5., 0.], [nan, 3., 4., 2.]]]], requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert np.isnan(out._value[0, 0, 0, 0]) and out._value[0, 0, 0, 1] == 5.
    out.sum().backward()
    np.testing.assert_array_equal(x.grad._value, [[[[0., 1., 1., 0.], [0., 0., 0., 0.]]]])


def test_max_pool_adjoint_pair():
    attrs = {"kernel": (2, 2), "stride": (1, 2), "padding": ((1, 1), (0, 0)), "dilation": (1, 1)}
    x = cg.tensor(np.random.default_rng(6).permutation(36).reshape(1, 2, 3, 6) * 1.0)
    u = randn(1, 2, 3, 6, seed=7, requires_grad=True)
    g = randn(*apply(OPS["max_pool2d"], (x,), attrs).shape, seed=8, requires_grad=True)
    assert cg.gradcheck(lambda u: apply(OPS["max_pool2d_gather"], (u, x), attrs), [u])
    assert cg.gradcheck(lambda g: apply(OPS["max_pool2d_scatter"], (g, x), attrs), [g])
    # gather picks exactly what max_pool2d picks
    np.testing.assert_array_equal(apply(OPS["max_pool2d_gather"], (x, x), attrs)._value,
                                  apply(OPS["max_pool2d"], (x,), attrs)._value)


def test_pad_grows_and_crops_with_gradients():
    x = randn(2, 3, 4, requires_grad=True)
    out = F.pad(x, (1, 2), value=0.5)
    assert out.shape == (2, 3, 7)
    np.testing.assert_array_equal(out._value[..., 0], 0.5)
    np.testing.assert_array_equal(out._value[..., 1:5], x._value)
    cropped = F.pad(x, (-1, 1, 2, 0))
    assert cropped.shape == (2, 5, 4)
    np.testing.assert_array_equal(cropped._value[:, 2:, :3], x._value[:, :, 1:])
    assert cg.gradcheck(lambda x: F.pad(x, (-1, 1, 2, 0, 1, 1)), [x])


def test_small_cnn_trains():
    cg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 2))
    x = randn(8, 1, 8, 8).float()
    y = cg.tensor([0, 1] * 4)
    x._value[y._value == 1, :, :4] += 1.0
    opt = __import__("compgraph.optim", fromlist=["SGD"]).SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("layer", [lambda: nn.Conv2d(3, 4, kernel_size=0),
                                   lambda: nn.Conv2d(3, 4, 3, stride=0),
                                   lambda: nn.Conv1d(3, 4, kernel_size=0)])
def test_a_kernel_or_stride_of_zero_is_refused(layer):
    # kernel_size=0 used to make a layer whose 5x5 input gave a 6x6 output
    with pytest.raises(ValueError, match="must be positive"):
        layer()
