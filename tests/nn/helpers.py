"""Helpers for the nn tests: gradient checks of a module with respect to its parameters."""
import numpy as np

import compgraph as cg
from compgraph.nn.utils import functional_call


def gradcheck_module(module, *inputs, extra=None):
    """gradcheck `module(*inputs)` with respect to the floating inputs that require grad
    and every parameter, all in float64 (the module is converted in place)."""
    module.double()
    names = [n for n, p in module.named_parameters() if p.requires_grad]
    params = [cg.tensor(np.array(dict(module.named_parameters())[n]._value), requires_grad=True)
              for n in names]
    n_in = len(inputs)

    def fn(*args):
        out = functional_call(module, dict(zip(names, args[n_in:])), tuple(args[:n_in]))
        return extra(out) if extra is not None else out
    return cg.gradcheck(fn, list(inputs) + params)


def randn(*shape, seed=0, requires_grad=False):
    rng = np.random.default_rng(seed)
    return cg.tensor(rng.standard_normal(shape), dtype=cg.float64, requires_grad=requires_grad)
