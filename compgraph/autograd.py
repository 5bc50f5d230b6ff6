"""Reverse mode: the backward sweep, grad(), no_grad() and detect_anomaly().

The sweep visits nodes in reverse creation order (creation order is a topological order)
and, for each, runs its op's VJPs and accumulates the results into its inputs with `+`.
No recursion anywhere: a chain of 100,000 nodes is an ordinary list.
"""
import contextlib
import weakref

import numpy as np

from . import state

from .backend import ndarray, xp_of
from .errors import DTypeError, GraphError, ShapeError
from .freeing import FreedValue, sweep as sweep_pending
from .ops.reads import needs
from .ops.namespace import IndexedGrad, array_namespace, sweep_namespace  # noqa: F401
from .ops.table import fmt
from .tensor import Tensor, _make, check_finite, tensor as make_tensor


def unbroadcast(xp, g, shape):
    """Sum g over the axes that broadcasting added or stretched, giving `shape`."""
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, d in enumerate(shape)
                                      if d == 1 and g.shape[lead + i] != 1)
    if axes:
        g = xp.sum(g, axis=axes, keepdims=True)
    if lead or g.shape != tuple(shape):
        g = xp.reshape(g, shape)
    return g


# --- ordering ----------------------------------------------------------------------------------

def reachable(roots):
    """Nodes that need a gradient on the way to `roots`, in creation (topological) order."""
    seen = set()
    stack = [r for r in roots if r.requires_grad]
    seen.update(stack)
    while stack:
        ins = stack.pop().inputs
        if ins:
            for x in ins:
                if x.requires_grad and x not in seen:
                    seen.add(x)
                    stack.append(x)
    return sorted(seen, key=_creation)


def _creation(t):
    return t._id


def check_unmodified(order):
    """Refuse a backward whose VJPs would read a value changed in place after the node that
    reads it was made (PyTorch's version-counter check).  A tensor that carries gradients
    and is changed in place becomes a new node (Tensor._become), so it is its readers made
    before the change that are wrong, never the node itself.  `order` is in creation order, so
    only the nodes made before the last in-place change are looked at: in a training loop,
    where changes (zero_) come before the forward, that is the leaves.  It is stricter than
    PyTorch for ops whose VJP does not read the changed operand (add)."""
    last = state.LAST_MODIFIED
    for node in order:
        made = node._id
        if made > last:
            return
        ins = node.inputs
        if ins is None:
            continue
        if getattr(node, "_modified", -1) > made and needs(
                node.op, tuple([x.requires_grad for x in ins]))[1]:
            raise GraphError(
                f"backward: the output of {node.op.name} (shape {fmt(node.shape)}) was changed "
                "in place after it was computed, and its gradient reads it; change a copy "
                "(y = y.clone()) or do the in-place change after backward()")
        for i, x in enumerate(ins):
            if getattr(x, "_modified", -1) > made:
                raise GraphError(
                    f"backward: input {i + 1} of {node.op.name} (shape {fmt(x.shape)}) was "
                    "changed in place after the op used it, and its gradient needs the old "
                    "value; change a copy (x = x.clone()) or do the in-place change after backward()")


# --- the sweep ---------------------------------------------------------------------------------

