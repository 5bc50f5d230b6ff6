"""PyTorch's operators and functions that compgraph lacked: forward against hand-derived
values, gradients against finite differences (the compositions here; the new primitives
are swept by tests/ops), errors by type and message.  Expected values were checked
against PyTorch 2.13."""
import math
import warnings

import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import ArgumentError, BoundsError, DTypeError, GraphError, ShapeError


def f64(a, requires_grad=True):
    return cg.tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


A = [[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]


# --- operators ------------------------------------------------------------------------------

def test_bitwise_operators_on_bool_and_int():
    x = cg.tensor([0.5, 1.5, -1.0])
    assert ((x > 0) & (x < 1)).tolist() == [True, False, False]
    assert ((x > 1) | (x < 0)).tolist() == [False, True, True]
    assert ((x > 0) ^ (x > 1)).tolist() == [True, False, False]
    assert (~(x > 0)).tolist() == [False, False, True]
    assert (cg.tensor([3, 5]) & cg.tensor([1, 4])).tolist() == [1, 4]
    assert (cg.tensor([3, 5]) | 2).tolist() == [3, 7]
    assert (1 & cg.tensor([3, 4])).tolist() == [1, 0]
    assert (~cg.tensor([3, 0])).tolist() == [-4, -1]
    m = cg.tensor([True, False]) & True
    assert m.dtype == np.bool_ and m.tolist() == [True, False]


def test_bitwise_refuses_floats():
    x = cg.tensor([0.5, 1.5])
    with pytest.raises(DTypeError, match="bitwise_and: only integer and bool"):
        x & x
    with pytest.raises(DTypeError, match="bitwise_not"):
        ~x


def test_logical_functions_take_any_dtype():
    a, b = cg.tensor([1.0, 0.0, 2.0]), cg.tensor([1.0, 1.0, 0.0])
    assert cg.logical_and(a, b).tolist() == [True, False, False]
    assert cg.logical_or(a, b).tolist() == [True, True, True]
    assert cg.logical_xor(a, b).tolist() == [False, True, True]
    assert cg.logical_not(a).tolist() == [False, True, False]
    assert a.logical_and(b).dtype == np.bool_


def test_floor_divide_and_remainder_follow_python():
    a, b = cg.tensor([-7.0, 7.0, 7.5]), cg.tensor([2.0, -2.0, 2.0])
    assert (a // b).tolist() == [-4.0, -4.0, 3.0]
    assert (a % b).tolist() == [1.0, -1.0, 1.5]
    assert (cg.tensor([-7, 7]) // 2).tolist() == [-4, 3]
    assert (cg.tensor([-7, 7]) % 3).tolist() == [2, 1]
    assert (7 // cg.tensor([2.0, -2.0])).tolist() == [3.0, -4.0]
    assert (7 % cg.tensor([2.0, -3.0])).tolist() == [1.0, -2.0]
    for p, q in [(-7, 2), (7, -2), (7.5, 2.0), (-7.5, -2.0)]:
        assert (cg.tensor(p) % cg.tensor(q)).item() == p % q
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        cg.tensor([1, 2]) // 0
    with pytest.raises(ZeroDivisionError, match="remainder"):
        cg.tensor([1, 2]) % cg.tensor([1, 0])


def test_floor_divide_has_no_gradient_and_remainder_has_one():
    x = f64([-7.0, 7.0, 2.5])
    assert not (x // 2).requires_grad
    y = f64([2.0, -2.0, 1.0])
    assert cg.gradcheck(lambda a, b: a % b, [x, y])
    (x % y).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0] and y.grad.tolist() == [4.0, 4.0, -2.0]


def test_any_all_return_bool_tensors():
    x = cg.tensor([1.0, 5.0])
    r = (x > 2).any()
    assert isinstance(r, cg.Tensor) and r.dtype == np.bool_ and r.shape == () and bool(r)
    assert not bool((x > 2).all())
    m = cg.tensor([[True, False], [True, True]])
    assert m.all(dim=1).tolist() == [False, True]
    assert m.any(dim=0, keepdim=True).tolist() == [[True, True]]
    assert cg.any(cg.tensor([0, 2]), 0).item() is True
    assert cg.all(cg.tensor([1.0, 0.0])).item() is False
    if (x > 2).any():                    # still reads as a truth value
        pass


# --- clamp with tensor bounds -------------------------------------------------------------

def test_clamp_with_tensor_bounds():
    x = cg.tensor([1.0, 5.0, 3.0])
    assert cg.clamp(x, min=cg.tensor([2.0, 2.0, 2.0])).tolist() == [2.0, 5.0, 3.0]
    assert cg.clamp(x, max=cg.tensor(4.0)).tolist() == [1.0, 4.0, 3.0]
    assert cg.clamp(x, min=cg.tensor(1.0), max=cg.tensor(0.0)).tolist() == [0.0, 0.0, 0.0]
    assert cg.clamp(cg.zeros(3), min=cg.zeros(2, 3)).shape == (2, 3)
    assert x.clamp_min(2.0).tolist() == [2.0, 5.0, 3.0] and x.clamp_max(2.0).tolist() == [1.0, 2.0, 2.0]


def test_clamp_tensor_gradients_as_pytorch():
    x, lo, hi = f64([1.0, 5.0, 3.0]), f64([2.0, 2.0, 3.0]), f64([4.0, 4.0, 4.0])
    cg.clamp(x, lo, hi).sum().backward()
    # x equal to its bound keeps the gradient (PyTorch's rule, not a shared tie)
    assert x.grad.tolist() == [0.0, 0.0, 1.0]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0] and hi.grad.tolist() == [0.0, 1.0, 0.0]
    x, lo, hi = f64([0.3, 2.0, -1.2]), f64([0.0, 0.5, -2.0]), f64([1.0, 1.5, -1.5])
    assert cg.gradcheck(lambda a, b, c: cg.clamp(a, b, c), [x, lo, hi])


# --- norms -------------------------------------------------------------------------------------

def test_norm_forms():
    m = cg.tensor([[3.0, 4.0], [1.0, 0.0]])
    assert m.norm(dim=1).tolist() == [5.0, 1.0]
    assert m.norm(p=1).item() == 8.0
    assert m.norm(p=math.inf).item() == 4.0
    assert m.norm(p=0).item() == 3.0
    assert m.norm(p="fro").item() == pytest.approx(math.sqrt(26))
    np.testing.assert_allclose(m.norm(p=3, dim=0, keepdim=True).numpy(), [[28 ** (1 / 3), 4.0]], rtol=1e-6)
    assert cg.norm(m, 2, 1).tolist() == [5.0, 1.0]
    assert cg.linalg.norm(m).item() == pytest.approx(math.sqrt(26))
    assert cg.linalg.norm(cg.tensor([3.0, 4.0])).item() == 5.0
    assert cg.linalg.norm(m, dim=1).tolist() == [5.0, 1.0]
    v = cg.linalg.vector_norm
    assert v(m, ord=math.inf, dim=1).tolist() == [4.0, 1.0]
    assert v(m, ord=-math.inf, dim=1).tolist() == [3.0, 0.0]
    assert v(m, ord=0, dim=1).tolist() == [2.0, 1.0]
    assert v(m).dtype == np.float32


def test_norm_refusals():
    m = cg.ones(2, 2)
    with pytest.raises(ArgumentError, match="nuclear"):
        m.norm(p="nuc")
    with pytest.raises(ArgumentError, match="matrix norm ord=2"):
        cg.linalg.norm(m, ord=2)
    with pytest.raises(DTypeError, match="vector_norm: expected a floating-point"):
        cg.linalg.vector_norm(cg.tensor([3, 4]))
    with pytest.raises(ShapeError, match="dim 2"):
        m.norm(dim=2)


@pytest.mark.parametrize("p", [2, 1, 3, math.inf])
def test_norm_gradient_is_zero_at_the_zero_vector(p):
    z = cg.zeros(3, requires_grad=True)
    z.norm(p=p).backward()
    assert z.grad.tolist() == [0.0, 0.0, 0.0]


def test_norm_gradients():
    z = f64([1.0, -3.0, 3.0])
    cg.linalg.vector_norm(z, ord=math.inf).backward()
    assert z.grad.tolist() == [0.0, -0.5, 0.5]          # ties share it, as in PyTorch
    z = f64([0.0, 3.0, 4.0])
    z.norm(p=1).backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0]
    x = f64([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
    for p in (2, 3, 1.5):
        assert cg.gradcheck(lambda a: a.norm(p=p, dim=1), [x])
        assert cg.gradgradcheck(lambda a: a.norm(p=p, dim=1), [x], atol=1e-4, rtol=1e-3)


# --- std / var / sign ----------------------------------------------------------------------

@pytest.mark.parametrize("fn", ["std", "var"])
def test_std_var_of_one_element_are_nan_as_pytorch(fn):
    x = cg.tensor([1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = getattr(x, fn)()
        assert math.isnan(y.item())
        y.backward()
    assert math.isnan(x.grad.item())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(getattr(cg.ones(3, 1), fn)(dim=1).numpy()).all()


def test_sign_and_rounding_keep_requires_grad_with_zero_gradient():
    x = f64([1.2, -2.7, 0.4])
    for f in (cg.sign, cg.floor, cg.ceil, cg.round, cg.trunc):
        assert f(x).requires_grad
    (x.sign() * x).sum().backward()
    assert x.grad.tolist() == [1.0, -1.0, 1.0]
    assert cg.round(cg.tensor([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]
    assert cg.round(cg.tensor([1.26]), decimals=1).tolist() == [pytest.approx(1.3)]
    assert cg.floor(cg.tensor([-1.5])).tolist() == [-2.0] and cg.ceil(cg.tensor([-1.5])).tolist() == [-1.0]
    assert cg.trunc(cg.tensor([-1.5, 1.5])).tolist() == [-1.0, 1.0]


# --- compositions: forward and gradient -----------------------------------------------------------

def test_cumsum():
    x = cg.tensor(A)
    assert x.cumsum(1).tolist() == [[1.0, -1.0, 2.0], [4.0, 9.0, 3.0]]
    assert cg.cumsum(x, dim=0).tolist() == [[1.0, -2.0, 3.0], [5.0, 3.0, -3.0]]
    assert cg.tensor([1, 2, 3]).cumsum(0).dtype == np.int64
    assert cg.cumsum(cg.tensor(2.0), 0).shape == ()
    with pytest.raises(ShapeError, match="cumsum: dim 2"):
        x.cumsum(2)


def test_cumprod_gradient_is_exact_at_zeros():
    w = cg.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=cg.float64)
    for a, grad in [([2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 22.0, 0.0, 0.0, 0.0]),
                    ([1.0, 2.0, 3.0], [23.0, 11.0, 6.0]), ([2.0, 3.0, 0.0], [7.0, 4.0, 18.0])]:
        x = f64(a)
        (x.cumprod(0) * w[:len(a)]).sum().backward()
        assert x.grad.tolist() == grad                 # PyTorch's values
    x = f64([[0.5, -1.5, 2.0], [1.2, 0.7, -0.9]])
    assert cg.gradgradcheck(lambda a: a.cumprod(1), [x], atol=1e-4, rtol=1e-3)
    assert cg.cumprod(cg.tensor([1, 2, 3]), 0).tolist() == [1, 2, 6]


def test_tril_triu():
    x = cg.tensor(A)
    assert x.tril().tolist() == [[1.0, 0.0, 0.0], [4.0, 5.0, 0.0]]
    assert cg.triu(x, 1).tolist() == [[0.0, -2.0, 3.0], [0.0, 0.0, -6.0]]
    assert cg.triu(x, diagonal=-1).tolist() == A
    with pytest.raises(ShapeError, match="tril: input must be at least 2-D"):
        cg.tril(cg.ones(3))


def test_flip_and_repeat():
    x = cg.tensor(A)
    assert x.flip(0).tolist() == [A[1], A[0]]
    assert cg.flip(x, [0, 1]).tolist() == [[-6.0, 5.0, 4.0], [3.0, -2.0, 1.0]]
    with pytest.raises(ShapeError, match="flip: dims"):
        x.flip((0, 0))
    r = cg.tensor([[1, 2]]).repeat(2, 2)
    assert r.tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert x.repeat(2, 1, 2).shape == (2, 2, 6) and x.repeat((2, 2)).shape == (4, 6)
    with pytest.raises(ShapeError, match="repeat: 1 repeat count"):
        x.repeat(2)
    g = f64(A)
    assert cg.gradcheck(lambda a: a.repeat(2, 1, 2) * cg.arange(6.0, dtype=cg.float64), [g])
    assert cg.gradcheck(lambda a: a.flip(1).cumsum(1).tril(), [g])


def test_masked_fill():
    x = cg.tensor(A)
    assert x.masked_fill(x > 2, 0.5).tolist() == [[1.0, -2.0, 0.5], [0.5, 0.5, -6.0]]
    assert x.masked_fill(cg.tensor([True, False, True]), -1.0).tolist() == [[-1.0, -2.0, -1.0], [-1.0, 5.0, -1.0]]
    g = f64(A)
    mask = cg.tensor([[True, False, False], [False, True, False]])
    assert cg.gradcheck(lambda a: a.masked_fill(mask, 0.0) * 2, [g])
    with pytest.raises(DTypeError, match="masked_fill: mask must be a bool"):
        x.masked_fill(cg.tensor([1, 0, 1]), 0.0)
    with pytest.raises(ShapeError, match="0-d"):
        x.masked_fill(mask, cg.ones(2))


def test_masked_fill_in_place():
    a = cg.zeros(3)
    assert a.masked_fill_(cg.tensor([True, False, True]), 5.0) is a
    assert a.tolist() == [5.0, 0.0, 5.0]
    w = cg.zeros(2, 2, requires_grad=True)
    with pytest.raises(GraphError, match="masked_fill_"):
        w.masked_fill_(cg.tensor([True, False]), 1.0)
    with cg.no_grad():
        w.masked_fill_(cg.tensor([True, False]), 1.0)
    assert w.tolist() == [[1.0, 0.0], [1.0, 0.0]]


def test_unbind_and_select():
    x = cg.tensor(A)
    cols = x.unbind(1)
    assert len(cols) == 3 and cols[2].tolist() == [3.0, -6.0]
    assert x.select(0, -1).tolist() == A[1]
    with pytest.raises(BoundsError, match="select: index 2"):
        x.select(0, 2)
    g = f64(A)
    assert cg.gradcheck(lambda a: cg.stack([u * (i + 1) for i, u in enumerate(a.unbind(1))]), [g])


def test_scatter_add_and_scatter():
    idx = cg.tensor([[0, 1, 0], [1, 0, 0]])
    out = cg.zeros(3, 3).scatter_add(0, idx, cg.tensor(A))
    assert out.tolist() == [[1.0, 5.0, -3.0], [4.0, -2.0, 0.0], [0.0, 0.0, 0.0]]
    x = cg.tensor(A)
    assert x.scatter(1, cg.tensor([[0], [2]]), cg.tensor([[9.0], [8.0]])).tolist() == [[9.0, -2.0, 3.0], [4.0, 5.0, 8.0]]
    assert x.scatter(1, cg.tensor([[0], [2]]), 7.0).tolist() == [[7.0, -2.0, 3.0], [4.0, 5.0, 7.0]]
    s, base = f64([[1.0, 2.0], [3.0, 4.0]]), f64(A)
    i2 = cg.tensor([[0, 1], [2, 0]])
    assert cg.gradcheck(lambda b, v: cg.scatter_add(b, 1, i2, v), [base, s])
    assert cg.gradcheck(lambda b, v: cg.scatter(b, 1, i2, v), [base, s])
    with pytest.raises(BoundsError, match="scatter_add: index 3"):
        x.scatter_add(1, cg.tensor([[3]]), cg.ones(1, 1))
    with pytest.raises(ShapeError, match="scatter: index must have the same number"):
        x.scatter(1, cg.tensor([0]), 1.0)


def test_square_rsqrt_and_value_tests():
    x = cg.tensor([2.0, 4.0])
    assert x.square().tolist() == [4.0, 16.0]
    np.testing.assert_allclose(x.rsqrt().numpy(), [1 / math.sqrt(2), 0.5], rtol=1e-6)
    g = f64([0.7, 2.0])
    assert cg.gradcheck(lambda a: a.square() + a.rsqrt(), [g])
    s = cg.tensor([1.0, math.nan, math.inf, -math.inf])
    assert s.isnan().tolist() == [False, True, False, False]
    assert cg.isinf(s).tolist() == [False, False, True, True]
    assert s.isfinite().tolist() == [True, False, False, False]


def test_allclose_equal_nonzero():
    assert cg.allclose(cg.tensor([1.0, 2.0]), cg.tensor([1.0, 2.000001]))
    assert not cg.tensor([1.0]).allclose(cg.tensor([1.1]))
    assert cg.equal(cg.tensor([1, 2]), cg.tensor([1, 2])) is True
    assert not cg.equal(cg.tensor([1.0]), cg.tensor([1.0, 1.0]))
    m = cg.tensor([[0, 1], [2, 0]])
    assert m.nonzero().tolist() == [[0, 1], [1, 0]] and m.nonzero().dtype == np.int64
    assert [t.tolist() for t in cg.nonzero(m, as_tuple=True)] == [[0, 1], [1, 0]]


def test_sort_argsort_topk():
    x = cg.tensor(A)
    v, i = x.sort(dim=1)
    assert v.tolist() == [[-2.0, 1.0, 3.0], [-6.0, 4.0, 5.0]] and i.tolist() == [[1, 0, 2], [2, 0, 1]]
    assert cg.sort(x, dim=0, descending=True).values.tolist() == [[4.0, 5.0, 3.0], [1.0, -2.0, -6.0]]
    assert cg.sort(cg.tensor([2.0, 1.0, 2.0, 1.0]), descending=True, stable=True).indices.tolist() == [0, 2, 1, 3]
    assert x.argsort(dim=1, descending=True).tolist() == [[2, 0, 1], [1, 0, 2]]
    t = x.topk(2, dim=1)
    assert t.values.tolist() == [[3.0, 1.0], [5.0, 4.0]] and t.indices.tolist() == [[2, 0], [1, 0]]
    assert cg.topk(x, 1, dim=0, largest=False)[0].tolist() == [[1.0, -2.0, -6.0]]
    with pytest.raises(ShapeError, match="topk: k=4"):
        x.topk(4)
    g = f64([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
    assert cg.gradcheck(lambda a: a.sort(dim=1).values * cg.arange(3.0, dtype=cg.float64), [g])
    assert cg.gradcheck(lambda a: a.topk(2, dim=1).values, [g])


def test_bmm():
    a, b = f64(np.arange(12.0).reshape(2, 2, 3) / 10), f64(np.ones((2, 3, 2)))
    np.testing.assert_allclose(cg.bmm(a, b).numpy(force=True), np.matmul(a.numpy(force=True), b.numpy(force=True)))
    assert cg.gradcheck(cg.bmm, [a, b])
    with pytest.raises(ShapeError, match="bmm: both operands must be 3-D"):
        cg.bmm(cg.ones(2, 3), cg.ones(3, 2))
    with pytest.raises(ShapeError, match="batch sizes must be equal"):
        cg.bmm(cg.ones(2, 2, 3), cg.ones(3, 3, 2))


# --- small Tensor methods -------------------------------------------------------------------

def test_contiguous_detach_is_floating_point():
    x = cg.tensor(A, requires_grad=True)
    assert x.contiguous() is x
    assert x.is_floating_point() and not cg.tensor([1]).is_floating_point()
    y = x * 2
    assert y.detach_() is y and not y.requires_grad and y.is_leaf and y.grad_fn is None


def test_new_constructors_follow_self():
    x = cg.tensor([1.0], dtype=cg.float64)
    assert x.new_zeros(2, 3).shape == (2, 3) and x.new_zeros((2,)).dtype == np.float64
    assert x.new_ones(3).tolist() == [1.0, 1.0, 1.0]
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_full((2,), 7).dtype == np.float64
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert x.new_empty(1, 2).shape == (1, 2)
    assert x.new_zeros(2, dtype=cg.int64).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad


# --- register_hook -------------------------------------------------------------------------------

def test_register_hook_sees_and_replaces_gradients():
    a = cg.tensor([1.0, 2.0], requires_grad=True)
    b = a * 3
    seen = []
    b.register_hook(lambda g: seen.append(g.tolist()))
    h = a.register_hook(lambda g: g * 10)
    (b * b).sum().backward()
    assert seen == [[6.0, 12.0]]
    assert a.grad.tolist() == [180.0, 360.0]
    h.remove()
    a.grad = None
    (a * 2).sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


def test_register_hook_on_an_intermediate_changes_what_flows_back():
    a = cg.tensor([1.0, 2.0], requires_grad=True)
    b = a * a
    b.register_hook(lambda g: g * 0)
    (b + a).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0]


def test_register_hook_with_autograd_grad_and_create_graph():
    a = cg.tensor([1.0, 2.0], requires_grad=True)
    b = a * a
    b.register_hook(lambda g: g * 2)
    (ga,) = cg.grad(b.sum(), a, create_graph=True)
    assert ga.tolist() == [4.0, 8.0]
    (gga,) = cg.grad(ga.sum(), a)
    assert gga.tolist() == [4.0, 4.0]


def test_register_hook_with_post_accumulate_hooks():
    a = cg.tensor([1.0, 2.0], requires_grad=True)
    a.register_hook(lambda g: g + 1)
    got = []
    a.register_post_accumulate_grad_hook(lambda t: got.append(t.grad.tolist()))
    (a * 3).sum().backward()
    assert got == [[4.0, 4.0]] and a.grad.tolist() == [4.0, 4.0]


def test_register_hook_errors_and_cleanup():
    from compgraph import autograd
    with pytest.raises(GraphError, match="register_hook"):
        cg.tensor([1.0]).register_hook(lambda g: g)
    a = cg.tensor([1.0], requires_grad=True)
    b = a * 2
    b.register_hook(lambda g: cg.ones(3))
    with pytest.raises(ShapeError, match="register_hook: a hook returned a gradient of shape"):
        b.sum().backward()
    n = len(autograd._GRAD_HOOKS)
    for _ in range(5):
        (a * 2).register_hook(lambda g: g)     # the tensor dies: its hooks go with it
    assert len(autograd._GRAD_HOOKS) <= n + 1


def test_masked_fill_in_place_on_a_non_leaf_is_recorded():
    w = cg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    scores = w * 2
    scores.masked_fill_(cg.tensor([False, True, False]), -1e9)    # attention-style masking
    scores.sum().backward()
    assert w.grad.tolist() == [2.0, 0.0, 2.0]
