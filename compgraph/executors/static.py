"""Static graphs through compile's plan: a graph built once and run again and again.

    g = cg.Graph(); x = g.placeholder((2,)); ...          # the tutorial's static graph
    for example in data:
        cg.forward(g, feed={x: example})                   # 2nd run on: generated code

    x = dy.vecInput(2); loss = ...                         # DyNet's examples/xor/xor.py
    for ...: x.set(...); loss.scalar_value(); loss.backward(); trainer.update()

The first evaluation of a set of nodes runs node by node, as always; the second time the same
nodes (the same objects, in the same order) are evaluated, their forward is written as one
generated Python function by replay.py's writer (the code compile() replays: one line per
node calling the op's forward) and every later evaluation runs it: no per-node list of
values, checks or namespace lookups, only the ops.  Each node still gets its value, as the
tutorial's students and DyNet's users read any node's value.  A graph that is built per
example (the usual dynamic case) is evaluated once and never pays for a plan.

The leaves (placeholders, vars, DyNet inputs and parameters, tensors from outside the graph)
are read afresh on every run, so feeds, set() and in-place parameter updates are seen.  A
leaf whose value is not a NumPy array (a missing feed, a GPU array) and anomaly mode make the
run step aside to the node-by-node loop, with its messages.  Gradients still run through the
engine's sweep (backward(g), DyNet's backward): this module compiles the forward.

Graph.forward (the tutorial) and BatchingGraph.evaluate (DyNet's unbatched graphs) call
`replay(graph, pending)` at one place each; the core only holds the hook (Graph._static).
"""
import numpy as np

from .. import state
from ..graph import Graph
from .replay import _Writer, builtins_compile

_MAX_PLANS = 8          # per graph: one per distinct set of nodes evaluated (loss, output...)


class _Plan:
    __slots__ = ("nodes", "seen", "run", "source")

    def __init__(self, nodes):
        self.nodes = nodes           # the pending nodes, kept: their ids key the plan
        self.seen = 1
        self.run = None
        self.source = None


def replay(graph, pending):
    """Compute `pending` (op nodes in creation order) by the graph's static plan; False when
    the caller must compute them node by node (first time, anomaly mode, odd leaves)."""
    if state.ANOMALY or len(pending) < 2:
        return False
    plans = graph.__dict__.get("_static_plans")
    if plans is None:
        plans = graph._static_plans = {}
    key = tuple(map(id, pending))
    plan = plans.get(key)
    if plan is None:
        if len(plans) >= _MAX_PLANS:
            plans.clear()
        plans[key] = _Plan(list(pending))
        return False
    if plan.run is None:
        plan.seen += 1
        plan.run, plan.source = _build(plan.nodes)
    return plan.run()


def _build(pending):
    """The generated forward of these nodes: run() -> True once each has its value."""
    made = {id(n) for n in pending}
    names, leaves = {}, []
    for n in pending:
        for x in n.inputs:
            if id(x) not in made and id(x) not in names:
                names[id(x)] = f"a{len(leaves)}"
                leaves.append(x)
        names[id(n)] = f"v{len(names)}"
    writer = _Writer(names, len(leaves), 0)
    env = writer.env
    env["ndarray"] = np.ndarray
    env["asarray"] = np.asarray
    lines = ["def run():"]
    for k, x in enumerate(leaves):
        env[f"L{k}"] = x
        lines.append(f"    a{k} = L{k}._value")
    # a missing feed (None) or another array type: the node-by-node loop, with its messages
    lines.append("    if " + " or ".join(f"a{k}.__class__ is not ndarray" for k in range(len(leaves)))
                 + ": return False" if leaves else "    pass")
    for j, n in enumerate(pending):
        body = []
        writer._forward(n, body)
        v = names[id(n)]
        env[f"N{j}"] = n
        lines += body
        # as Graph.compute: a NumPy scalar (a reduction's result) is kept as a 0-d array
        lines.append(f"    if {v}.__class__ is not ndarray: {v} = asarray({v})")
        lines.append(f"    N{j}._value = {v}")
    lines.append("    return True")
    source = "\n".join(lines) + "\n"
    exec(builtins_compile(source, "<compgraph static graph>", "exec"), env)
    return env["run"], source


Graph._static = replay     # a plain function: graph._static(pending) gets the graph as self
