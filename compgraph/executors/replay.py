"""compile(): trace a function once per input signature, then replay it as straight-line code.

    step = cg.compile(lambda x, t: F.cross_entropy(model(x), t))
    loss = step(x, t)          # first call with these shapes: traced; later calls: replayed
    loss.backward()            # the compiled backward, into the parameters' .grad

Tracing runs the function eagerly while apply() appends every node it makes to a list.  From
that list (the graph, in creation order) this module writes two Python functions, one
assignment per node: the forward (each op's `fwd` on arrays) and the backward (each VJP,
with the broadcast reductions worked out at trace time).  A replay therefore makes no
Tensor objects, runs no shape rules, sorts nothing and looks nothing up: only the array work
and one call per op are left.

The compiled function's result is one ordinary node whose op is the whole region, so it mixes
freely with eager code before and after it.  Tensors the function reads without taking them
as arguments (parameters, constants) are read afresh on every call, so an optimizer updating
them in place between calls is seen.  A change of shape, dtype or requires_grad in the
arguments traces again; reading a value into Python while tracing (an `if` on a tensor,
.item()) or drawing random numbers raises TraceError with an explanation, instead of
freezing one value into every replay.
"""
import functools
import itertools

import numpy as np

from .. import state
from ..autograd import _accumulate, array_namespace
from ..errors import ArgumentError, TraceError
from ..ops.table import Op
from ..tensor import Tensor, _make, _next_id
from .lower_numpy import lower_step

_region_ids = itertools.count()

# "numpy": generated Python calling NumPy (with the lowered fast path of lower_numpy.py for
# whole SGD training steps).  "numba": the whole SGD step as one native kernel
# (lower_numba.py; Numba is the optional extra compgraph[jit]); a step it does not cover
# raises UnsupportedError naming the op rather than running the NumPy code under its name.
BACKENDS = ("numpy", "numba")


class compile:
    """Decorator: trace `fn` once per argument signature and replay it afterwards."""

    def __init__(self, fn=None, *, backend="numpy"):
        if backend not in BACKENDS:
            raise ArgumentError(f"compile: unknown backend {backend!r}; the backends are "
                                + ", ".join(repr(b) for b in BACKENDS))
        if backend == "numba":
            from .lower_numba import require_numba
            require_numba()              # missing: the error names the extra, at this line
        self.backend = backend
        self.fn = fn
        self.plans = {}
        self._fast = None                # the last plan's lowered step: guard and all in one
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if self.fn is None:              # used as @compile() with parentheses
            self.fn = args[0]
            functools.update_wrapper(self, self.fn)
            return self
        fast = self._fast
        if fast is not None and not kwargs and state.TRACE is None:
            value = fast(*args)          # None: the guard did not match, take the long way
            if value is not None:
                return _make(value)
        key = _signature(args, kwargs)
        plan = self.plans.get(key)
        if plan is not None and not plan.still_valid():
            plan = None                      # a captured tensor changed shape or dtype
        if plan is None:
            # the tracing call itself ran the function: its result is this call's result
            self.plans[key], out = Plan.trace(self.fn, args, kwargs, self.backend)
            self._fast = self.plans[key].fast
            return out.detach() if self.plans[key].whole_step else out
        self._fast = plan.fast
        return plan.run(args)

    def __get__(self, obj, objtype=None):   # methods: compile per instance
        return self if obj is None else functools.partial(self.__call__, obj)


def _signature(args, kwargs):
    """What a plan is valid for: each tensor argument's shape, dtype and requires_grad, and
    every other argument's value (lists and tuples of values are compared element-wise)."""
    for name, v in kwargs.items():
        if _holds_tensor(v):
            raise TraceError(f"compile: pass tensors positionally, not as keyword {name}=")
    return tuple(_key(a) for a in args) + tuple((k, _key(v)) for k, v in sorted(kwargs.items()))


def _holds_tensor(v):
    if isinstance(v, Tensor):
        return True
    if isinstance(v, (list, tuple)):
        return any(_holds_tensor(x) for x in v)
    if isinstance(v, dict):
        return any(_holds_tensor(x) for x in v.values())
    return False


