"""Module.register_full_backward_hook / register_full_backward_pre_hook beyond the parity
case (tests/parity/module_methods.py): several inputs (one a non-tensor, one without
grad), a tuple output, removal, and the replacements compgraph refuses, each against
real torch where torch has an answer."""
import numpy as np
import pytest
import torch

import compgraph as cg
from compgraph.errors import UnsupportedError


def _two_inputs(nn):
    class Mix(nn.Module):
        def forward(self, a, scale, b, c):
            return (a * b).sum(-1) * scale + c.sum(-1), a * 2

    return Mix()


def _record(lib, replace_pre=False):
    m, seen = _two_inputs(lib.nn), []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append(("full", gi, go)))
    m.register_full_backward_pre_hook(lambda mod, go: seen.append(("pre", go)))
    a = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = lib.tensor(np.ones((2, 3)), requires_grad=True)
    c = lib.tensor(np.ones((2, 2)))                   # needs no gradient
    y, z = m(a, 3.0, b, c)
    (y.sum() + (z ** 2).sum()).backward()
    return seen, a.grad, b.grad


def _np(v):
    return None if v is None else v.detach().numpy()


def test_several_inputs_and_a_tuple_output_as_torch():
    theirs, mine = _record(torch), _record(cg)
    assert [e[0] for e in mine[0]] == [e[0] for e in theirs[0]] == ["pre", "full"]
    (_, t_go), (_, t_gi, t_go2) = theirs[0]
    (_, m_go), (_, m_gi, m_go2) = mine[0]
    assert len(m_gi) == len(t_gi) == 4
    for m, t in zip(list(m_gi) + list(m_go) + list(m_go2), list(t_gi) + list(t_go) + list(t_go2)):
        assert (m is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(_np(m), _np(t), rtol=1e-12)
    np.testing.assert_allclose(_np(mine[1]), _np(theirs[1]))
    np.testing.assert_allclose(_np(mine[2]), _np(theirs[2]))


def test_removed_hooks_no_longer_run():
    lin = cg.nn.Linear(2, 2)
    seen = []
    h = lin.register_full_backward_hook(lambda *a: seen.append(1))
    x = cg.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    h.remove()
    lin(x).sum().backward()
    assert seen == [1] and not lin._has_hooks


def test_replacing_grad_input_of_a_single_input_module_as_torch():
    grads = []
    for lib in (torch, cg):
        lin = lib.nn.Linear(2, 2)
        with lib.no_grad():
            lin.weight.copy_(lib.tensor([[1.0, 2.0], [3.0, -1.0]]))
        lin.register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10,))
        x = lib.ones(3, 2, requires_grad=True)
        lin(x).sum().backward()
        grads.append(_np(x.grad))
    np.testing.assert_allclose(grads[1], grads[0])
    np.testing.assert_allclose(grads[1], np.full((3, 2), [40.0, 10.0]))


def test_replacing_grad_input_of_several_inputs_is_refused_clearly():
    m = _two_inputs(cg.nn)
    m.register_full_backward_hook(lambda mod, gi, go: tuple(None if g is None else g * 0 for g in gi))
    a, b = cg.ones(2, 3, requires_grad=True), cg.ones(2, 3, requires_grad=True)
    y, z = m(a, 1.0, b, cg.ones(2, 2))
    with pytest.raises(UnsupportedError, match="several inputs"):
        (y.sum() + z.sum()).backward()