def backprop(order, grads, retain_graph=False, create_graph=False, capture=None, keep_all=False,
             leaf_ready=None):
    """Push the gradients in `grads` ({node: grad}) back through `order`.

    Returns {node: grad} for the leaves reached and for the nodes in `capture`.  With
    keep_all, `grads` keeps every node's gradient (the tutorial's Graph wants them all).
    With leaf_ready ({leaf: callback}), callback(leaf, grad) runs as soon as the sweep
    has processed the last use of that leaf, and the leaf is not returned.
    """
    uses = _leaf_uses(order, leaf_ready) if leaf_ready else None
    F = None
    if create_graph:
        from . import functional as F
    np_ns = sweep_namespace()
    owned = {}         # id -> gradient sum this sweep made, that no one else holds yet (the
                       # dict keeps them alive, so an id cannot be reused by another array)
    out = {}
    anomaly = state.ANOMALY
    hooked = _GRAD_HOOKS or None     # register_hook: one test per node, and only when used
    # Without retain_graph the sweep drops its own reference to each node as it passes:
    # a node no one else holds (an intermediate result the user dropped) is then freed
    # with its value right after its VJPs ran, as PyTorch frees saved tensors, instead of
    # every activation of the forward living until the sweep ends (the caller's `order`
    # is its own list, made for this sweep)
    free = not retain_graph and not keep_all
    for k in range(len(order) - 1, -1, -1):
        node = order[k]
        if free:
            order[k] = None
        g = grads.get(node) if keep_all else grads.pop(node, None)
        if g is None:
            continue
        if g.__class__ is IndexedGrad:       # sparse until now; VJPs and users want it dense
            g = g.dense()
            if keep_all:
                grads[node] = g
        if hooked is not None and id(node) in hooked:
            g = _run_grad_hooks(node, g, create_graph)
            if keep_all:
                grads[node] = g
        was_owned = owned.pop(id(g), None) is g   # from here on VJPs may pass it along
        op = node.op
        if node._retain or capture is not None and node in capture:
            out[node] = g
        if op is None:
            if uses and node in uses:   # a consumer passed it nothing: it is final now
                del uses[node]
                # a hook may change the gradient in place while the sweep goes on: give it
                # an array no pending node shares
                leaf_ready[node](node, g if was_owned else g.copy())
                continue
            out[node] = g
            continue
        ins = node.inputs
        if ins is None:
            raise GraphError(
                f"backward through the graph a second time (at op {op.name}): its saved values "
                "were freed after the first backward; pass retain_graph=True to the first "
                "backward() if you need to call it twice")
        if create_graph:
            if op.once:
                raise GraphError(
                    f"backward(create_graph=True): "
                    f"{node.attrs.get('what') or op.name if node.attrs else op.name}'s backward is computed on arrays, "
                    "not with differentiable ops, so higher-order gradients cannot pass through "
                    "it; build that part from differentiable steps (e.g. nn.LSTMCell) instead")
            xp, vals, ans = F, ins, node
        else:
            vals = [x._value for x in ins]
            ans = node._value
            if ans.__class__ is ndarray:
                xp = np_ns
            else:            # CuPy, or freed (no VJP here reads it): the gradient's module
                xp = array_namespace(xp_of(g if ans.__class__ is FreedValue else ans))
                if xp.is_numpy:
                    xp = np_ns
        attrs = node.attrs
        if op.vjp_all is not None:
            all_grads = op.vjp_all(xp, g, ans, *vals, **attrs)
        else:
            all_grads = None
            vjps = op.vjps if op.vjp_n is None else op.vjps_for(len(ins))
        for i, x in enumerate(ins):
            if not x.requires_grad:
                continue
            if all_grads is not None:
                gx = all_grads[i]
                if gx is None:
                    continue
            elif attrs:
                gx = vjps[i](xp, g, ans, *vals, **attrs)
            else:
                gx = vjps[i](xp, g, ans, *vals)
            if gx.__class__ is not ndarray and not create_graph and gx.__class__ is not IndexedGrad:
                gx = xp.asarray(gx)          # NumPy returns scalars for 0-d results
            shape = x.shape if create_graph else x._value.shape
            if gx.shape != shape:
                gx = unbroadcast(xp, gx, shape)
            if anomaly and not create_graph:
                if gx.__class__ is IndexedGrad:
                    gx = gx.dense()
                check_finite(op, gx, f"backward (gradient of input {i + 1})")
            prev = grads.get(x)
            if prev is None:
                grads[x] = gx
            elif (owned.get(id(prev)) is prev and gx.__class__ is ndarray
                  and gx.dtype == prev.dtype):
                prev += gx                   # our own sum from an earlier step: add in place
            else:
                grads[x] = total = prev + gx
                if total.__class__ is ndarray:
                    owned[id(total)] = total
        if uses:
            _release_leaves(ins, uses, grads, leaf_ready, owned)
        if not retain_graph:
            node.inputs = None
    return out


