"""Gradient clipping and functional_call.

Clipping changes gradients in place on their arrays, as torch.nn.utils does; it runs
between backward() and optimizer.step(), outside any graph.
"""
import contextlib
import math

import numpy as np

from ...errors import ArgumentError, CompgraphError
from ...tensor import Tensor, _make


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint norm is at most max_norm.

    The norm is taken over all gradients as if concatenated into one vector; it is
    returned (before clipping) as a 0-d tensor.  Gradients are multiplied by
    max_norm / (norm + 1e-6) when that is below 1.
    """
    grads = _grads(parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not grads:
        return _make(np.array(0.0, np.float32))
    if norm_type == math.inf:
        norms = [np.max(np.abs(g._value)) if g._value.size else 0.0 for g in grads]
        total = float(max(norms))
    elif norm_type == 2:
        # one float64 copy and a BLAS dot per gradient, not abs, power and sum passes
        total = math.sqrt(sum(float(np.dot(v, v)) for v in
                              (g._value.astype(np.float64).ravel() for g in grads)))
    else:
        total = float(sum(np.sum(np.abs(g._value.astype(np.float64)) ** norm_type)
                          for g in grads) ** (1.0 / norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise CompgraphError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                             "gradients is non-finite, so they cannot be clipped; pass "
                             "error_if_nonfinite=False to clip anyway")
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g._value *= g._value.dtype.type(coef)
    return _make(np.array(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    c = float(clip_value)
    for g in _grads(parameters):
        np.clip(g._value, -c, c, out=g._value)


def parameters_to_vector(parameters):
    from ... import functional as CF
    return CF.cat([CF.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of vec into the parameters' arrays (no graph)."""
    v = vec._value if isinstance(vec, Tensor) else np.asarray(vec)
    start = 0
    for p in parameters:
        n = p._value.size
        p._value[...] = v[start:start + n].reshape(p.shape)
        start += n
    if start != v.size:
        raise ArgumentError(f"vector_to_parameters: vector has {v.size} elements, the "
                            f"parameters {start}")


@contextlib.contextmanager
def _swapped(module, tensors):
    saved = {}
    try:
        for name, t in tensors.items():
            mod_name, _, attr = name.rpartition(".")
            mod = module.get_submodule(mod_name)
            if attr not in mod._parameters and attr not in mod._buffers:
                raise ArgumentError(f"functional_call: {name!r} is not a parameter or buffer")
            saved[name] = (mod, attr, getattr(mod, attr))
            mod._set_entry(attr, t)
        yield
    finally:
        for mod, attr, old in saved.values():
            mod._set_entry(attr, old)


def functional_call(module, parameters_and_buffers, args=(), kwargs=None):
    """Call module with some parameters/buffers replaced by the given tensors (by dotted
    name), e.g. to differentiate with respect to copies (as torch.func.functional_call)."""
    if not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, parameters_and_buffers):
        return module(*args, **(kwargs or {}))
