"""det.py PROGRAM ARGS: runs a DyNet example deterministically on either library (DET_LIB=real|cg):
Python's and NumPy's generators seeded, and every parameter set from a fixed formula (in
DyNet's parameters_list() order) when a trainer is made on its collection.  The program itself
is unchanged but for its import line."""
import os, random, runpy, sys
import numpy as np
random.seed(0); np.random.seed(0)
if os.environ.get("DET_LIB") == "cg":
    import compgraph.dynet as dy
else:
    import dynet as dy

def data(shape, seed):
    shape = tuple(shape); n = int(np.prod(shape)) if shape else 1
    u = (np.sin(np.arange(n) * 1.7 + 0.9 * seed + 0.4) + 1) / 2
    return (-0.3 + 0.6 * u).reshape(shape)

_filled = {}   # collection -> (parameters, lookup tables) already set


def fill(pc):
    """Sets the parameters of pc not set yet (a program may add some after making its trainer)."""
    ps, ls = pc.parameters_list(), pc.lookup_parameters_list()
    n, nl = _filled.get(id(pc), (0, 0))
    for k, p in enumerate(ps[n:], n):
        p.set_value(data(p.shape(), k))
    for k, lp in enumerate(ls[nl:], nl):
        lp.init_from_array(data(lp.shape(), 50 + k) * 3)
    _filled[id(pc)] = (len(ps), len(ls))


_collections = []
_renew = dy.renew_cg


def renew_cg(*a, **k):
    for pc in _collections:
        fill(pc)
    return _renew(*a, **k)


dy.renew_cg = renew_cg
if os.environ.get("DET_NODROP"):        # dropout and noise draw from the library's own generator
    dy.dropout = lambda x, p: x
    dy.noise = lambda x, s: x

for name in ("SimpleSGDTrainer", "MomentumSGDTrainer", "AdagradTrainer", "AdadeltaTrainer", "RMSPropTrainer", "AdamTrainer", "AmsgradTrainer"):
    base = getattr(dy, name)
    def init(self, m, *a, _base=base, **k):
        if _base.__init__ is not object.__init__:      # DyNet's Cython trainers start in __cinit__
            _base.__init__(self, m, *a, **k)
        fill(m)
        _collections.append(m)
    setattr(dy, name, type(name, (base,), {"__init__": init}))
prog = sys.argv[1]; sys.argv = sys.argv[1:]
sys.path.insert(0, os.path.dirname(os.path.abspath(prog)))
runpy.run_path(prog, run_name="__main__")
