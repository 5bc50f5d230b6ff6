"""Graph: nodes in creation order, the tutorial's explicit computation graph.

    g = Graph()
    a = g.var(1.0); b = g.var(2.0)
    c = g.add(a, b)          # recorded, not computed
    forward(g)               # a loop over g.nodes
    c.grad = 1.0
    backward(g)              # a loop over reversed(g.nodes), gradients added with +=

Nodes are ordinary Tensors (the one node type) that belong to the graph, so every op of
compgraph works on them and records into the same graph.  Because nodes are appended as
they are made, g.nodes is always a topological order: forward needs no sort.
"""
import numpy as np

from . import functional as F
from .autograd import _accumulate, backprop, reachable
from .ops.namespace import array_namespace
from .backend import ndarray, xp_of
from .errors import ArgumentError, DTypeError, GraphError, ShapeError
from .ops.table import fmt
from .ops import OPS
from .ops.table import Op
from .tensor import Tensor, _make, _as_array, apply, check_finite
from . import state


class _TutorialOp(Op):
    """An op-table entry recorded under the tutorial's node type: g.mul's node runs the
    table's matmul (the engine, error messages and drawings say matmul) and its type, what
    a student's loop switches on, is 'mul'."""
    __slots__ = ("type",)

    def __init__(self, type, base):
        super().__init__(base.name, base.fwd, base.vjps, vjp_n=base.vjp_n, vjp_all=base.vjp_all,
                         shape=base.shape, dtype=base.dtype, nondiff=base.nondiff,
                         check=base.check, once=base.once, batch=base.batch, doc=base.doc,
                         reads=base.reads)
        self.type = type


_MUL = _TutorialOp("mul", OPS["matmul"])
_LOGISTIC = _TutorialOp("logistic", OPS["sigmoid"])
_LOGSOFTMAX = _TutorialOp("logsoftmax", OPS["log_softmax"])


def _cross_entropy_shape(logprob, gold, **attrs):
    if tuple(logprob) != tuple(gold):
        raise ShapeError(f"cross-entropy: the log-probabilities have shape {fmt(logprob)} but "
                         f"the gold vector has shape {fmt(gold)}; they must be the same (a "
                         "one-hot vector per score vector, e.g. one_hot(label, num_classes))")
    return ()


# the tutorial's loss as one node: -(logprob . gold), summed over every element (so a batch
# of rows gives the summed loss); the gradient for each child is the other one, negated
_CROSS_ENTROPY = Op("cross-entropy", lambda xp, logprob, gold: -xp.sum(logprob * gold),
                    (lambda xp, g, ans, logprob, gold: -g * gold,
                     lambda xp, g, ans, logprob, gold: -g * logprob),
                    shape=_cross_entropy_shape, check=True,
                    doc="the tutorial's cross-entropy node: -(logprob . gold)")


