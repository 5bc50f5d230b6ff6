"""explain(): a self-contained HTML page that steps through forward and backward.

As the lecture's "Error Propagation in Computation Graph" slides do: first every node's
value in creation order, then, from the loss back, every node's gradient and, for each of
its inputs, the local derivative used (the op's vector-Jacobian product, named as a
formula) and what it adds to that input's gradient.

The gradients come from the engine itself (compgraph.grad with retain_graph=True), the
per-edge contributions from the same VJPs of the op table that backward runs.
"""
import html
import json
import os
import re

import numpy as np

from ..errors import ArgumentError
from .draw import (GraphvizNotFound, as_numpy, collect, draw, label_of, node_ids, param_names,
                   shape_text, short, write_atomic)
from .page import PAGE

# The local derivative of common ops, one template per input.  {g} is dL/d(output),
# {out} the output's name, {0} {1} {2} the inputs' names.
FORMULAS = {
    "add": ("{g}", "{g}"),
    "sub": ("{g}", "−{g}"),
    "mul": ("{g} · {1}", "{g} · {0}"),
    "div": ("{g} / {1}", "−{g} · {0} / {1}²"),
    "pow": ("{g} · {1} · {0}^({1} − 1)", "{g} · {0}^{1} · ln {0}"),
    "neg": ("−{g}",),
    "exp": ("{g} · exp({0})",),
    "log": ("{g} / {0}",),
    "log1p": ("{g} / (1 + {0})",),
    "sqrt": ("{g} / (2 √{0})",),
    "sin": ("{g} · cos {0}",),
    "cos": ("−{g} · sin {0}",),
    "abs": ("{g} · sign({0})",),
    "sigmoid": ("{g} · {out} · (1 − {out})",),
    "tanh": ("{g} · (1 − {out}²)",),
    "relu": ("{g} · [{0} > 0]",),
    "softplus": ("{g} · sigmoid({0})",),
    "clip": ("{g} where {0} was not clipped, else 0",),
    "maximum": ("{g} where {0} > {1} (half on ties)", "{g} where {1} > {0} (half on ties)"),
    "minimum": ("{g} where {0} < {1} (half on ties)", "{g} where {1} < {0} (half on ties)"),
    "where": ("", "{g} where {0}, else 0", "{g} where not {0}, else 0"),
    "matmul": ("{g} · {1}ᵀ", "{0}ᵀ · {g}"),
    "mm": ("{g} · {1}ᵀ", "{0}ᵀ · {g}"),
    "mv": ("{g} ⊗ {1}  (outer product)", "{0}ᵀ · {g}"),
    "dot": ("{g} · {1}", "{g} · {0}"),
    "outer": ("{g} · {1}", "{g}ᵀ · {0}"),
    "sum": ("{g}, copied to every summed element of {0}",),
    "mean": ("{g} / n, copied to each of the n averaged elements of {0}",),
    "max": ("{g} at the maximum of {0} (shared on ties), 0 elsewhere",),
    "min": ("{g} at the minimum of {0} (shared on ties), 0 elsewhere",),
    "softmax": ("{out} ⊙ ({g} − Σ {g} ⊙ {out})",),
    "log_softmax": ("{g} − softmax({0}) · Σ {g}",),
    "cross_entropy": ("{g} · (softmax({0}) − {1})  (÷ batch size when averaged)",
                      "−{g} · log_softmax({0})"),
    "reshape": ("{g} reshaped to the shape of {0}",),
    "permute_dims": ("{g} with its axes permuted back",),
    "broadcast_to": ("{g} summed over the broadcast axes",),
    "getitem": ("{g} placed into zeros of {0}'s shape at the index",),
    "concatenate": ("the slice of {g} where {i} was placed",),
    "stack": ("the slice of {g} where {i} was placed",),
    "copy": ("{g}",),
    "astype": ("{g}, cast back to {0}'s dtype",),
}


def formula(op_name, i, g, out, ins):
    """'dL/da = dL/du · b' for input i of an op, or a generic description."""
    templates = FORMULAS.get(op_name, ())
    if op_name in ("concatenate", "stack"):
        template = templates[0]
    elif i < len(templates) and templates[i]:
        template = templates[i]
    else:
        template = f"the VJP of {op_name} for input {i + 1} (see compgraph/ops)"
    return template.format(*ins, g=g, out=out, i=ins[i])


def display_names(nodes, names, ids):
    """A short unique name per node: its own name, else its op (or kind) and number."""
    out, used = {}, set()
    for n in nodes:
        if n not in ids:
            out[n] = short(n._value)  # a number written in the code: named by its value
            continue
        own = label_of(n, names)
        if own is None or own in used:
            kind = n.op.name if n.op is not None else "param" if n.requires_grad else "input"
            own = kind + ids[n][1:]
        used.add(own)
        out[n] = own
    return out


