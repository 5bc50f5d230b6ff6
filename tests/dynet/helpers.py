"""Shared helpers of the DyNet dialect tests: float64 parameters, finite differences,
and loading the examples as modules."""
import importlib.util
import pathlib

import numpy as np

import compgraph.dynet as dy

ROOT = pathlib.Path(__file__).resolve().parents[2]


def to_float64(model):
    """Make every parameter of `model` float64, so that finite differences are exact enough."""
    for p in model._all():
        p._value = p._value.astype(np.float64)
        p._grad = np.zeros_like(p._value)


def analytic_grads(model, build_loss, autobatch=False):
    """Gradients of build_loss() (an Expression in a fresh graph) for every parameter."""
    for p in model._all():
        p._zero_grad()
    dy.renew_cg(autobatching=autobatch)
    loss = build_loss()
    value = loss.value()
    loss.backward()
    return value, [p.grad_as_array() for p in model._all()]


def numeric_grad(model, build_loss, p, index, eps=1e-6):
    """Central difference of the loss in one element of parameter p."""
    old = p._value[index]
    values = []
    for delta in (eps, -eps):
        p._value[index] = old + delta
        dy.renew_cg()
        values.append(build_loss().value())
    p._value[index] = old
    return (values[0] - values[1]) / (2 * eps)


def check_gradients(model, build_loss, rng, per_param=3, rtol=1e-4, atol=1e-6):
    """Compare backward() with finite differences at a few random elements of every parameter."""
    _, grads = analytic_grads(model, build_loss)
    checked = 0
    for p, g in zip(model._all(), grads):
        used = np.argwhere(g != 0)       # elements that matter (rows of a table that were looked up)
        assert len(used), f"{p} got no gradient"
        for _ in range(per_param):
            index = tuple(int(i) for i in used[rng.integers(0, len(used))])
            num = numeric_grad(model, build_loss, p, index)
            assert abs(num - g[index]) <= atol + rtol * abs(num), (p, index, num, g[index])
            checked += 1
    return checked


def load_example(name):
    path = ROOT / "examples" / "dynet" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"dynet_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