def _key(a):
    if isinstance(a, Tensor):
        return ("T", a.shape, a.dtype.str, a.requires_grad)
    if isinstance(a, (list, tuple)):
        if _holds_tensor(a):
            raise TraceError("compile: a list or tuple of tensors as an argument is not "
                             "supported; pass the tensors as separate arguments")
        return (type(a).__name__,) + tuple(_key(x) for x in a)
    try:
        hash(a)
    except TypeError:
        raise TraceError(f"compile: an argument of type {type(a).__name__} is neither a "
                         "tensor nor hashable, so a replay could not tell whether it changed; "
                         "pass arrays as tensors") from None
    return ("V", a)


class Replayed:
    """A call with effects outside the graph (optimizer.step(), zero_grad()), recorded while
    tracing and made again, at the same point, on every replay."""
    __slots__ = ("call",)

    def __init__(self, call):
        self.call = call


class Backward:
    """loss.backward() inside a compiled function: its sweep becomes generated code."""
    __slots__ = ("root",)

    def __init__(self, root):
        self.root = root


def replayed(method):
    """Decorator for methods whose effect compile() must repeat on replay (not trace into)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if state.TRACE is not None:
            if any(callable(a) for a in list(args) + list(kwargs.values())):
                raise TraceError(f"compile: {method.__qualname__} with a closure inside a "
                                 "compiled function is not supported; call it outside")
            state.TRACE.append(Replayed(functools.partial(method, self, *args, **kwargs)))
        return method(self, *args, **kwargs)
    wrapper.__wrapped_by_replay__ = True
    return wrapper


class Plan:
    """The traced program for one signature, as generated straight-line Python.

    Without a backward inside, the plan is a forward region: `run` returns one node whose
    op is the whole region, with a generated backward for later.  With loss.backward()
    (and optimizer calls) inside, the plan is a whole training step: one generated
    function runs the forward, the backward, hands the gradients to the leaves' .grad and
    makes the recorded calls, in the order they were traced."""

    @classmethod
    def trace(cls, fn, args, kwargs, backend="numpy"):
        if state.TRACE is not None:
            raise TraceError("compile: a compiled function called another one while tracing; "
                             "compile the outer function only")
        state.TRACE = trace = []
        mark = _next_id()                 # tensors numbered after it were made while tracing
        try:
            out = fn(*args, **kwargs)
        finally:
            state.TRACE = None
        if not isinstance(out, Tensor):
            raise ArgumentError(f"compile: {getattr(fn, '__name__', fn)} must return one Tensor, "
                                f"got {type(out).__name__}")
        return cls(fn, args, trace, out, mark, backend), out

    def __init__(self, fn, args, trace, out, mark=None, backend="numpy"):
        tensors = [t for t in trace if isinstance(t, Tensor)]
        backwards = [e for e in trace if isinstance(e, Backward)]
        if len(backwards) > 1:
            raise TraceError("compile: more than one backward() in one compiled function")
        self.whole_step = bool(backwards) or any(isinstance(e, Replayed) for e in trace)
        made = {id(t) for t in tensors}
        self.arg_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        arg_ids = {id(args[i]) for i in self.arg_positions}
        if id(out) in arg_ids:
            raise TraceError("compile: the function returns one of its inputs unchanged; "
                             "there is nothing to compile")
        # only what the result (and the backward's root) depends on, in creation order
        needed, stack = set(), [out] + [b.root for b in backwards]
        while stack:
            t = stack.pop()
            if id(t) in made and id(t) not in needed:
                needed.add(id(t))
                stack.extend(t.inputs or ())
        names, externals = {}, []          # id(tensor) -> its variable in the generated code
        for k, i in enumerate(self.arg_positions):
            names[id(args[i])] = f"a{k}"
        items = []                         # the trace, as the generated code will run it
        for t in trace:
            if isinstance(t, Tensor):
                if id(t) not in needed:
                    continue
                for x in t.inputs:
                    if id(x) not in names and id(x) not in made:
                        names[id(x)] = f"e{len(externals)}"
                        externals.append(x)
                names[id(t)] = f"v{len(items)}"
            items.append(t)
        self.externals = externals
        self.external_meta = [_meta(x) for x in externals]
        if self.whole_step:
            for x in externals + [args[i] for i in self.arg_positions]:
                if x.requires_grad and x.op is not None:
                    raise TraceError("compile: a compiled training step takes its gradients "
                                     "down to leaves; this one reads a tensor computed outside "
                                     "it that requires grad (compute it inside, or pass "
                                     ".detach())")
        self.out_requires_grad = out.requires_grad and not self.whole_step
        writer = _Writer(names, len(self.arg_positions), len(externals))
        self.fast = None
        if self.whole_step:
            self.step = writer.whole_step(items, out)
            self.source = writer.source
            if backend == "numba":
                from .lower_numba import lower_step as lower_numba
                self.fast, self.fast_source = lower_numba(
                    items, out, names, [args[i] for i in self.arg_positions], externals, mark)
            elif mark is not None:
                lowered = lower_step(items, out, names, [args[i] for i in self.arg_positions],
                                     externals, mark)
                if lowered is not None:
                    self.fast, self.fast_source = lowered
        elif backend == "numba":
            from .lower_numba import _unsupported
            _unsupported("this function has no loss.backward() and optimizer step inside")
        else:
            nodes = [t for t in items if isinstance(t, Tensor)]
            self.forward, self.backward = writer.region(nodes, out)
            self.op = Op(f"compiled:{getattr(fn, '__name__', 'fn')}#{next(_region_ids)}",
                         None, (), vjp_all=self._vjp_all, once=True)

    def still_valid(self):
        return all(_meta(x) == m for x, m in zip(self.externals, self.external_meta))

    def run(self, args):
        inputs = [args[i] for i in self.arg_positions] + self.externals
        if self.whole_step:
            value = self.step(inputs, *[x._value for x in inputs])
            if value.__class__ is not np.ndarray:
                value = np.asarray(value)
            elif value.base is not None:      # a view, maybe of a buffer the next call reuses
                value = value.copy()
            return _make(value)
        value, saved = self.forward(*[x._value for x in inputs])
        out = _make(value)
        if self.out_requires_grad and state.GRAD_ENABLED:
            out.requires_grad = True
            out.op = self.op
            out.inputs = tuple(inputs)
            out.attrs = {"saved": saved}
        if state.TRACE is not None:
            state.TRACE.append(out)
        return out

    def _vjp_all(self, xp, g, ans, *vals, saved):
        return self.backward(g, saved, vals)


# elementwise ops whose forward is exactly one NumPy ufunc: in a whole-step plan they write
# into a buffer allocated once (the same shapes come back on every replay of a signature)
_UFUNCS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
           "tanh": np.tanh, "maximum": np.maximum, "minimum": np.minimum, "matmul": np.matmul,
           "pow": np.power, "abs": np.absolute, "sin": np.sin, "cos": np.cos, "log1p": np.log1p}


def _meta(t):
    return (t.shape, t.dtype, t.requires_grad)


class _Writer:
    """Writes the generated functions: one line per forward node, a few per VJP."""

    def __init__(self, names, n_args, n_externals):
        self.names = names
        self.env = {"np": array_namespace(np), "publish": _accumulate, "make": _make}
        self.inputs = [f"a{k}" for k in range(n_args)] + [f"e{k}" for k in range(n_externals)]

    def _forward(self, t, lines, buffers=False):
        k = self.names[id(t)][1:]
        ufunc = _UFUNCS.get(t.op.name) if buffers and not t.attrs else None
        if ufunc is not None and t._value.__class__ is np.ndarray:
            # a preallocated buffer per node, written in place on every replay
            self.env[f"u{k}"] = ufunc
            self.env[f"buf{k}"] = np.empty_like(t._value)
            operands = ", ".join(self.names[id(x)] for x in t.inputs)
            lines.append(f"    v{k} = u{k}({operands}, out=buf{k})")
            return
        self.env[f"f{k}"] = t.op.fwd
        call_args = ", ".join(["np"] + [self.names[id(x)] for x in t.inputs])
        if t.attrs:
            self.env[f"attrs{k}"] = t.attrs
            call_args += f", **attrs{k}"
        lines.append(f"    v{k} = f{k}({call_args})")

    def _backward(self, nodes, root, lines):
        """The engine's sweep unrolled for this graph; returns the names that got a gradient."""
        names, env = self.names, self.env
        has_grad = {id(root)}
        for t in reversed(nodes):
            if id(t) not in has_grad or not t.requires_grad:
                continue
            k = names[id(t)][1:]
            vjps = t.op.vjps if t.op.vjp_n is None else t.op.vjps_for(len(t.inputs))
            operands = ", ".join(names[id(x)] for x in t.inputs)
            attrs = f", **attrs{k}" if t.attrs else ""
            if t.op.vjp_all is not None:
                env[f"ball{k}"] = t.op.vjp_all
                lines.append(f"    gall{k} = ball{k}(np, gv{k}, v{k}, {operands}{attrs})")
            for i, x in enumerate(t.inputs):
                if not x.requires_grad:
                    continue
                if t.op.vjp_all is not None:
                    expr = f"gall{k}[{i}]"
                else:
                    expr = self._vjp(t, i, k, vjps[i], operands, attrs)
                lines.append(f"    t = {expr}")
                got, want = _vjp_shape(t, i), x.shape
                if got != want:        # broadcasting, undone as the engine would, decided now
                    lead = len(got) - len(want)
                    axes = tuple(range(lead)) + tuple(lead + j for j, d in enumerate(want)
                                                      if d == 1 and got[lead + j] != 1)
                    lines.append(f"    t = np.reshape(np.sum(t, axis={axes}, keepdims=True), {want})")
                name = "g" + names[id(x)]
                if id(x) in has_grad:
                    lines.append(f"    {name} = {name} + t")
                else:
                    lines.append(f"    {name} = t")
                    has_grad.add(id(x))
        return {names[i] for i in has_grad if i in names}

    def _vjp(self, t, i, k, vjp, operands, attrs):
        """The code of the gradient of t's input i: a call of the op's VJP (a subclass may
        write it out: compgraph/dynet/plan_inline.py)."""
        self.env[f"b{k}_{i}"] = vjp
        return f"b{k}_{i}(np, gv{k}, v{k}, {operands}{attrs})"

    def _compile(self, source):
        self.source = source
        exec(builtins_compile(source, "<compgraph.compile>", "exec"), self.env)

    def region(self, nodes, out):
        """forward(*inputs) -> (value, saved) and backward(g, saved, inputs) -> input grads."""
        saved = ", ".join(self.names[id(t)] for t in nodes)
        fwd = [f"def forward({', '.join(self.inputs)}):"]
        for t in nodes:
            self._forward(t, fwd)
        fwd.append(f"    return {self.names[id(out)]}, ({saved},)")
        bwd = ["def backward(g, saved, inputs):",
               f"    ({saved},) = saved",
               f"    ({', '.join(self.inputs)},) = inputs" if self.inputs else "    pass",
               f"    g{self.names[id(out)]} = g"]
        got = self._backward(nodes, out, bwd)
        bwd.append(f"    return [{', '.join(f'g{n}' if n in got else 'None' for n in self.inputs)}]")
        self._compile("\n".join(fwd) + "\n\n" + "\n".join(bwd) + "\n")
        return self.env["forward"], self.env["backward"]

    def whole_step(self, items, out):
        """step(tensors, *values) -> the output's value, with backward and calls inside."""
        lines = [f"def step(tensors, {', '.join(self.inputs)}):"]
        nodes = []
        for k, item in enumerate(items):
            if isinstance(item, Tensor):
                # intermediate values live only inside one step: their arrays are reused;
                # the result is handed to the caller, so it gets a fresh one every time
                self._forward(item, lines, buffers=item is not out)
                nodes.append(item)
            elif isinstance(item, Replayed):
                self.env[f"call{k}"] = item.call
                lines.append(f"    call{k}()")
            else:
                root = item.root
                if root.numel() != 1:
                    raise TraceError("compile: backward() of a non-scalar inside a compiled "
                                     "function is not supported")
                lines.append(f"    g{self.names[id(root)]} = np.ones({root.shape}, "
                             f"dtype=np.dtype('{root.dtype.str}'))")
                got = self._backward(nodes, root, lines)
                # the leaves' gradients go to .grad, accumulated as tensor.backward() does
                lines.append("    stored = set()")
                for j, name in enumerate(self.inputs):
                    if name in got:
                        lines.append(f"    publish(tensors[{j}], g{name}, False, stored)")
        lines.append(f"    return {self.names[id(out)]}")
        self._compile("\n".join(lines) + "\n")
        return self.env["step"]


def _vjp_shape(node, i):
    """The shape VJP i of `node` returns: run it once, on the traced values."""
    x = node.inputs[i]
    xp = array_namespace(np)
    vals = [y._value for y in node.inputs]
    g = np.ones(node.shape, node.dtype)
    if node.op.vjp_all is not None:
        return np.shape(node.op.vjp_all(xp, g, node._value, *vals, **node.attrs)[i])
    vjps = node.op.vjps if node.op.vjp_n is None else node.op.vjps_for(len(vals))
    out = vjps[i](xp, g, node._value, *vals, **node.attrs)
    del x
    return np.shape(out)


builtins_compile = __builtins__["compile"] if isinstance(__builtins__, dict) else __builtins__.compile
