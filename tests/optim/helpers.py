"""Run an optimizer on fixed gradients, and the plain-data check for state_dicts."""
import numpy as np

import compgraph as cg
import compgraph.nn as nn


def run(opt_cls, start, grads, **kw):
    """Values of one parameter (float64) after each step with the given gradients."""
    p = nn.Parameter(cg.tensor(np.array(start, dtype=np.float64)))
    opt = opt_cls([p], **kw)
    out = []
    for g in grads:
        p.grad = cg.tensor(np.array(g, dtype=np.float64))
        opt.step()
        out.append(p._value.copy())
    return np.array(out)


def is_plain(obj):
    """Only dicts, lists, tuples, numbers, strings, None, bools and NumPy arrays."""
    if isinstance(obj, dict):
        return all(is_plain(k) and is_plain(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return all(is_plain(v) for v in obj)
    return obj is None or isinstance(obj, (bool, int, float, str, np.ndarray, np.generic))
