"""scatter_reduce(reduce='prod'): first derivatives equal PyTorch's; a second derivative,
which compgraph does not compute, is refused (it used to come out silently as the zero of a
linear stand-in where PyTorch's is not zero)."""
import numpy as np
import pytest
import torch

import compgraph as cg


def _both(lib):
    x = lib.tensor([1.5, 2.0, 3.0], requires_grad=True)
    s = lib.tensor([2.0, 0.5, 4.0], requires_grad=True)
    y = x.scatter_reduce(0, lib.tensor([0, 0, 2]), s, "prod")
    return x, s, (y * y).sum()


def test_first_derivatives_as_pytorch():
    x, s, loss = _both(cg)
    got = cg.autograd.grad(loss, [x, s])
    tx, ts, tloss = _both(torch)
    want = torch.autograd.grad(tloss, [tx, ts])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def test_second_derivative_refused_where_pytorch_computes_one():
    tx, ts, tloss = _both(torch)
    (gx,) = torch.autograd.grad(tloss, [tx], create_graph=True)
    assert gx.sum().requires_grad                       # PyTorch has a second derivative
    x, s, loss = _both(cg)
    with pytest.raises(cg.GraphError, match=r"scatter_reduce\(reduce='prod'\).*higher-order"):
        cg.autograd.grad(loss, [x], create_graph=True)
