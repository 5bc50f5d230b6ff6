"""clip_grad_norm_, clip_grad_value_, functional_call and nn.functional's extras."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import CompgraphError


def _params_with_grads(*grads):
    ps = []
    for g in grads:
        p = nn.Parameter(cg.zeros(*np.shape(g)))
        p.grad = cg.tensor(g)
        ps.append(p)
    return ps


def test_clip_grad_norm_returns_the_total_norm_and_scales_down():
    ps = _params_with_grads([3.0, 0.0], [[4.0], [0.0]])
    total = nn.utils.clip_grad_norm_(ps, max_norm=1.0)
    assert isinstance(total, cg.Tensor) and total.item() == pytest.approx(5.0)
    coef = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(ps[0].grad._value, [3 * coef, 0], rtol=1e-6)
    np.testing.assert_allclose(ps[1].grad._value, [[4 * coef], [0]], rtol=1e-6)
    joint = math.sqrt(sum((p.grad._value ** 2).sum() for p in ps))
    assert joint == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_leaves_small_gradients_and_other_norms():
    ps = _params_with_grads([0.3, -0.4])
    assert nn.utils.clip_grad_norm_(ps, 1.0).item() == pytest.approx(0.5)
    np.testing.assert_allclose(ps[0].grad._value, [0.3, -0.4])
    ps = _params_with_grads([1.0, -3.0], [2.0])
    assert nn.utils.clip_grad_norm_(ps, 1.5, norm_type=math.inf).item() == pytest.approx(3.0)
    np.testing.assert_allclose(ps[0].grad._value, [0.5, -1.5], rtol=1e-5)
    ps = _params_with_grads([1.0, -3.0])
    assert nn.utils.clip_grad_norm_(ps[0], 10.0, norm_type=1).item() == pytest.approx(4.0)
    ps = _params_with_grads([np.inf])
    with pytest.raises(CompgraphError, match="non-finite"):
        nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_clamps_in_place():
    ps = _params_with_grads([0.5, -2.0, 3.0])
    g = ps[0].grad._value
    nn.utils.clip_grad_value_(ps, 1.0)
    assert ps[0].grad._value is g
    np.testing.assert_array_equal(g, [0.5, -1.0, 1.0])


def test_functional_call_swaps_tensors_only_for_the_call():
    lin = nn.Linear(2, 1)
    w = cg.tensor([[1.0, 2.0]], requires_grad=True)
    out = nn.utils.functional_call(lin, {"weight": w, "bias": cg.tensor([0.5])}, (cg.tensor([[1.0, 1.0]]),))
    assert out.item() == pytest.approx(3.5)
    out.backward()
    np.testing.assert_array_equal(w.grad._value, [[1.0, 1.0]])
    assert isinstance(lin.weight, nn.Parameter) and lin.weight is lin._parameters["weight"]


def test_nn_functional_reexports_and_one_hot():
    import compgraph.functional as core
    assert F.relu is core.relu and F.dropout is core.dropout
    x = cg.arange(8.0).reshape(2, 2, 2)
    np.testing.assert_allclose(F.softmax(x, dim=-1)._value, core.softmax(x, -1)._value)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        implicit = F.softmax(x)                       # PyTorch's legacy rule: dim 0 for 3-D
    np.testing.assert_allclose(implicit._value, core.softmax(x, 0)._value)
    oh = F.one_hot(cg.tensor([0, 2, 1]), 4)
    assert oh.dtype == np.int64
    np.testing.assert_array_equal(oh._value, np.eye(4, dtype=np.int64)[[0, 2, 1]])
    x = cg.tensor([[1.0, 2.0], [3.0, 4.0]])
    w = cg.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(F.linear(x, w, cg.tensor([0.0, 1.0, 0.0]))._value,
                               x._value @ w._value.T + [0.0, 1.0, 0.0])
    ln = F.layer_norm(x, (2,))
    np.testing.assert_allclose(ln._value, [[-1, 1], [-1, 1]], atol=1e-4)