def _leaf_uses(order, leaves):
    """How many times each leaf in `leaves` is an input of a node in `order`."""
    uses = {}
    for node in order:
        for x in node.inputs or ():
            if x in leaves:
                uses[x] = uses.get(x, 0) + 1
    return uses


def _release_leaves(ins, uses, grads, leaf_ready, owned):
    """Count down the uses of the hooked leaves among `ins`; at zero, hand over the gradient
    (no later node can add to it: the sweep has passed every node that uses the leaf)."""
    for x in ins:
        left = uses.get(x)
        if left is None:
            continue
        if left > 1:
            uses[x] = left - 1
            continue
        del uses[x]
        g = grads.pop(x, None)
        if g is not None:
            if g.__class__ is IndexedGrad:
                g = g.dense()
            elif owned.pop(id(g), None) is not g:
                g = g.copy()             # shared with nodes the sweep has not reached yet
            if _GRAD_HOOKS and id(x) in _GRAD_HOOKS:
                g = _run_grad_hooks(x, g, False)
            leaf_ready[x](x, g)


# leaf -> [fn(leaf)], run by backward() once leaf.grad holds this pass's final gradient.
# A plain dict (tensors hash by identity); a WeakKeyDictionary would compare keys with
# Tensor.__eq__, which is elementwise.  handle.remove() drops the entry.
_POST_ACCUMULATE_HOOKS = {}


class _HookHandle:
    def __init__(self, leaf, fn):
        self._leaf, self._fn = leaf, fn

    def remove(self):
        leaf = self._leaf
        hooks = _POST_ACCUMULATE_HOOKS.get(leaf)
        if hooks and self._fn in hooks:
            hooks.remove(self._fn)
            if not hooks:
                del _POST_ACCUMULATE_HOOKS[leaf]


def register_post_accumulate_grad_hook(leaf, fn):
    """Call fn(leaf) during backward() as soon as leaf.grad has its final value for that
    pass, while the sweep goes on (PyTorch's Tensor.register_post_accumulate_grad_hook).
    Data-parallel training starts sending a layer's gradients here, overlapping the
    backward of the layers below.  Returns a handle with remove()."""
    if not isinstance(leaf, Tensor) or leaf.op is not None or not leaf.requires_grad:
        raise GraphError("register_post_accumulate_grad_hook: needs a leaf tensor that "
                         "requires grad")
    _POST_ACCUMULATE_HOOKS.setdefault(leaf, []).append(fn)
    return _HookHandle(leaf, fn)


def _hooked_leaf_ready(create_graph, capture):
    """{leaf: callback} for backward()'s sweep, or None (no hooks: the sweep is unchanged)."""
    if not _POST_ACCUMULATE_HOOKS or create_graph or capture is not None:
        return None

    stored = set()

    def ready(leaf, g):
        _accumulate(leaf, g, False, stored)
        for fn in list(_POST_ACCUMULATE_HOOKS.get(leaf, ())):
            fn(leaf)
    return _LeafCallbacks({leaf: ready for leaf in _POST_ACCUMULATE_HOOKS}, stored)


class _LeafCallbacks(dict):
    """{leaf: callback}, and the ids of the arrays already stored as gradients this pass
    (shared with the leaves the sweep returns afterwards)."""

    def __init__(self, callbacks, stored):
        super().__init__(callbacks)
        self.stored = stored


def _seed(root, gradient, create_graph):
    if gradient is None:
        if root._value.size != 1:
            raise GraphError(f"backward: grad can be implicitly created only for a scalar output, "
                             f"this one has shape {fmt(root.shape)}; pass gradient= of that shape "
                             "or reduce it first (e.g. .sum() or .mean())")
        ones = xp_of(root._value).ones(root.shape, dtype=root.dtype)
        return _make(ones) if create_graph else ones
    g = gradient if isinstance(gradient, Tensor) else make_tensor(gradient, dtype=root.dtype)
    if tuple(g.shape) != tuple(root.shape):
        raise ShapeError(f"backward: gradient of shape {fmt(g.shape)} does not fit the output "
                         f"of shape {fmt(root.shape)}")
    return g if create_graph else g._value.copy()


