"""Every public name of the PyTorch dialect, run on compgraph and on real PyTorch 2.13.

The cases are in case_table (functions, methods, attributes) and module_table (nn
classes); public_names lists the surface and the names left out, with the reason.  A new
public name without a case fails test_every_public_name_has_a_case; an op of the table that
no public case reaches fails test_every_op_is_reached.  Known differences from PyTorch are
listed in docs/pytorch-parity-gaps.md and kept out of the table until fixed.
"""
import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import compgraph as cg
import compgraph.nn.functional as cF
import torch
import torch.nn.functional as tF
from compgraph.ops import OPS

from . import oracle
from .case_table import CASES
from .module_table import MODULES, check_module
from .public_names import EXCLUDED, surface

# a few examples per name keep the whole suite to a minute or two; PARITY_EXAMPLES=200
# makes a deep run that finds the rarer differences
EXAMPLES = int(os.environ.get("PARITY_EXAMPLES", "12"))
# no shrinking: a failure reports the drawn inputs as they came (shrinking would re-run
# torch and compgraph hundreds of times)
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate), suppress_health_check=list(HealthCheck))

_SURFACE = {"torch": (cg, torch), "F": (cF, tF)}


def case_for(where, name):
    key = f"{where}.{name}"
    if key in EXCLUDED:
        return None
    if key in CASES or key in MODULES:
        return key
    if where != "nn" and name in CASES:
        return name
    return None


PUBLIC = surface()
ENFORCED = [(w, n) for w, n in PUBLIC if case_for(w, n)]


def test_every_public_name_has_a_case():
    missing = [f"{w}.{n}" for w, n in PUBLIC if not case_for(w, n) and f"{w}.{n}" not in EXCLUDED]
    assert not missing, ("public names without a parity case (add one to tests/parity/"
                         f"case_table.py or module_table.py, or to EXCLUDED with the reason): {missing}")


def test_excluded_names_exist_and_have_no_case():
    public = {f"{w}.{n}" for w, n in PUBLIC}
    stale = [k for k in EXCLUDED if k not in public]
    assert not stale, f"EXCLUDED names that are not public (any more): {stale}"
    both = [k for k in EXCLUDED if k in CASES or k in MODULES]
    assert not both, f"names both EXCLUDED and with a case: {both}"


def test_every_case_names_a_public_name():
    public = {f"{w}.{n}" for w, n in PUBLIC} | {n for _, n in PUBLIC}
    stray = [k for k in list(CASES) + list(MODULES) if k not in public]
    assert not stray, f"cases for names compgraph does not have: {stray}"


# ops whose public name differs from the op's, or that only a composite reaches
OP_REACHED_BY = {
    "clip": "clamp", "concatenate": "cat", "copy": "clone", "getitem": "Tensor.T",
    "permute_dims": "permute", "pad_constant": "F.pad", "vector_norm": "norm",
    "gelu_cdf": "F.gelu", "conv2d_input_grad": "F.conv2d", "conv2d_weight_grad": "F.conv2d",
    "max_pool2d_gather": "F.max_pool2d", "max_pool2d_scatter": "F.max_pool2d",
    "scatter_add": "scatter_add", "index_put": "Tensor.masked_fill_",
    "first_order_only": "scatter_reduce",
    "lstm_cell": "nn.LSTMCell", "lstm_layer": "nn.LSTM", "vanilla_lstm_c": "nn.LSTM",
    "vanilla_lstm_gates": "nn.LSTM", "vanilla_lstm_h": "nn.LSTM", "to_device": "Tensor.cpu",
    "cross_entropy": "F.cross_entropy", "binary_cross_entropy": "F.binary_cross_entropy",
    "linear": "F.linear", "max_pool2d": "F.max_pool2d", "conv2d": "F.conv2d",
    "conv2d_bias": "F.conv2d", "layer_norm": "F.layer_norm",
    "elu": "F.elu", "gelu": "F.gelu", "leaky_relu": "F.leaky_relu", "softplus": "F.softplus",
    "astype": "Tensor.to", "div_floor": "div", "div_trunc": "div",
    "hardtanh": "F.hardtanh", "hardsigmoid": "F.hardsigmoid", "hardswish": "F.hardswish",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
    "arccosh": "acosh", "arctanh": "atanh", "arctan2": "atan2",
}

# DyNet-only ops (no name in the PyTorch dialect): compared against real DyNet's outputs
# by tests/dynet, gradient-checked by tests/ops
DYNET_ONLY_OPS = {"lgamma", "stop_gradient", "inv", "logdet", "dynet_binary_log_loss"}


def test_every_op_is_reached():
    names = set(CASES) | set(MODULES)
    missing = [op for op in OPS
               if OP_REACHED_BY.get(op, op) not in names and op not in DYNET_ONLY_OPS]
    exposed = [op for op in DYNET_ONLY_OPS if hasattr(cg, op) or hasattr(cg.Tensor, op)]
    assert not exposed, f"DyNet-only ops now public in the PyTorch dialect (give them cases): {exposed}"
    assert not missing, f"ops of the table that no parity case reaches: {missing}"


def _caller(where, name, case):
    if case.call == "attr":
        return lambda side, x: getattr(x, name)
    if where == "Tensor":
        return lambda side, x, *a, **k: getattr(x, name)(*a, **k)
    mine, theirs = _SURFACE[where]
    return lambda side, *a, **k: getattr(theirs if side.is_torch else mine, name)(*a, **k)


@pytest.mark.parametrize("where,name", ENFORCED, ids=[f"{w}.{n}" for w, n in ENFORCED])
def test_parity(where, name):
    key = case_for(where, name)
    if key in MODULES:
        spec = MODULES[key]
        run = lambda d: check_module(name, spec, d)          # noqa: E731
        n = spec.examples or EXAMPLES
    else:
        case = CASES[key]
        call = case.call if callable(case.call) else _caller(where, name, case)

        def run(d):
            args, kwargs = case.gen(d)
            try:
                # gradients at NaN/Inf inputs are not compared: both libraries' NaN
                # propagation there is an accident of the formula
                oracle.check(call, args, kwargs, grad=case.grad and d.edge != "nonfinite",
                             tol=case.tol, grad_tol=case.grad_tol, post=case.post,
                             check_dtype=case.check_dtype, check_args=case.check_args,
                             seed=d.int(0, 1000))
            except AssertionError as e:
                raise AssertionError(f"{where}.{name}{oracle.describe(args, kwargs)}: {e}") from None
        n = case.examples or EXAMPLES

    @settings(max_examples=n, **SETTINGS)
    @given(st.data())
    def body(data):
        torch.manual_seed(0)
        run(oracle.Draw(data))
    body()
