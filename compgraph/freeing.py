"""Freeing, during the forward, the values of intermediate results no backward reads.

Every node of the graph holds its value, and the graph holds every node until backward,
so without this a training step keeps every activation of its forward: minGPT's GELU,
written as eight elementwise ops, would keep eight (B, T, 4C) arrays where its backward
reads four.  A node's value is freed (replaced by a FreedValue, which keeps the shape
and dtype the VJPs may still ask for) once
  (a) no VJP that will run reads it: not its own (through `ans`) and not any consumer's
      (through that consumer's inputs) -- ops/reads.py says which values each VJP reads,
      and only the VJPs of inputs that require grad count, so 0.044715 * x does not keep
      x for a constant's gradient; and
  (b) nothing outside the graph holds the tensor: its reference count is exactly the
      references of its live known consumers' input tuples.  A variable of the user's, a
      Graph's node list (the DyNet dialect, the tutorial's Graph), compile()'s trace, a
      consumer not tracked here: each is one reference more, and the value stays.
So a value is freed only when no Python code can reach the tensor except by walking the
graph (node.inputs, children, drawings), and reading it that way raises a GraphError that
says what happened, instead of returning anything.

apply() calls track() for each new node that requires grad and whose value has at
least state.FREE_MIN_SIZE elements (small arrays are not worth the bookkeeping, and the
per-op cost of small graphs stays what it was); each call looks again at the pending
nodes, since a user's variable may have let go of one meanwhile, and backward() and
grad() look once more before they start.  The pending table holds weak references only,
so it keeps nothing alive; consumers are counted only while they live (a consumer that
died took its reference with it).
"""
import weakref
from sys import getrefcount

from . import state
from .backend import device_of
from .errors import GraphError
from .ops.reads import needs
from .ops.table import fmt

LIMIT = 64       # pending nodes looked at again on each tracked op (the oldest are forgotten)
_pending = {}    # id(node) -> (weakref to node, [weakrefs to its consumers so far])


class FreedValue:
    """What a freed node holds instead of its array: the metadata the VJPs read (shape,
    dtype, ndim, size), and an error for everything else, NumPy's protocols included,
    so that no code can compute with it by mistake."""
    __slots__ = ("shape", "dtype", "device", "op")

    def __init__(self, array, op):
        self.shape = array.shape
        self.dtype = array.dtype
        self.device = device_of(array)
        self.op = op

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        n = 1
        for d in self.shape:
            n *= d
        return n

    def error(self):
        return GraphError(
            f"the value of this intermediate result ({self.op}, shape {fmt(self.shape)}, "
            f"{self.dtype}) was freed during the forward pass: no gradient formula reads it "
            "and nothing but the graph held the tensor, so it was dropped to save memory (as "
            "PyTorch keeps only what its backward needs).  To read it, keep a reference to "
            "the tensor (assign it to a variable) when it is made, or turn freeing off with "
            "compgraph.state.FREE_MIN_SIZE = float('inf')")

    def __getattr__(self, name):
        raise self.error()

    def __repr__(self):
        return f"<freed value of {self.op}, shape {fmt(self.shape)}, {self.dtype}>"

    __hash__ = object.__hash__


def _refuse(self, *args, **kwargs):
    raise self.error()


# NumPy's ways in (ufuncs, functions, conversion) and Python's operators all refuse
for _name in ("__array__", "__array_ufunc__", "__array_function__", "__reduce_ex__",
              "__getitem__", "__setitem__", "__len__", "__iter__", "__contains__", "__bool__",
              "__float__", "__int__", "__index__", "__complex__",
              "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
              "__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(FreedValue, _name, _refuse)
for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul",
              "and", "or", "xor", "lshift", "rshift"):
    for _form in ("__%s__", "__r%s__", "__i%s__"):
        setattr(FreedValue, _form % _name, _refuse)


def _count():
    o = object()
    return getrefcount(o)


_ALONE = _count()      # a local and getrefcount's argument: what "held by no one" reads


def track(t):
    """A new node t (made by apply, requiring grad, large): note what its VJPs read, and
    free whatever pending node nothing needs any more.  Written for speed: it runs once
    per large node."""
    if state.TRACE is not None:
        return                        # compile() reads every traced value afterwards
    ins = t.inputs
    op = t.op
    n = len(ins)                      # which VJPs will run (a comprehension costs more)
    mask = ((ins[0].requires_grad, ins[1].requires_grad) if n == 2 else
            (ins[0].requires_grad,) if n == 1 else tuple([a.requires_grad for a in ins]))
    hit = op._needs.get(mask)
    reads, reads_ans = hit if hit is not None else needs(op, mask)
    pending = _pending
    if pending:
        ref = None
        for k, a in enumerate(ins):
            rec = pending.get(id(a))
            if rec is None or rec[0]() is not a:
                continue                  # not pending (or a dead node's id, reused)
            if k in reads:
                pending.pop(id(a), None)   # t's backward reads it: it stays until then
            else:
                if ref is None:
                    ref = weakref.ref(t)
                users = rec[1]
                if not users or users[-1] is not ref:
                    users.append(ref)
        a = rec = None                # a reference of ours would keep the last input
        sweep()
    if not reads_ans:
        pending[id(t)] = (weakref.ref(t), [])
        if len(pending) > LIMIT:
            pending.pop(next(iter(pending)), None)


def sweep():
    """Free the pending nodes that only their known consumers hold now."""
    pending = _pending
    for key, rec in list(pending.items()):
        node = rec[0]()
        if node is None:
            pending.pop(key, None)
            continue
        held = 0                      # references from the input tuples of its consumers
        for w in rec[1]:
            q = w()
            if q is not None:
                qins = q.inputs
                if qins is not None:
                    for x in qins:
                        if x is node:
                            held += 1
        x = q = None                  # (ours would count)
        if getrefcount(node) - held == _ALONE:
            pending.pop(key, None)
            v = node._value
            if v.__class__ is not FreedValue:
                node._value = FreedValue(v, node.op.name)


def forget(node):
    """Stop considering node (Tensor._become moves another node into the object)."""
    _pending.pop(id(node), None)
