"""Finite-difference gradient checks: a feature for users and the backbone of the tests."""
import numpy as np

from .autograd import grad
from .errors import CompgraphError
from .tensor import Tensor, _make


class GradcheckError(CompgraphError, AssertionError):
    """Analytic and numerical gradients disagree; the message says where."""


def _as_f64_inputs(inputs):
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            out.append(_make(np.array(x._value, dtype=np.float64), x.requires_grad))
        else:
            out.append(x)
    return out


def _scalarize(y, weights):
    """A fixed random projection of the output, so one backward checks the whole Jacobian."""
    return (y * weights).sum()


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Compare fn's gradients with central finite differences in float64.

    fn takes the inputs (tensors; those with requires_grad are checked) and returns a tensor.
    Returns True, or raises GradcheckError naming the input, the index, and both values.
    """
    inputs = _as_f64_inputs(list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
    wrt = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not wrt:
        raise GradcheckError("gradcheck: no input has requires_grad=True")
    y = fn(*inputs)
    weights = np.asarray(np.random.default_rng(seed).standard_normal(y.shape))
    wt = _make(weights)
    # an output that does not depend on any input (a constant gradient) has zero derivative
    analytic = (grad(_scalarize(y, wt), wrt, allow_unused=True) if y.requires_grad
                else [None] * len(wrt))
    for k, (x, ga) in enumerate(zip(wrt, analytic)):
        ga = np.zeros_like(x._value) if ga is None else ga._value
        flat = x._value.reshape(-1)         # a view: nudging it nudges x
        num = np.zeros(flat.size)
        for i in range(flat.size):
            orig = flat[i]
            flat[i] = orig + eps
            fp = float(np.sum(fn(*inputs)._value * weights))
            flat[i] = orig - eps
            fm = float(np.sum(fn(*inputs)._value * weights))
            flat[i] = orig
            num[i] = (fp - fm) / (2 * eps)
        num = num.reshape(x.shape)
        bad = ~np.isclose(ga, num, atol=atol, rtol=rtol)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            position = next(j for j, t in enumerate(inputs) if t is x)
            msg = (f"gradcheck: input {position} (shape {x.shape}) disagrees at index "
                   f"{idx}: analytic {ga[idx]:.6g}, numerical {num[idx]:.6g} "
                   f"({int(bad.sum())} of {bad.size} entries off)")
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Check second derivatives: gradcheck of the (projected) first gradient."""
    inputs = _as_f64_inputs(list(inputs) if isinstance(inputs, (list, tuple)) else [inputs])
    wrt = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def first_grad(*xs):
        y = fn(*xs)
        weights = _make(np.asarray(np.random.default_rng(seed + 1).standard_normal(y.shape)))
        ws = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        gs = grad(_scalarize(y, weights), ws, create_graph=True, allow_unused=True)
        total = None
        for g in gs:
            if g is not None:
                s = g.reshape(-1).sum() if g.numel() == 1 else (g * g).sum()
                total = s if total is None else total + s
        return total
    return gradcheck(first_grad, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed) and bool(wrt)