class Graph:
    # executors/static.py registers here: run a graph evaluated again through a generated plan
    _static = None

    def __init__(self):
        self.nodes = []
        self._left = {}       # node -> the gradient the last backward() left on it
        self._seeded = {}     # node -> the seed that backward() started from

    def __len__(self):
        return len(self.nodes)

    def __repr__(self):
        return f"<Graph with {len(self.nodes)} nodes>"

    def _repr_svg_(self):
        """Jupyter shows the whole graph, with values and gradients, when Graphviz is there."""
        from .viz import svg_or_none
        return svg_or_none(self)

    # --- building ------------------------------------------------------------------------
    def _adopt(self, node):
        node._graph = self
        node._index = len(self.nodes)
        self.nodes.append(node)
        return node

    def var(self, value, name=None, requires_grad=None):
        """A leaf holding `value` (the tutorial's var: inputs and parameters alike); floats
        get gradients, integers (labels, the tutorial's g.var(1)) do not."""
        arr = value._value if isinstance(value, Tensor) else np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise ArgumentError(f"var: a graph value must be numbers (a number, a list or an "
                                f"array of them), got {type(value).__name__} of dtype {arr.dtype}")
        if requires_grad is None:
            requires_grad = arr.dtype.kind == "f"
        elif requires_grad and arr.dtype.kind != "f":
            raise DTypeError(f"var: only floating-point values can require gradients, got "
                             f"{arr.dtype}; give a float value (e.g. {value!r} as 2.0)")
        node = _make(arr, requires_grad)
        node.name = name
        return self._adopt(node)

    def placeholder(self, shape, dtype=np.float32, name=None):
        """A leaf whose value is fed later: forward(g, feed={node: value})."""
        node = _make(None, np.dtype(dtype).kind == "f")
        node._meta = (tuple(shape), np.dtype(dtype))
        node.name = name
        return self._adopt(node)

    def record(self, op, args, attrs):
        """Add a node for op(args) without computing it; its shape rule runs now."""
        for a in args:
            if a._graph is not None and a._graph is not self:
                raise GraphError(f"{op.name}: an operand belongs to another graph; a node can "
                                 "only use nodes of its own graph (or plain tensors)")
        shapes = [a.shape for a in args]
        if op.shape is not None:
            shape = op.shape(*shapes, **attrs)
        else:
            shape = None
        dtypes = [a.dtype for a in args]
        dtype = op.dtype(*dtypes, **attrs) if op.dtype is not None else np.result_type(*dtypes)
        node = _make(None)
        node._meta = (tuple(shape), np.dtype(dtype))
        if not op.nondiff and state.GRAD_ENABLED and any(a.requires_grad for a in args):
            node.requires_grad = True
        node.op, node.inputs, node.attrs = op, args, attrs
        return self._adopt(node)

    # the tutorial's methods, each one node of the tutorial's type with its children as
    # the tutorial has them, so that a student's own forward/backward loop (switching on
    # n.type over g.nodes) runs over this graph; `mul` is the matrix product there
    def add(self, a, b):
        return F.add(a, b)

    def mul(self, a, b):
        return apply(_MUL, F._pair(a, b))

    def logistic(self, a):
        return apply(_LOGISTIC, (F._lift(a, None),))

    def logsoftmax(self, a):
        return apply(_LOGSOFTMAX, (F._lift(a, None),), {"axis": -1})

    def cross_entropy(self, pred, gold):
        """The tutorial's loss: a 'cross-entropy' node whose children are the
        log-probabilities (a 'logsoftmax' node over pred) and the gold vector, with value
        -(logprob . gold)."""
        return apply(_CROSS_ENTROPY, F._pair(self.logsoftmax(pred), gold))

    # --- running ------------------------------------------------------------------------------
    def compute(self, node):
        vals = [x._value for x in node.inputs]
        for x in node.inputs:
            if x._value is None:
                raise ArgumentError(f"forward: placeholder {x.name or x._index} has no value: "
                                    "feed it, forward(g, feed={placeholder: value})")
        xp = array_namespace(np if vals[0].__class__ is ndarray else xp_of(vals[0]))
        out = node.op.fwd(xp, *vals, **node.attrs)
        node._value = np.asarray(out) if xp.is_numpy and out.__class__ is not ndarray else out
        if state.ANOMALY:
            check_finite(node.op, node._value, "forward")

    def forward(self, feed=None):
        """Compute every node in creation order (the tutorial's forward)."""
        for node, value in (feed or {}).items():
            if not isinstance(node, Tensor) or node._graph is not self or node.op is not None:
                raise ArgumentError(f"forward: feed keys must be this graph's inputs (the nodes "
                                    f"g.placeholder() or g.var() returned), got {node!r}")
            arr = _as_array(value, node.dtype)
            if arr.shape != tuple(node.shape):
                raise ShapeError(f"forward: the value fed to {node.name or node._index} has shape "
                                 f"{fmt(arr.shape)}, but it was declared {fmt(node.shape)}")
            node._value = arr
        pending = [node for node in self.nodes if node.op is not None]
        if self._static is not None and self._static(pending):
            return                      # a graph run before: its generated forward did it
        for node in pending:
            self.compute(node)

    def evaluate(self, target=None):
        """Compute the nodes not yet computed, up to `target` (all when None)."""
        end = len(self.nodes) if target is None else target._index + 1
        for node in self.nodes[:end]:
            if node._value is None:
                self.compute(node)

    def invalidate(self):
        """An input changed: every computed op node must be recomputed."""
        for node in self.nodes:
            if node.op is not None:
                node._value = None

    def _value_set(self, node):
        """node.value = v was assigned.  Nodes made after `node` may depend on it and must
        be recomputed; those made before cannot, so a student's forward loop that sets
        n.value node after node keeps the values it has already computed."""
        if node.op is None or type(self).invalidate is not Graph.invalidate:
            self.invalidate()    # an input (or a graph with its own bookkeeping): everything
            return
        for later in self.nodes[node._index + 1:]:
            if later.op is not None:
                later._value = None

    def backward(self):
        """Push the gradients the user seeded (e.g. loss.grad = 1.0) back through every node.

        Each call starts afresh from the seeds: a gradient that the previous backward left
        on a node is not a seed (the tutorial rebuilds the graph per example, but a graph
        kept and run twice must not count its own old gradients as new ones); a seed set
        then, and not changed since, is a seed again."""
        self.evaluate()
        left, seeded = self._left, self._seeded
        seeds = {}
        for node in self.nodes:
            g = node.grad
            if g is None:
                continue
            if left.get(node) is g:              # what the last backward put there
                g = seeded.get(node)
                if g is None:
                    continue
            else:
                g = g._value if isinstance(g, Tensor) else g
                xp = xp_of(node._value)
                try:
                    g = xp.broadcast_to(xp.asarray(g, dtype=node.dtype), node.shape).copy()
                except ValueError:
                    raise ShapeError(f"backward(graph): the gradient set on node {node._index} "
                                     f"({node.type}) has shape {fmt(np.shape(g))}, which does not "
                                     f"fit the node's shape {fmt(node.shape)}") from None
            seeds[node] = g
        if not seeds:
            raise ArgumentError("backward(graph): no node has a gradient to start from; "
                                "set one first, e.g. loss.grad = 1.0")
        self._seeded = {node: g.copy() for node, g in seeds.items()}
        backprop(self.nodes, seeds, retain_graph=True, keep_all=True)
        self._left = {}
        for node in self.nodes:
            g = node.grad = seeds.pop(node, None)
            if g is not None:
                self._left[node] = g
        # what is left reached tensors made outside the graph (an nn.Parameter used in it):
        # their gradient goes on the ordinary way, into .grad as tensor.backward() puts it
        outside = [x for x in seeds if x.requires_grad]
        if outside:
            for leaf, g in backprop(reachable(outside), seeds).items():
                if leaf.op is None:
                    _accumulate(leaf, g, False)


