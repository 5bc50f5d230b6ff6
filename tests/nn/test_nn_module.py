"""Module, Parameter and containers: registration, naming, modes, dtype moves, state_dict."""
import collections
import copy

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.optim  # noqa: F401  (compgraph.optim as an attribute, for `import compgraph as torch`)
from compgraph.errors import ArgumentError, CompgraphError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.scale = nn.Parameter(cg.ones(4))
        self.register_buffer("count", cg.zeros(1))
        self.act = nn.Tanh()

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Linear(4, 2)
        self.shared = self.head          # the same module twice: its parameters count once

    def forward(self, x):
        return self.head(self.block(x))


def test_parameter_is_a_tensor_sharing_memory_and_requiring_grad():
    t = cg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, cg.Tensor) and p.requires_grad and p.is_leaf
    assert p._value is t._value
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert type(p * 2) is cg.Tensor          # results of ops are plain tensors
    assert copy.deepcopy(p).__class__ is nn.Parameter


def test_parameters_in_registration_order_with_dotted_names_and_no_duplicates():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    # as PyTorch: each module's own parameters before its submodules'
    assert names == ["block.scale", "block.fc.weight", "block.fc.bias", "head.weight", "head.bias"]
    assert len(list(net.parameters())) == 5
    assert [n for n, _ in net.named_buffers()] == ["block.count"]
    assert [n for n, _ in net.named_children()] == ["block", "head"]
    assert [n for n, _ in net.named_modules()] == ["", "block", "block.fc", "block.act", "head"]
    assert list(net.parameters(recurse=False)) == []
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("block.scale") is net.block.scale


def test_reassigning_replaces_and_wrong_types_are_refused():
    lin = nn.Linear(2, 2)
    new_w = nn.Parameter(cg.zeros(2, 2))
    lin.weight = new_w
    assert lin._parameters["weight"] is new_w and lin.weight is new_w
    with pytest.raises(ArgumentError, match="weight"):
        lin.weight = cg.zeros(2, 2)             # a plain tensor is not a Parameter
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    del lin.weight
    assert "weight" not in lin._parameters

    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(cg.ones(1))
    with pytest.raises(CompgraphError, match="super"):
        Forgot()


def test_train_eval_reach_every_submodule():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.1)))
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_zero_grad_and_requires_grad_():
    net = Net()
    net(cg.ones(5, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad._value.any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())


def test_double_converts_in_place_keeping_identity():
    net = Net()
    params = list(net.parameters())
    net(cg.ones(1, 3)).sum().backward()
    assert net.double() is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.block.count.dtype == np.float64
    net.to(cg.float32)
    assert all(p.dtype == np.float32 for p in params)
    assert net.to("cpu") is net


def test_repr_is_nested_like_pytorch():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Tanh()))
    assert repr(net) == ("Sequential(\n"
                         "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                         "  (1): ReLU()\n"
                         "  (2): Sequential(\n"
                         "    (0): Tanh()\n"
                         "  )\n"
                         ")")


def test_state_dict_has_parameters_and_buffers_sharing_memory():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, collections.OrderedDict)
    # as PyTorch: a module reachable under two names is saved under both
    assert list(sd) == ["block.scale", "block.count", "block.fc.weight", "block.fc.bias",
                        "head.weight", "head.bias", "shared.weight", "shared.bias"]
    assert not sd["head.weight"].requires_grad
    assert sd["head.weight"]._value is net.head.weight._value
    net.block.register_buffer("scratch", cg.zeros(2), persistent=False)
    assert "block.scratch" not in net.state_dict()


def test_load_state_dict_round_trip_restores_exactly_in_place():
    cg.manual_seed(0)
    a, b = Net(), Net()
    a.block.count.fill_(7)
    snapshot = {k: v.clone() for k, v in a.state_dict().items()}
    w_before = b.head.weight
    result = b.load_state_dict(snapshot)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert b.head.weight is w_before                       # same object, new values
    for k, v in b.state_dict().items():
        np.testing.assert_array_equal(v._value, snapshot[k]._value)
    x = cg.ones(2, 3)
    np.testing.assert_array_equal(a(x)._value, b(x)._value)


def test_state_dict_survives_compgraph_io(tmp_path):
    from compgraph import io
    a, b = Net(), Net()
    io.save(a.state_dict(), tmp_path / "net.ckpt")
    b.load_state_dict(io.load(tmp_path / "net.ckpt"))
    for (k, v), (k2, v2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(v._value, v2._value)


def test_strict_load_lists_missing_and_unexpected_keys():
    net = Net()
    sd = net.state_dict()
    del sd["head.bias"]
    sd["extra.weight"] = cg.zeros(1)
    with pytest.raises(nn.StateDictError) as e:
        net.load_state_dict(sd)
    assert '"head.bias"' in str(e.value) and '"extra.weight"' in str(e.value)
    assert isinstance(e.value, RuntimeError)
    res = net.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["head.bias"] and res.unexpected_keys == ["extra.weight"]


def test_shape_mismatch_names_the_key_and_both_shapes():
    net = Net()
    sd = net.state_dict()
    sd["head.weight"] = cg.zeros(3, 4)
    before = net.head.weight._value.copy()
    with pytest.raises(nn.StateDictError, match=r"head\.weight.*\(3, 4\).*\(2, 4\)"):
        net.load_state_dict(sd)
    np.testing.assert_array_equal(net.head.weight._value, before)   # nothing half-loaded


def test_sequential_modulelist_moduledict():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and isinstance(seq[-1], nn.Linear)
    assert isinstance(seq[:2], nn.Sequential) and len(seq[:2]) == 2
    x = cg.ones(4, 2)
    np.testing.assert_allclose(seq(x)._value, seq[2](seq[1](seq[0](x)))._value)
    named = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]

    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(2)])
    ml.append(nn.Linear(1, 2))
    ml.insert(0, nn.Tanh())
    assert len(ml) == 4 and isinstance(ml[0], nn.Tanh)
    assert [n for n, _ in ml.named_parameters()][-1] == "3.bias"
    del ml[0]
    assert len(ml) == 3 and len(list(ml.parameters())) == 6

    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    md["c"] = nn.Linear(1, 3)
    assert list(md.keys()) == ["a", "b", "c"] and "b" in md
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    md.pop("a")
    assert len(md) == 2

    holder = nn.Module()
    holder.layers = ml
    assert len(list(holder.parameters())) == 6


def test_deepcopy_keeps_registry_and_attributes_in_step():
    net = Net()
    twin = copy.deepcopy(net)
    assert twin.head.weight is twin._modules["head"]._parameters["weight"]
    assert twin.head.weight is not net.head.weight
    np.testing.assert_array_equal(twin.head.weight._value, net.head.weight._value)
    twin.head.weight._value += 1
    assert not np.array_equal(twin.head.weight._value, net.head.weight._value)


def test_load_state_dict_accepts_numpy_arrays():
    lin = nn.Linear(2, 1)
    lin.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([3.0])})
    assert lin(cg.tensor([1.0, 1.0])).item() == 6.0


def test_container_indices_out_of_range_are_compgraph_index_errors():
    for container in (nn.ModuleList([nn.Linear(1, 1)]), nn.Sequential(nn.Linear(1, 1))):
        with pytest.raises(IndexError, match="index 3 is out of range for .* of length 1") as info:
            container[3]
        assert isinstance(info.value, cg.CompgraphError)