def _ensure_computed(roots):
    for r in roots:
        if r._value is None and r._graph is not None:
            r._graph.evaluate(r)


def backward(root, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate d(root)/d(leaf) into every leaf's .grad (PyTorch's tensor.backward)."""
    if not isinstance(root, Tensor):
        raise GraphError(f"backward: expected a Tensor, got {type(root).__name__}")
    if not root.requires_grad:
        raise GraphError("backward: this tensor does not require grad and has no graph: none of "
                         "the tensors it was computed from has requires_grad=True (or it was "
                         "computed under no_grad())")
    _ensure_computed([root])
    sweep_pending()              # what the forward's last ops let go of: before the gradients
    if state.TRACE is not None:              # inside compile(): the sweep becomes code
        from .executors.replay import Backward
        state.TRACE.append(Backward(root))
        retain_graph = True                  # the tracer reads the graph after this
    if retain_graph is None:
        # a Graph (the tutorial's, DyNet's) lives until the user drops it: keep it whole
        retain_graph = create_graph or root._graph is not None
    grads = {root: _seed(root, gradient, create_graph)}
    capture = set(inputs) if inputs is not None else None
    leaf_ready = _hooked_leaf_ready(create_graph, capture)
    order = reachable([root])
    check_unmodified(order)
    reached = backprop(order, grads, retain_graph, create_graph, capture, leaf_ready=leaf_ready)
    stored = set() if leaf_ready is None else leaf_ready.stored
    for node, g in reached.items():
        if capture is not None and node not in capture:
            continue
        if node.op is None or node._retain or capture is not None:
            _accumulate(node, g, create_graph, stored)


def _accumulate(node, g, create_graph, stored=None):
    """Add g into node.grad as a Tensor, never aliasing another tensor's gradient.

    `stored` is the set of ids of the arrays this backward has already handed to a .grad:
    add passes one gradient array to both of its inputs, and two leaves must not share it
    (zeroing one would zero the other)."""
    if create_graph:
        if stored is not None:
            if id(g) in stored:
                g = g.clone()            # two leaves must not share one .grad tensor
            stored.add(id(g))
        node._grad = g if node._grad is None else node._grad + g
        return
    if g.dtype != node.dtype:
        g = g.astype(node.dtype)
    if g.__class__ is not ndarray and isinstance(g, np.generic):
        g = np.asarray(g)              # 0-d sums come back from NumPy as scalars
    if node._grad is None:
        if g.dtype.kind not in "fc":         # requires_grad set by assignment, unchecked
            raise DTypeError(f"backward: a leaf of dtype {g.dtype} requires grad; only "
                             "floating-point tensors can have gradients")
        # a broadcast view, a view of someone's array, or an array already given to
        # another leaf: the stored gradient must be this tensor's own
        if (g.base is not None or not g.flags.writeable
                or (stored is not None and id(g) in stored)):
            g = g.copy()
        if stored is not None:
            stored.add(id(g))
        node._grad = _make(g)
    else:
        prev = node._grad
        if not isinstance(prev, Tensor) or prev._value.shape != g.shape:
            # a .grad assigned by hand; NumPy would broadcast into it, or fail in here
            raise GraphError(
                f"backward: this leaf's .grad was set to a {type(prev).__name__} of shape "
                f"{fmt(np.shape(prev._value if isinstance(prev, Tensor) else prev))}, but its "
                f"gradient has shape {fmt(g.shape)}; set .grad to a tensor of the leaf's shape, "
                "or to None")
        total = prev._value + g
        prev._value = np.asarray(total) if isinstance(total, np.generic) else total


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """d(outputs)/d(inputs) as a tuple, without touching .grad (PyTorch's autograd.grad)."""
    single = isinstance(inputs, Tensor)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    for o in outputs:
        if not o.requires_grad:
            raise GraphError("grad: an output does not require grad (no input of it has "
                             "requires_grad=True)")
    _ensure_computed(outputs)
    sweep_pending()
    if retain_graph is None:
        retain_graph = create_graph
    grads = {}
    for o, go in zip(outputs, grad_outputs):
        s = _seed(o, go, create_graph)
        grads[o] = s if o not in grads else grads[o] + s
    order = reachable(outputs)
    check_unmodified(order)
    reached = backprop(order, grads, retain_graph, create_graph, set(inputs))
    result, given = [], set()
    for x in inputs:
        g = reached.get(x)
        if g is None:
            if not allow_unused:
                raise GraphError("grad: one of the inputs was not used to compute the outputs "
                                 "(pass allow_unused=True to get None for it)")
            result.append(None)
        elif create_graph:
            result.append(g)
        else:
            if id(g) in given or g.base is not None or not g.flags.writeable:
                g = g.copy()           # each returned gradient is its own, writable array
            given.add(id(g))
            result.append(_make(g))
    return tuple(result)


# --- modes ---------------------------------------------------------------------------------------

class set_grad_enabled(contextlib.ContextDecorator):
    """Context manager and decorator that turns gradient recording on or off."""

    def __init__(self, mode=True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = state.GRAD_ENABLED
        state.GRAD_ENABLED = self.mode

    def __exit__(self, *exc):
        state.GRAD_ENABLED = self.prev
        return False


class no_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    def __init__(self):
        super().__init__(True)


def is_grad_enabled():
    return state.GRAD_ENABLED


class detect_anomaly(contextlib.ContextDecorator):
    """Inside it, the first op whose forward or backward makes NaN or Inf raises AnomalyError."""

    def __init__(self, mode=True):
        self.mode = mode

    def __enter__(self):
        self.prev = state.ANOMALY
        state.ANOMALY = self.mode

    def __exit__(self, *exc):
        state.ANOMALY = self.prev
        return False


# --- Tensor.register_hook ---------------------------------------------------------------------------
# id(tensor) -> (weak reference, [hooks]).  Keyed by id and held weakly so that a hook on an
# intermediate result (registered anew every training step) dies with its tensor; the
# weakref's callback drops the entry.
_GRAD_HOOKS = {}


def register_hook(t, hook):
    """Call hook(grad) whenever backward computes t's gradient, before it is used (passed
    to t's inputs, or accumulated into a leaf's .grad); a hook that returns a tensor
    replaces the gradient (PyTorch's Tensor.register_hook).  Returns a handle with remove()."""
    if not t.requires_grad:
        raise GraphError("register_hook: cannot register a hook on a tensor that doesn't "
                         "require grad")
    key = id(t)
    entry = _GRAD_HOOKS.get(key)
    if entry is None or entry[0]() is not t:
        entry = _GRAD_HOOKS[key] = (weakref.ref(t, lambda _, key=key: _GRAD_HOOKS.pop(key, None)), [])
    entry[1].append(hook)
    return _GradHookHandle(entry, hook, key)


class _GradHookHandle:
    def __init__(self, entry, hook, key):
        self._entry, self._hook, self._key = entry, hook, key

    def remove(self):
        hooks = self._entry[1]
        if self._hook in hooks:
            hooks.remove(self._hook)
        if not hooks and _GRAD_HOOKS.get(self._key) is self._entry:
            del _GRAD_HOOKS[self._key]


def _run_grad_hooks(node, g, create_graph):
    ref, hooks = _GRAD_HOOKS[id(node)]
    if ref() is not node:
        return g
    for hook in list(hooks):
        seen = g if create_graph else _make(g)
        out = hook(seen)
        if out is not None:
            # a copy: the hook's tensor may be the user's, and the sweep may store it as a
            # .grad or add into it
            value = out if create_graph else np.array(out._value if isinstance(out, Tensor) else out)
            if tuple(value.shape) != tuple(g.shape):
                raise ShapeError(f"register_hook: a hook returned a gradient of shape "
                                 f"{fmt(value.shape)} for a tensor of shape {fmt(g.shape)}")
            g = value
        elif not create_graph:
            g = seen._value          # the hook may have rebound nothing; keep the array
    return g
