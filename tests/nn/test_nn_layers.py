"""Linear, Embedding, Dropout, LayerNorm, BatchNorm1d, Flatten and the activation modules:
values against NumPy, gradients by finite differences, PyTorch's initialisations."""
import math
import warnings

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.errors import ShapeError

from .helpers import gradcheck_module, randn


@pytest.mark.parametrize("shape", [(3,), (1, 3), (4, 3), (2, 5, 3)])
def test_linear_forward_matches_numpy_for_every_input_rank(shape):
    lin = nn.Linear(3, 2)
    x = randn(*shape).float()
    expected = x._value @ lin.weight._value.T + lin.bias._value
    out = lin(x)
    assert out.shape == shape[:-1] + (2,)
    np.testing.assert_allclose(out._value, expected, rtol=1e-5, atol=1e-6)
    no_bias = nn.Linear(3, 2, bias=False)
    np.testing.assert_allclose(no_bias(x)._value, x._value @ no_bias.weight._value.T,
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape", [(3,), (1, 3), (4, 3), (2, 2, 3)])
def test_linear_gradients(shape):
    assert gradcheck_module(nn.Linear(3, 2), randn(*shape, requires_grad=True))
    assert gradcheck_module(nn.Linear(3, 2, bias=False), randn(*shape, requires_grad=True))


def test_linear_initialisation_is_pytorchs():
    cg.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight._value, lin.bias._value
    assert w.shape == (300, 400) and b.shape == (300,) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # uniform on [-bound, bound]: std bound / sqrt(3)
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    with pytest.raises(ShapeError, match="last dimension must be 400"):
        lin(cg.ones(2, 3))


def test_embedding_lookup_gradient_and_padding_idx():
    cg.manual_seed(0)
    emb = nn.Embedding(5, 3, padding_idx=0)
    assert emb.weight.shape == (5, 3) and not emb.weight._value[0].any()
    ids = cg.tensor([[1, 0, 1], [4, 2, 0]])
    out = emb(ids)
    np.testing.assert_array_equal(out._value, emb.weight._value[ids._value])
    (out * randn(2, 3, 3).float()).sum().backward()
    assert not emb.weight.grad._value[0].any()           # padding row: no gradient
    assert not emb.weight.grad._value[3].any()           # unused row
    assert emb.weight.grad._value[1].any()
    plain = nn.Embedding(4, 2)
    assert gradcheck_module(plain, cg.tensor([3, 1, 3]))
    pre = nn.Embedding.from_pretrained(cg.tensor([[1., 2.], [3., 4.]]))
    assert not pre.weight.requires_grad
    np.testing.assert_array_equal(pre(cg.tensor([1]))._value, [[3., 4.]])


def test_dropout_scales_in_training_and_is_identity_in_eval():
    cg.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = cg.ones(200, 100)
    y = drop(x)._value
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    assert not nn.Dropout(1.0)(x)._value.any()


def _layer_norm_ref(x, axes, w, b, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def test_layer_norm_values_and_gradients():
    ln = nn.LayerNorm((3, 4)).double()
    ln.weight._value[...] = np.linspace(0.5, 2, 12).reshape(3, 4)
    ln.bias._value[...] = np.linspace(-1, 1, 12).reshape(3, 4)
    x = randn(2, 3, 4)
    np.testing.assert_allclose(ln(x)._value,
                               _layer_norm_ref(x._value, (1, 2), ln.weight._value, ln.bias._value),
                               rtol=1e-10)
    assert gradcheck_module(ln, randn(2, 3, 4, requires_grad=True))
    assert gradcheck_module(nn.LayerNorm(4, elementwise_affine=False), randn(3, 4, requires_grad=True))


def test_batch_norm_training_statistics_running_averages_and_eval():
    bn = nn.BatchNorm1d(3).double()
    rng = np.random.default_rng(1)
    xs = [rng.standard_normal((5, 3)) * 2 + 1 for _ in range(2)]
    rm, rv = np.zeros(3), np.ones(3)
    for x in xs:
        out = bn(cg.tensor(x))._value
        mu, var = x.mean(0), x.var(0)
        np.testing.assert_allclose(out, (x - mu) / np.sqrt(var + 1e-5), rtol=1e-10)
        rm = 0.9 * rm + 0.1 * mu
        rv = 0.9 * rv + 0.1 * x.var(0, ddof=1)           # unbiased in the running estimate
    np.testing.assert_allclose(bn.running_mean._value, rm, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var._value, rv, rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 2
    bn.eval()
    x = xs[0]
    np.testing.assert_allclose(bn(cg.tensor(x))._value, (x - rm) / np.sqrt(rv + 1e-5), rtol=1e-10)
    assert int(bn.num_batches_tracked.item()) == 2
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]


def test_batch_norm_cumulative_average_and_3d_input():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal((4, 2, 3)) for _ in range(3)]
    for x in xs:
        bn(cg.tensor(x))
    batch_means = [x.mean(axis=(0, 2)) for x in xs]
    np.testing.assert_allclose(bn.running_mean._value, np.mean(batch_means, axis=0), rtol=1e-12)


def test_batch_norm_gradients_in_training_and_eval():
    bn = nn.BatchNorm1d(3)
    assert gradcheck_module(bn, randn(4, 3, requires_grad=True))
    bn = nn.BatchNorm1d(2)
    assert gradcheck_module(bn, randn(3, 2, 2, requires_grad=True))
    bn.eval()
    assert gradcheck_module(bn, randn(3, 2, 2, requires_grad=True))


def test_flatten_and_identity():
    x = randn(2, 3, 4)
    assert nn.Flatten()(x).shape == (2, 12)
    assert nn.Flatten(0, 1)(x).shape == (6, 4)
    assert nn.Identity(54, unused=1)(x) is x


def _np_gelu(a):
    from math import erf
    return 0.5 * a * (1 + np.vectorize(erf)(a / np.sqrt(2)))


ACTIVATIONS = [
    (nn.Sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    (nn.Tanh(), np.tanh),
    (nn.ReLU(), lambda a: np.maximum(a, 0)),
    (nn.LeakyReLU(0.2), lambda a: np.where(a > 0, a, 0.2 * a)),
    (nn.GELU(), _np_gelu),
    (nn.ELU(), lambda a: np.where(a > 0, a, np.exp(a) - 1)),
    (nn.Softplus(), lambda a: np.log1p(np.exp(a))),
    (nn.Softmax(dim=1), lambda a: np.exp(a) / np.exp(a).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=0), lambda a: a - np.log(np.exp(a).sum(0, keepdims=True))),
    (nn.Identity(), lambda a: a),
]


@pytest.mark.parametrize("module,ref", ACTIVATIONS, ids=lambda m: type(m).__name__)
def test_activation_modules(module, ref):
    x = randn(3, 4, seed=3)
    x._value[0, 0] = 0.3          # keep clear of relu's kink at exactly 0
    np.testing.assert_allclose(module(x)._value, ref(x._value), rtol=1e-7, atol=1e-10)
    assert cg.gradcheck(module, [randn(3, 4, seed=4, requires_grad=True)])


def test_softmax_without_dim_uses_pytorchs_legacy_choice_with_a_warning():
    x = randn(2, 3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = nn.Softmax()(x)
    assert w and "dim" in str(w[0].message)
    np.testing.assert_allclose(out._value.sum(1), 1)     # 2-D input: dim 1


def test_linear_refuses_an_input_of_another_dtype_as_pytorch_does():
    # a float64 batch would silently turn the float32 layer's output into float64
    layer = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="linear: input is float64 but the weight is float32"):
        layer(cg.tensor(np.ones((4, 3)), dtype=cg.float64))