def _node_info(n, name, ins):
    if n.op is None:
        kind = "parameter" if n.requires_grad else "input"
        return f"{name}: {kind}", f"a leaf: its value is given ({shape_text(n.shape)} {n.dtype})"
    args = ", ".join(ins)
    attrs = ", ".join(f"{k}={v!r}" for k, v in n.attrs.items())
    call = f"{n.op.name}({args}{', ' + attrs if attrs else ''})"
    return f"{name} = {call}", f"{shape_text(n.shape)} {n.dtype}, computed from {args}"


def steps_for(loss, nodes, names):
    """The list of steps the page shows: forward over nodes, then backward from loss."""
    from ..autograd import array_namespace, grad, unbroadcast
    consumers = {x for n in nodes for x in n.inputs or ()}
    ids = node_ids(nodes, names, consumers)           # the ids draw() gives the same nodes
    disp = display_names(nodes, names, ids)
    steps = []
    for n in nodes:
        if n not in ids:
            continue                  # the numbers in the code need no step of their own
        ins = [disp[x] for x in n.inputs or ()]
        title, text = _node_info(n, disp[n], ins)
        steps.append(dict(phase="forward", node=ids[n], name=disp[n], title=title, text=text,
                          value=short(n._value), grad="", local=[]))

    wanted = [n for n in nodes if n.requires_grad]
    got = grad(loss, wanted, retain_graph=True, allow_unused=True)
    grads = {n: as_numpy(g) for n, g in zip(wanted, got) if g is not None}
    running = {}                      # each input's gradient as the contributions arrive
    L = disp[loss]
    for n in reversed(nodes):
        g = grads.get(n)
        if g is None:
            continue
        name = disp[n]
        if n is loss:
            text = f"the start: dL/d{L} = 1, where L = {L}"
        elif n.op is None:
            text = f"a leaf: its gradient is complete; backward() stores it in {name}.grad"
        else:
            text = f"complete: every node that uses {name} has passed its share back"
        local = []
        if n.op is not None:
            ins = n.inputs
            vals = [as_numpy(x._value) for x in ins]   # on the host, also for CuPy tensors
            xp = array_namespace(np)
            vjps = n.op.vjps_for(len(ins))
            in_names = [disp[x] for x in ins]
            for i, x in enumerate(ins):
                if not x.requires_grad:
                    continue
                c = vjps[i](xp, g, as_numpy(n._value), *vals, **n.attrs)
                note = ""
                if c.shape != x.shape:
                    c = unbroadcast(xp, c, x.shape)
                    note = f" (summed to {shape_text(x.shape)})"
                running[x] = c if x not in running else running[x] + c
                local.append(dict(
                    to=disp[x],
                    formula=f"dL/d{disp[x]} += " + formula(n.op.name, i, f"dL/d{name}", name,
                                                           in_names) + note,
                    contribution=short(c), total=short(running[x])))
        steps.append(dict(phase="backward", node=ids[n], name=name,
                          title=f"dL/d{name}", text=text, value=short(n._value),
                          grad=short(g), local=local))
    return steps


def _svg(loss, module, params, count):
    """The drawing inline (values shown, gradients left to the steps), or None."""
    if count > 400:
        return None                   # layout would take long and be unreadable anyway
    try:
        svg = draw(loss, values=True, grads=False, format="svg", module=module, params=params,
                   max_nodes=count + 1)
    except GraphvizNotFound:
        return None
    return svg[svg.index("<svg"):]    # drop the XML prolog and doctype


def _list_view(steps):
    """Without Graphviz: the nodes as a list, highlighted the same way as the drawing."""
    rows = [f'<li id="{html.escape(s["node"])}" class="node"><b>{html.escape(s["title"])}</b> '
            f'<span class="meta">{html.escape(s["text"])}</span></li>'
            for s in steps if s["phase"] == "forward"]
    return '<ol class="listview">' + "".join(rows) + "</ol>"


def explain(loss, path=None, module=None, params=None, title=None):
    """An HTML page (str) stepping through forward and backward of `loss`.

    Needs only the standard library to build and a browser to view; embeds a Graphviz
    drawing when graphviz is installed, else a plain list of the nodes.  module / params
    name the parameters as in draw().  Writes the page to `path` when given.
    """
    from ..graph import Graph
    if isinstance(loss, Graph):
        loss = loss.nodes[-1]
    nodes, _ = collect(loss)
    if not loss.requires_grad:
        raise ArgumentError("explain: the loss does not require grad: no input of it has "
                            "requires_grad=True, so there is no backward pass to show")
    if loss._graph is not None:
        loss._graph.evaluate()        # a Graph's nodes may not be computed yet
    names = param_names(module, params)
    steps = steps_for(loss, nodes, names)
    picture = _svg(loss, module, params, len(nodes)) or _list_view(steps)
    data = json.dumps(steps, ensure_ascii=False).replace("</", "<\\/")
    parts = {"TITLE": html.escape(title or "Forward and backward"), "PICTURE": picture,
             "STEPS": data}
    # one pass, so that text inside one part is never taken for another placeholder
    page = re.sub(r"%(TITLE|PICTURE|STEPS)%", lambda m: parts[m.group(1)], PAGE)
    if path is not None:
        write_atomic(os.fspath(path), page)
    return page
