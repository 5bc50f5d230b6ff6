"""The real-model kernels on the sizes where their fast paths run (the generated op tests
use small arrays, which take the plain formulas): blocked softmax / log_softmax over big
last axes, and the fused layer_norm, against PyTorch."""
import numpy as np
import pytest
import torch

import compgraph as cg
from compgraph.ops import fast


def _rows(shape, seed, masked=False):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3
    if masked:                                  # causal-mask style -inf entries
        a[..., ::7] = -np.inf
    return a


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,masked", [((700, 1000), False), ((3, 300, 1001), True),
                                           ((16, 40000), False)])
def test_blocked_softmax_matches_torch(name, shape, masked):
    a = _rows(shape, 1, masked)
    g = _rows(shape, 2)
    assert fast._row_blocks(a, -1) is not None          # the blocked path is the one tested
    x = cg.tensor(a, requires_grad=True)
    out = getattr(cg, name)(x, dim=-1)
    (out * cg.tensor(np.where(np.isfinite(out.detach().numpy()), g, 0))).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    tout = getattr(torch, name)(tx, dim=-1)
    (tout * torch.tensor(np.where(np.isfinite(tout.detach().numpy()), g, 0))).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-5)
    # sums of 40000 float32 gradients: rounding of order 1e-5 of their size (~600)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    assert out.dtype == cg.float32 and x.grad.dtype == cg.float32


def test_blocked_path_only_for_big_last_axis_arrays():
    big = np.zeros((700, 1000), np.float32)
    assert fast._row_blocks(big, 0) is None                        # another axis
    assert fast._row_blocks(big.T, -1) is None                     # not C-contiguous
    assert fast._row_blocks(np.zeros((10, 10), np.float32), -1) is None


@pytest.mark.parametrize("shape,normalized", [((16, 32, 192), (192,)), ((4, 6, 5), (6, 5)),
                                               ((7, 48), (48,))])
def test_layer_norm_matches_torch(shape, normalized):
    rng = np.random.default_rng(3)
    a = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    w = rng.standard_normal(normalized).astype(np.float32)
    b = rng.standard_normal(normalized).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    ln = cg.nn.LayerNorm(normalized)
    tln = torch.nn.LayerNorm(normalized)
    with cg.no_grad():
        ln.weight.copy_(cg.tensor(w))
        ln.bias.copy_(cg.tensor(b))
    with torch.no_grad():
        tln.weight.copy_(torch.tensor(w))
        tln.bias.copy_(torch.tensor(b))
    x, tx = cg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = ln(x), tln(tx)
    (out * cg.tensor(g)).sum().backward()
    (tout * torch.tensor(g)).sum().backward()
    assert out.grad_fn is not None and out.dtype == cg.float32
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(ln.weight.grad.numpy(), tln.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ln.bias.grad.numpy(), tln.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_layer_norm_wrong_weight_shape_is_a_clear_error():
    x = cg.zeros(2, 3, 4)
    with pytest.raises(cg.ShapeError, match="layer_norm"):
        cg.nn.functional.layer_norm(x, (4,), cg.ones(3), cg.zeros(3))


@pytest.mark.parametrize("kernel,stride,padding", [(2, 2, 0), (3, 2, 1), (2, 1, 0)])
def test_max_pool_saved_winners_match_torch(kernel, stride, padding):
    rng = np.random.default_rng(4)
    a = rng.integers(-3, 4, size=(2, 3, 9, 8)).astype(np.float32)   # many tied maxima
    a[0, 0, 0, 0] = np.nan
    g = rng.standard_normal((2, 3) + tuple(
        (n + 2 * padding - kernel) // stride + 1 for n in (9, 8))).astype(np.float32)
    x, tx = cg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out = cg.nn.functional.max_pool2d(x, kernel, stride, padding)
    tout = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
    out.backward(cg.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    # overlapping windows add in another order: rounding only (a wrong winner is off by ~1)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_max_pool_winners_are_dropped_with_the_output():
    from compgraph.ops import conv
    import gc
    before = len(conv._WINNERS)
    x = cg.tensor(np.random.default_rng(5).standard_normal((1, 2, 4, 4)), requires_grad=True)
    y = cg.nn.functional.max_pool2d(x, 2)
    assert len(conv._WINNERS) == before + 1
    y.sum().backward()
    del y
    gc.collect()
    assert len(conv._WINNERS) == before


@pytest.mark.parametrize("ids_shape,vocab", [((16, 32), 65), ((35, 20), 10000), ((200,), 3)])
def test_embedding_gradient_matches_torch(ids_shape, vocab):
    rng = np.random.default_rng(6)
    ids = rng.integers(0, vocab, size=ids_shape)
    w = rng.standard_normal((vocab, 8)).astype(np.float32)
    g = rng.standard_normal(ids_shape + (8,)).astype(np.float32)
    emb, temb = cg.nn.Embedding(vocab, 8), torch.nn.Embedding(vocab, 8)
    with cg.no_grad():
        emb.weight.copy_(cg.tensor(w))
    with torch.no_grad():
        temb.weight.copy_(torch.tensor(w))
    (emb(cg.tensor(ids)) * cg.tensor(g)).sum().backward()
    (temb(torch.tensor(ids)) * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_row_scatter_with_negative_and_repeated_indices():
    x = cg.tensor(np.zeros((5, 3)), requires_grad=True)
    idx = np.array([-1, 4, 0, -5, 2] * 20)
    x[cg.tensor(idx)].sum().backward()
    want = np.zeros((5, 3))
    np.add.at(want, idx, 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), want)