def forward(graph, feed=None):
    """Compute all values of `graph` (or of the graph a tensor belongs to)."""
    _graph_of(graph).forward(feed)


def backward(graph):
    """The tutorial's backward: gradients of every node, as plain arrays in node.grad."""
    if isinstance(graph, Tensor) and graph._graph is None:
        graph.backward()
        return
    _graph_of(graph).backward()


def _graph_of(x):
    if isinstance(x, Graph):
        return x
    if isinstance(x, Tensor) and x._graph is not None:
        return x._graph
    raise ArgumentError(f"expected a Graph (or a node of one), got {type(x).__name__}")


def one_hot(label, num_classes):
    """A float vector with a 1 at `label` (the tutorial's nn.one_hot)."""
    labels = np.asarray(label)
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= num_classes)):
        raise ShapeError(f"one_hot: labels must be integers in 0..{num_classes - 1}, got {label!r}")
    return (labels[..., None] == np.arange(num_classes)).astype(np.float64)


def _functional_methods():
    """Every other function of compgraph works on graph nodes and records here: g.tanh(x) is
    F.tanh(x).  They are class attributes rather than a __getattr__ fallback, because CPython
    does not specialize the attribute reads of a class with a __getattr__ (each costs some
    25 ns more), and the graphs' record and run paths -- the DyNet dialect's
    ComputationGraph above all -- read their own attributes several times per node."""
    for name in dir(F):
        fn = getattr(F, name)
        if not name.startswith("_") and callable(fn) and not hasattr(Graph, name):
            setattr(Graph, name, staticmethod(fn))


_functional_methods()
