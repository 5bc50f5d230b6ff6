"""NumPy-only kernels for the hottest VJPs and forwards: the same formulas as the table's
generic ones, written with in-place ufuncs (``out=``) so that a large activation makes one
or two fresh arrays instead of four or five (fresh pages cost as much as the arithmetic on
a (700, 10000) log-softmax).  Callers use them only when ``xp`` is NumPy; under
create_graph the generic formulas run, as ops."""
import numpy as np


def log_softmax(a, axis):
    out = np.subtract(a, np.maximum.reduce(a, axis=axis, keepdims=True))
    e = np.exp(out)
    out -= np.log(np.add.reduce(e, axis=axis, keepdims=True))
    return out


def log_softmax_vjp(g, ans, axis):
    # g - exp(ans) * sum(g)
    e = np.exp(ans)
    e *= np.add.reduce(g, axis=axis, keepdims=True)
    return np.subtract(g, e, out=e)


def softmax(a, axis):
    e = np.subtract(a, np.maximum.reduce(a, axis=axis, keepdims=True))
    np.exp(e, out=e)
    e /= np.add.reduce(e, axis=axis, keepdims=True)
    return e


def softmax_vjp(g, ans, axis):
    # ans * (g - sum(g * ans))
    t = np.multiply(g, ans)
    s = np.add.reduce(t, axis=axis, keepdims=True)
    np.subtract(g, s, out=t)
    t *= ans
    return t
