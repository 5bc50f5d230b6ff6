"""The Tensor surface a PyTorch user reaches for: creation, dtypes, .data, printing, indexing."""
import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import ArgumentError, DTypeError, GraphError, ShapeError


def test_dtype_inference_follows_pytorch():
    assert cg.tensor([1.0, 2.0]).dtype == cg.float32
    assert cg.tensor([1, 2]).dtype == cg.int64
    assert cg.tensor([True]).dtype == cg.bool
    assert cg.tensor(np.zeros(2)).dtype == cg.float64       # NumPy arrays keep theirs
    assert cg.tensor([1, 2], dtype=cg.float).dtype == cg.float32
    assert cg.tensor([1], dtype="double").dtype == cg.float64
    assert cg.tensor([1.0]).double().dtype == cg.float64
    assert cg.tensor([1.5]).long().tolist() == [1]


def test_unknown_dtype_and_integer_requires_grad_are_clear_errors():
    with pytest.raises(DTypeError, match="unknown dtype"):
        cg.tensor([1.0], dtype="float33")
    with pytest.raises(DTypeError, match="floating"):
        cg.tensor([1, 2], requires_grad=True)
    with pytest.raises(ArgumentError):
        cg.tensor([[1, 2], [3]])
    with pytest.raises(ArgumentError, match="expected a Tensor"):
        cg.exp("nope")


