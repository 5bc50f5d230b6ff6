"""Parity cases of nn.Module's methods, on one small network built in both libraries
with torch's initial weights copied into compgraph's.  Each case is a call(side, x) that
uses the method and returns what a program would look at (outputs, names, flags)."""
import torch

import compgraph as cg

from .case_kit import values_only, generic


def _build(nn):
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def net(side):
    torch.manual_seed(0)
    t = _build(torch.nn)
    if side.is_torch:
        return t
    c = _build(cg.nn)
    c.load_state_dict({k: cg.tensor(v.detach().numpy().copy()) for k, v in t.state_dict().items()})
    return c


def _x(d):
    return (d.array((d.int(2, 4), 3), "float32", edge=False),), {}


def _case(call, grad=True):
    return generic(_x, call=call) if grad else values_only(_x, call=call)


def _names(items):
    return [n for n, _ in items]


def _types(mods):
    return [type(m).__name__ for m in mods]


def _with_hook(side, x, pre):
    m = net(side)
    if pre:
        m.register_forward_pre_hook(lambda mod, inputs: (inputs[0] * 2,))
    else:
        m.register_forward_hook(lambda mod, inputs, out: out * 2)
    return m(x)


def _backward_hooked(side, x, pre, replace, input_grad=True):
    """Full backward (pre-)hooks on the first Linear, the Tanh and the whole network: what
    each hook sees, in the order they run, and the gradients after a replacement (a net
    without net()'s BatchNorm, whose exact-zero gradients differ by rounding)."""
    torch.manual_seed(0)
    m = t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    if not side.is_torch:
        m = cg.nn.Sequential(cg.nn.Linear(3, 4), cg.nn.Tanh(), cg.nn.Linear(4, 2))
        m.load_state_dict({k: cg.tensor(v.detach().numpy().copy()) for k, v in t.state_dict().items()})
    seen = []

    def full(mod, grad_input, grad_output):
        seen.append((type(mod).__name__, list(grad_input), list(grad_output)))
        return tuple(None if g is None else g * 2 for g in grad_input) if replace else None

    def before(mod, grad_output):
        seen.append((type(mod).__name__, list(grad_output)))
        return tuple(g * 3 for g in grad_output) if replace else None

    for sub in (m[0], m[1], m):
        (sub.register_full_backward_pre_hook(before) if pre else
         sub.register_full_backward_hook(full))
    x = x.detach().clone().requires_grad_(input_grad)
    (m(x) ** 2).sum().backward()
    return seen, x.grad, [p.grad for p in m.parameters()]


def _zero_grad(side, x):
    m = net(side)
    m(x).sum().backward()
    m.zero_grad()
    return [p.grad is None for p in m.parameters()]


def _registered(side, x, what):
    m, nn = net(side), side.lib.nn
    if what == "buffer":
        m.register_buffer("extra", side.lib.ones(2))
        return m.extra, _names(m.named_buffers())
    if what == "parameter":
        m.register_parameter("extra", nn.Parameter(side.lib.ones(2)))
        return _names(m.named_parameters())
    getattr(m, what)("extra", nn.Tanh())
    return m(x), _names(m.named_children())


METHOD_CASES = {f"Module.{k}": v for k, v in {
    "forward": _case(lambda side, x: net(side).forward(x)),
    "train": _case(lambda side, x: (lambda m: (m.train()(x), m.training, list(m.buffers())))(net(side))),
    "eval": _case(lambda side, x: (lambda m: (m.eval()(x), m.training))(net(side))),
    "training": _case(lambda side, x: net(side).training, grad=False),
    "parameters": _case(lambda side, x: list(net(side).parameters()), grad=False),
    "named_parameters": _case(lambda side, x: list(net(side).named_parameters()), grad=False),
    "buffers": _case(lambda side, x: list(net(side).buffers()), grad=False),
    "named_buffers": _case(lambda side, x: _names(net(side).named_buffers()), grad=False),
    "children": _case(lambda side, x: _types(net(side).children()), grad=False),
    "named_children": _case(lambda side, x: _names(net(side).named_children()), grad=False),
    "modules": _case(lambda side, x: _types(net(side).modules()), grad=False),
    "named_modules": _case(lambda side, x: _names(net(side).named_modules()), grad=False),
    "apply": _case(lambda side, x: (lambda seen: (net(side).apply(lambda m: seen.append(type(m).__name__)), seen)[1])([]),
                   grad=False),
    "state_dict": _case(lambda side, x: list(net(side).state_dict().items()), grad=False),
    "load_state_dict": _case(lambda side, x: (lambda m: (m.load_state_dict(m.state_dict()), m(x))[1])(net(side))),
    "get_parameter": _case(lambda side, x: net(side).get_parameter("3.bias"), grad=False),
    "get_submodule": _case(lambda side, x: type(net(side).get_submodule("1")).__name__, grad=False),
    "extra_repr": _case(lambda side, x: [m.extra_repr() for m in net(side)], grad=False),
    "add_module": _case(lambda side, x: _registered(side, x, "add_module")),
    "register_module": _case(lambda side, x: _registered(side, x, "register_module")),
    "register_buffer": _case(lambda side, x: _registered(side, x, "buffer"), grad=False),
    "register_parameter": _case(lambda side, x: _registered(side, x, "parameter"), grad=False),
    "register_forward_hook": _case(lambda side, x: _with_hook(side, x, pre=False)),
    "register_forward_pre_hook": _case(lambda side, x: _with_hook(side, x, pre=True)),
    "register_full_backward_hook": _case(lambda side, x: [_backward_hooked(side, x, False, r, g)
                                                          for r in (False, True) for g in (True, False)],
                                         grad=False),
    "register_full_backward_pre_hook": _case(lambda side, x: [_backward_hooked(side, x, True, r)
                                                              for r in (False, True)], grad=False),
    "requires_grad_": _case(lambda side, x: [p.requires_grad for p in net(side).requires_grad_(False).parameters()],
                            grad=False),
    "zero_grad": _case(_zero_grad, grad=False),
    "cpu": _case(lambda side, x: net(side).cpu()(x)),
    "to": _case(lambda side, x: net(side).to(side.lib.float64)(x.double())),
    "double": _case(lambda side, x: net(side).double()(x.double())),
    "float": _case(lambda side, x: net(side).double().float()(x)),
    "half": _case(lambda side, x: [p.dtype for p in net(side).half().parameters()], grad=False),
}.items()}
