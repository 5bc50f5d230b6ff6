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
from ..autograd import array_namespace
from ..errors import ArgumentError, TraceError
from ..ops.table import Op
from ..tensor import Tensor, _make

_region_ids = itertools.count()


class compile:
    """Decorator: trace `fn` once per argument signature and replay it afterwards."""

    def __init__(self, fn=None, *, backend="numpy"):
        self.fn = fn
        self.plans = {}
        if fn is not None:
            functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        if self.fn is None:              # used as @compile() with parentheses
            self.fn = args[0]
            functools.update_wrapper(self, self.fn)
            return self
        key = _signature(args, kwargs)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = Plan.trace(self.fn, args, kwargs)
        return plan.run(args)

    def __get__(self, obj, objtype=None):   # methods: compile per instance
        return self if obj is None else functools.partial(self.__call__, obj)


def _signature(args, kwargs):
    parts = []
    for a in list(args) + sorted(kwargs.items()):
        if isinstance(a, Tensor):
            parts.append(("T", a.shape, a.dtype.str, a.requires_grad))
        else:
            try:
                hash(a)
                parts.append(("V", a))
            except TypeError:
                parts.append(("id", id(a)))
    return tuple(parts)


class Plan:
    """The traced program for one signature: generated forward and backward functions."""

    @classmethod
    def trace(cls, fn, args, kwargs):
        if state.TRACE is not None:
            raise TraceError("compile: a compiled function called another one while tracing; "
                             "compile the outer function only")
        state.TRACE = trace = []
        try:
            out = fn(*args, **kwargs)
        finally:
            state.TRACE = None
        if not isinstance(out, Tensor):
            raise ArgumentError(f"compile: {getattr(fn, '__name__', fn)} must return one Tensor, "
                                f"got {type(out).__name__}")
        return cls(fn, args, trace, out)

    def __init__(self, fn, args, trace, out):
        made = {id(t) for t in trace}
        self.arg_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        arg_ids = {id(args[i]): k for k, i in enumerate(self.arg_positions)}
        # only what the result depends on, in creation order
        needed, stack = set(), [out]
        while stack:
            t = stack.pop()
            if id(t) in made and id(t) not in needed:
                needed.add(id(t))
                stack.extend(t.inputs or ())
        nodes = [t for t in trace if id(t) in needed]
        for t in nodes:
            if t.op is None:
                raise TraceError("compile: an op inside the function ran without recording its "
                                 "inputs (no_grad inside a compiled function is not supported)")
        externals, ext_ids = [], {}
        names = {}                              # id(tensor) -> variable name in generated code
        for k in range(len(self.arg_positions)):
            names[id(args[self.arg_positions[k]])] = f"a{k}"
        for t in nodes:
            for x in t.inputs:
                if id(x) not in made and id(x) not in arg_ids and id(x) not in ext_ids:
                    ext_ids[id(x)] = len(externals)
                    names[id(x)] = f"e{len(externals)}"
                    externals.append(x)
        for k, t in enumerate(nodes):
            names[id(t)] = f"v{k}"
        self.externals = externals
        self.out_requires_grad = out.requires_grad
        self.out_dtype = out.dtype
        if id(out) in arg_ids or id(out) in ext_ids:
            raise TraceError("compile: the function returns one of its inputs unchanged; "
                             "there is nothing to compile")
        self.forward, self.backward, self.n_inputs = _generate(nodes, names, out, args,
                                                               self.arg_positions, externals)
        self.op = Op(f"compiled:{getattr(fn, '__name__', 'fn')}#{next(_region_ids)}",
                     None, (), vjp_all=self._vjp_all)

    def run(self, args):
        inputs = [args[i] for i in self.arg_positions] + self.externals
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


def _generate(nodes, names, out, args, arg_positions, externals):
    """Write the forward and backward of the traced nodes as Python source and compile it."""
    env = {"np": array_namespace(np)}
    inputs = [f"a{k}" for k in range(len(arg_positions))] + [f"e{k}" for k in range(len(externals))]
    fwd = [f"def forward({', '.join(inputs)}):"]
    for k, t in enumerate(nodes):
        env[f"f{k}"] = t.op.fwd
        call_args = ", ".join(["np"] + [names[id(x)] for x in t.inputs])
        if t.attrs:
            env[f"attrs{k}"] = t.attrs
            call_args += f", **attrs{k}"
        fwd.append(f"    v{k} = f{k}({call_args})")
    fwd.append(f"    return {names[id(out)]}, ({', '.join(f'v{k}' for k in range(len(nodes)))},)")

    # the backward: the engine's sweep, unrolled for this one graph
    bwd = ["def backward(g, saved, inputs):",
           f"    ({', '.join(f'v{k}' for k in range(len(nodes)))},) = saved",
           f"    ({', '.join(inputs)},) = inputs" if inputs else "    pass",
           f"    g{names[id(out)]} = g"]
    has_grad = {id(out)}
    for k in reversed(range(len(nodes))):
        t = nodes[k]
        if id(t) not in has_grad or not t.requires_grad:
            continue
        n_in = len(t.inputs)
        vjps = t.op.vjps if t.op.vjp_n is None else t.op.vjps_for(n_in)
        operands = ", ".join(names[id(x)] for x in t.inputs)
        attrs = f", **attrs{k}" if t.attrs else ""
        if t.op.vjp_all is not None:
            env[f"ball{k}"] = t.op.vjp_all
            bwd.append(f"    gall{k} = ball{k}(np, gv{k}, v{k}, {operands}{attrs})")
        for i, x in enumerate(t.inputs):
            if not x.requires_grad:
                continue
            if t.op.vjp_all is not None:
                expr = f"gall{k}[{i}]"
            else:
                env[f"b{k}_{i}"] = vjps[i]
                expr = f"b{k}_{i}(np, gv{k}, v{k}, {operands}{attrs})"
            bwd.append(f"    t = {expr}")
            got, want = _vjp_shape(t, i), x.shape
            if got != want:        # broadcasting, undone as the engine would, decided now
                lead = len(got) - len(want)
                axes = tuple(range(lead)) + tuple(lead + j for j, d in enumerate(want)
                                                  if d == 1 and got[lead + j] != 1)
                bwd.append(f"    t = np.reshape(np.sum(t, axis={axes}, keepdims=True), {want})")
            name = "g" + names[id(x)]
            if id(x) in has_grad:
                bwd.append(f"    {name} = {name} + t")
            else:
                bwd.append(f"    {name} = t")
                has_grad.add(id(x))
    grads = [f"g{n}" if _has(n, names, has_grad) else "None" for n in inputs]
    bwd.append(f"    return [{', '.join(grads)}]")
    source = "\n".join(fwd) + "\n\n" + "\n".join(bwd) + "\n"
    exec(builtins_compile(source, "<compgraph.compile>", "exec"), env)
    return env["forward"], env["backward"], len(inputs)


def _has(input_name, names, has_grad):
    return any(names[i] == input_name for i in has_grad if i in names)


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
