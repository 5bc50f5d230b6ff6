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
    # DET_PERTURB=1e-7 scales every weight by (1 + 1e-7), about one float32 rounding: the same
    # library run twice, with and without it, shows how far rounding alone carries a program
    return ((-0.3 + 0.6 * u) * (1 + float(os.environ.get("DET_PERTURB", 0)))).reshape(shape)

_filled = {}   # collection -> (parameters, lookup tables) already set
_made = set()  # (collection, name) of the parameters set when they were added (below)


def fill(pc):
    """Sets the parameters of pc not set yet (a program may add some after making its trainer;
    a builder adds its own, which the hook below does not see)."""
    ps, ls = pc.parameters_list(), pc.lookup_parameters_list()
    n, nl = _filled.get(id(pc), (0, 0))
    for k, p in enumerate(ps[n:], n):
        if (id(pc), p.name()) not in _made:
            p.set_value(data(p.shape(), k))
    for k, lp in enumerate(ls[nl:], nl):
        if (id(pc), lp.name()) not in _made:
            lp.init_from_array(data(lp.shape(), 50 + k) * 3)
    _filled[id(pc)] = (len(ps), len(ls))


# Parameters added by the program itself are set as they are added (in the order the program
# adds them, one counter for all collections): a program may copy them before it makes a
# trainer (ddpg's target networks), or make none (minibatch).
_count = [0]


class _Collection(dy.ParameterCollection):
    def add_parameters(self, dim, *a, **k):
        p = super().add_parameters(dim, *a, **k)
        p.set_value(data(p.shape(), 100 + _count[0]))
        _count[0] += 1
        _made.add((id(self), p.name()))
        return p

    def add_lookup_parameters(self, dim, *a, **k):
        lp = super().add_lookup_parameters(dim, *a, **k)
        lp.init_from_array(data(lp.shape(), 150 + _count[0]) * 3)
        _count[0] += 1
        _made.add((id(self), lp.name()))
        return lp


dy.ParameterCollection = dy.Model = _Collection


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
    # the VAE's reparameterization noise: NumPy's seeded draws, the same on both libraries
    dy.random_normal = lambda dim, mean=0.0, stddev=1.0, batch_size=1: dy.inputTensor(
        np.random.normal(mean, stddev, (tuple(dim) if hasattr(dim, "__len__") else (dim,))
                         + ((batch_size,) if batch_size > 1 else ())), batched=batch_size > 1)

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
