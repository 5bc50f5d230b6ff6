"""Module.register_forward_pre_hook / register_forward_hook: order, replacing inputs and
outputs, kwargs, handle.remove() and the context-manager form."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.errors import ArgumentError


def test_forward_hook_sees_inputs_and_output_and_can_replace_it():
    lin = nn.Linear(3, 2)
    seen = []
    handle = lin.register_forward_hook(lambda m, args, out: seen.append((m, args, out)))
    x = cg.ones(4, 3)
    y = lin(x)
    (m, args, out), = seen
    assert m is lin and args[0] is x and out is y
    h2 = lin.register_forward_hook(lambda m, args, out: out * 2)
    np.testing.assert_allclose(lin(x)._value, 2 * y._value, rtol=1e-6)
    handle.remove()
    h2.remove()
    handle.remove()                                       # twice is harmless
    assert len(seen) == 2
    np.testing.assert_allclose(lin(x)._value, y._value)
    assert not lin._has_hooks


def test_pre_hook_replaces_arguments_single_value_or_tuple():
    relu = nn.ReLU()
    h = relu.register_forward_pre_hook(lambda m, args: -args[0])       # a single value
    np.testing.assert_array_equal(relu(cg.tensor([1.0, -2.0]))._value, [0.0, 2.0])
    h.remove()
    with relu.register_forward_pre_hook(lambda m, args: (args[0] * 3,)):
        np.testing.assert_array_equal(relu(cg.tensor([1.0]))._value, [3.0])
    np.testing.assert_array_equal(relu(cg.tensor([1.0]))._value, [1.0])


def test_hook_order_prepend_and_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args: order.append("pre1"))
    m.register_forward_pre_hook(lambda mod, args: order.append("pre0"), prepend=True)
    m.register_forward_hook(lambda mod, args, out: order.append("post1"))
    m.register_forward_hook(lambda mod, args, out: order.append("post0"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 5.0}), with_kwargs=True)
    got = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: got.update(kwargs), with_kwargs=True)
    assert m(cg.tensor([2.0]), factor=3.0).item() == 10.0
    assert order == ["pre0", "pre1", "post0", "post1"]
    assert got == {"factor": 5.0}


def test_hooks_on_submodules_collect_activations_and_gradients_flow():
    cg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    acts = {}
    handles = [m.register_forward_hook(lambda mod, args, out, name=name: acts.__setitem__(name, out))
               for name, m in model.named_children()]
    x = cg.randn(5, 3)
    model(x).sum().backward()
    assert sorted(acts) == ["0", "1", "2"] and acts["1"].shape == (5, 4)
    assert model[0].weight.grad is not None
    for h in handles:
        h.remove()
    acts.clear()
    model(x)
    assert acts == {}
    with pytest.raises(ArgumentError, match="callable"):
        model.register_forward_hook(3)