def test_repr_matches_pytorch_style():
    assert repr(cg.tensor([-0.036, -0.0059])) == "tensor([-0.0360, -0.0059])"
    assert repr(cg.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert "dtype=torch.float64" in repr(cg.tensor([1.0], dtype=cg.float64))
    assert "grad_fn=<mul>" in repr(cg.tensor([1.0], requires_grad=True) * 2)


def test_data_shares_storage_and_assignment_replaces_value():
    w = cg.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert not d.requires_grad
    d.zero_()
    assert w.tolist() == [0.0, 0.0]
    w.data = cg.tensor([5.0, 6.0])
    assert w.tolist() == [5.0, 6.0] and w.requires_grad


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = cg.tensor([1.0], requires_grad=True)
    with pytest.raises(GraphError, match="in place"):
        w.zero_()
    with cg.no_grad():
        w.add_(1.0)
    assert w.item() == 2.0


def test_numpy_interop_both_ways():
    t = cg.tensor([1.0, 2.0])
    assert isinstance(np.asarray(t), np.ndarray)
    out = np.array([1.0, 1.0], dtype=np.float32) + t     # NumPy defers to Tensor.__radd__
    assert isinstance(out, cg.Tensor) and out.tolist() == [2.0, 3.0]
    a = np.arange(3.0)
    s = cg.from_numpy(a)
    a[0] = 7
    assert s.tolist()[0] == 7


def test_numpy_of_a_tensor_that_requires_grad_refuses_as_pytorch_does():
    w = cg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        w.numpy()
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(w * 2)
    assert np.shares_memory(w.detach().numpy(), w.value)      # detach: the same array
    assert np.shares_memory(w.numpy(force=True), w.value)    # force: detach().cpu().numpy()


def test_item_tolist_and_conversions():
    assert cg.tensor([[3.5]]).item() == 3.5
    assert float(cg.tensor(2.0)) == 2.0 and int(cg.tensor(3)) == 3
    with pytest.raises(ShapeError, match="one-element"):
        cg.tensor([1.0, 2.0]).item()
    with pytest.raises(ShapeError, match="ambiguous"):
        bool(cg.tensor([1.0, 2.0]))


def test_operators_and_reflected_operators():
    x = cg.tensor([1.0, 2.0])
    assert (2 - x).tolist() == [1.0, 0.0]
    assert (1 / x).tolist() == [1.0, 0.5]
    assert (2 ** x).tolist() == [2.0, 4.0]
    assert (-x).tolist() == [-1.0, -2.0]
    assert (x > 1).tolist() == [False, True] and (x > 1).dtype == cg.bool
    assert not (x == 1).requires_grad
    m = cg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert (m @ x).tolist() == [5.0, 11.0]
    assert (np.eye(2, dtype=np.float32) @ m).tolist() == m.tolist()


def test_indexing_forward_and_scatter_add_gradients():
    x = cg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[1:, ::2].sum() + x[[0, 0, 2], [1, 1, 3]].sum() + x[x > 10].sum()
    y.backward()
    want = np.zeros((3, 4))
    want[1:, ::2] += 1
    want[0, 1] += 2          # repeated index accumulates
    want[2, 3] += 1
    want[2, 3] += 1          # the boolean mask picks 11
    np.testing.assert_array_equal(x.grad.numpy(), want)
    assert x[cg.tensor([2, 0])].shape == (2, 4)
    assert x[None, ..., 0].shape == (1, 3)


def test_creation_functions():
    cg.manual_seed(0)
    a = cg.randn(2, 3)
    cg.manual_seed(0)
    assert cg.randn(2, 3).tolist() == a.tolist()
    assert cg.zeros(2, 3).shape == (2, 3) and cg.ones((2,)).tolist() == [1.0, 1.0]
    assert cg.full((2,), 7).dtype == cg.int64 and cg.full((2,), 7.0).dtype == cg.float32
    assert cg.arange(3).tolist() == [0, 1, 2] and cg.arange(0, 1, 0.5).dtype == cg.float32
    assert cg.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert cg.zeros_like(a).shape == a.shape and cg.ones_like(a).dtype == a.dtype
    assert 0 <= cg.rand(100).numpy().min() and cg.rand(100).numpy().max() < 1
    assert cg.randn(3, requires_grad=True).requires_grad


def test_shape_helpers():
    x = cg.arange(24.0).reshape(2, 3, 4)
    assert x.view(6, 4).shape == (6, 4) and x.reshape(-1).shape == (24,)
    assert x.flatten(1).shape == (2, 12) and x.permute(2, 0, 1).shape == (4, 2, 3)
    assert x.transpose(0, 2).shape == (4, 3, 2) and x[0].T.shape == (4, 3)
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(1).squeeze(1).shape == x.shape
    assert cg.ones(3, 1).expand(3, 5).shape == (3, 5) and cg.ones(3, 1).expand(-1, 2).shape == (3, 2)
    assert [p.shape for p in x.split(2, dim=2)] == [(2, 3, 2), (2, 3, 2)]
    assert [p.shape for p in x.chunk(2, dim=1)] == [(2, 2, 4), (2, 1, 4)]
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.dim() == 3 and x.numel() == 24
    values, indices = x.max(dim=1)
    assert values.shape == (2, 4) and indices.tolist()[0] == [2, 2, 2, 2]


def test_max_along_a_dim_sends_the_gradient_to_the_index_it_returns():
    x = cg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    values.sum().backward()
    assert indices.tolist() == [1, 0]
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    y = cg.tensor([1.0, 3.0, 3.0], requires_grad=True)
    y.max().backward()                  # the full reduction names no index: ties share
    assert y.grad.tolist() == [0.0, 0.5, 0.5]


def test_scalars_keep_numpy_and_pytorch_promotion():
    m = cg.tensor([True, False, True])
    assert (m * 2).tolist() == [2, 0, 2] and (m * 2).dtype == cg.int64
    w = cg.tensor([1.0], requires_grad=True)
    assert (1 / (w * -0.0)).tolist() == [float("-inf")]
    z = cg.tensor(2.0, requires_grad=True)
    (z * 3).backward()
    z.grad.zero_()                      # a 0-d gradient is an array, so this works
    assert z.grad.item() == 0.0


def test_augmented_assignment_changes_the_tensor_itself_outside_the_graph():
    # the manual SGD step of every PyTorch tutorial: the parameter object must change
    w = cg.tensor([1.0, 2.0], requires_grad=True)
    same = w
    (w * w).sum().backward()
    with cg.no_grad():
        w -= 0.5 * w.grad
    assert w is same and w.tolist() == [0.0, 0.0] and w.requires_grad
    a = cg.zeros(2)
    alias = a
    a += 1
    assert alias.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    h = w * 2                                  # recorded: x + y, the name rebound
    h += w
    h.sum().backward()
    assert w.grad.tolist() == [5.0, 7.0]       # 2w + 2 from before, plus 3 from h = 3w


@pytest.mark.parametrize("change, error, match", [
    (lambda x: x.add_(cg.ones(2, 3)), ValueError, r"shape \(2, 3\) does not fit in place"),
    (lambda x: x.copy_(cg.ones(4)), ValueError, r"shape \(4,\) does not fit this tensor of shape \(3,\)"),
    (lambda x: x.__setitem__(5, 1.0), IndexError, r"index 5 is out of bounds.*shape \(3,\)"),
    (lambda x: cg.tensor([1, 2]).add_(0.5), TypeError, "can't be stored in place in this int64"),
])
def test_in_place_changes_that_do_not_fit_say_so(change, error, match):
    with pytest.raises(error, match=match) as info:
        change(cg.ones(3))
    assert isinstance(info.value, cg.CompgraphError)


def test_integer_true_division_gives_the_default_float_as_in_pytorch():
    pixels = cg.tensor(np.array([0, 51, 255], np.uint8))
    scaled = pixels / 255
    assert scaled.dtype == np.float32                    # NumPy alone would give float64
    np.testing.assert_allclose(scaled.numpy(), [0.0, 0.2, 1.0], rtol=1e-6)
    assert (cg.tensor([3, 4]) / cg.tensor([2, 8])).tolist() == [1.5, 0.5]
    assert (cg.ones(2, dtype=cg.float64) / 2).dtype == np.float64
    g = cg.Graph()
    q = g.div(g.var(np.array([1, 2])), 4)
    assert q.dtype == np.float32                          # the recorded dtype says the same
    cg.forward(g)
    assert q.value.dtype == np.float32


@pytest.mark.parametrize("values, printed", [
    ([0.5, 1.25], "tensor([0.5000, 1.2500])"),            # four decimals, as PyTorch prints
    ([1.0, 2.0], "tensor([1., 2.])"),                     # whole numbers keep the short form
    ([1.0, 5000.0], "tensor([1.0000e+00, 5.0000e+03])"),  # scientific: four decimals again
    ([-2.5e11, 0.0], "tensor([-2.5000e+11,  0.0000e+00])"),
])
def test_tensors_print_as_pytorch_prints_them(values, printed):
    assert repr(cg.tensor(values)) == printed
    assert repr(cg.zeros(0, 3)) == "tensor([], size=(0, 3))"
