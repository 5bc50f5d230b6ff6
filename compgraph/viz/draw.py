"""draw(): a computation graph as a picture (DOT text, rendered to SVG/PNG by Graphviz).

The DOT text is written here, by a few small functions, so `format="dot"` needs nothing
installed; only rendering needs the `graphviz` Python package and the `dot` program,
and both are imported when a picture is asked for, never when compgraph is imported.

Pipeline:  collect the nodes (an iterative walk: 100k-node chains exist)
        -> name them (tensor.name, module path of a parameter)
        -> group them into boxes (one tensor each, or a folded run of repeated ops)
        -> write DOT (clusters per module when asked)  -> render.
"""
import html
import os
import tempfile

import numpy as np

from ..errors import ArgumentError, CompgraphError, GraphError
from ..freeing import FreedValue

# ops whose inputs can be swapped without changing the result: their edges need no position
COMMUTATIVE = {"add", "mul", "maximum", "minimum", "dot", "eq", "ne"}
SMALL = 12            # arrays with at most this many elements are shown in full
FOLD_MIN = 4          # runs of fewer ops than this are never folded
MAX_PERIOD = 12       # the longest repeated block of ops that folding looks for

STYLE = {   # how each kind of node looks: leaves and operations differ in shape and colour
    "param": dict(shape="box", style="filled", fillcolor="#cfe2ff", color="#3d6bb3"),
    "input": dict(shape="box", style="filled,dashed", fillcolor="#f2f2f2", color="#777777"),
    "op": dict(shape="box", style="rounded,filled", fillcolor="#fff1cc", color="#b38600"),
    "fold": dict(shape="box3d", style="filled", fillcolor="#ffe0b3", color="#b36b00"),
    "more": dict(shape="plaintext", style="", fillcolor="", color="#777777"),
}


class GraphvizNotFound(CompgraphError, RuntimeError):
    """Rendering needs the graphviz Python package and the Graphviz `dot` program."""


INSTALL_HINT = ("install both the Python package and the program: `pip install graphviz` "
                "(or `pip install 'compgraph[viz]'`) and `apt-get install graphviz` "
                "(macOS: `brew install graphviz`; conda: `conda install graphviz`); "
                "format='dot' needs neither and returns the DOT source")


# --- short renderings of arrays ----------------------------------------------------------------

def as_numpy(x):
    """A NumPy array from a value or gradient: Tensor, ndarray, CuPy array or number."""
    if x is None:
        return None
    x = x if isinstance(x, FreedValue) else getattr(x, "_value", x)   # a Tensor's array
    if isinstance(x, FreedValue):
        return x                     # freed after the forward: no VJP reads it
    if hasattr(x, "get") and not isinstance(x, np.ndarray):
        x = x.get()                  # CuPy -> host
    return np.asarray(x)


def _num(x):
    return f"{x + 0:.4g}"         # + 0 turns -0.0 into 0.0


def short(x):
    """Scalars and small arrays in full with 4 significant digits; large ones summarised."""
    a = as_numpy(x)
    if a is None:
        return "not computed"
    if isinstance(a, FreedValue):
        return "freed (no gradient reads it)"   # compgraph/freeing.py
    if a.size <= SMALL:
        if a.dtype.kind in "fc":
            if a.ndim == 0:
                return _num(a.item())
            return np.array2string(a, separator=", ", max_line_width=48,
                                   formatter={"float_kind": _num, "complex_kind": _num})
        return str(a.tolist())
    if a.dtype.kind not in "fciub":
        return f"{shape_text(a.shape)} {a.dtype}"
    m = np.abs(a) if a.dtype.kind == "c" else a.astype(np.float64)
    return (f"{shape_text(a.shape)} |x|={_num(float(np.linalg.norm(m.ravel())))} "
            f"min={_num(float(m.min()))} max={_num(float(m.max()))}")


def shape_text(shape):
    shape = tuple(shape)
    if not shape:
        return "scalar"
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# --- collecting the graph ----------------------------------------------------------------------

def collect(obj):
    """(nodes in a topological order, roots) for a Tensor, a list of Tensors, or a Graph."""
    from ..graph import Graph
    from ..tensor import Tensor
    if isinstance(obj, Graph):
        # all its nodes; the walk below adds the constants ops made on the way (0.5 * x)
        start = list(obj.nodes)
        used = {x for n in start for x in (n.inputs or ())}
        roots = [n for n in start if n not in used]
    else:
        roots = start = [obj] if isinstance(obj, Tensor) else list(obj)
        if not roots or not all(isinstance(r, Tensor) for r in roots):
            raise ArgumentError(f"draw: expected a Tensor, a list of Tensors or a Graph, "
                                f"got {type(obj).__name__}")
    seen = set(start)
    stack = list(start)
    while stack:                      # iterative: no recursion limit on deep graphs
        node = stack.pop()
        if node.op is not None and node.inputs is None:
            raise GraphError(
                f"draw: the graph below this {node.op.name} node was freed by backward(); "
                "draw before calling backward(), or call backward(retain_graph=True) "
                "(a compgraph.Graph keeps its graph whole)")
        for x in node.inputs or ():
            if x not in seen:
                seen.add(x)
                stack.append(x)
    return sorted(seen, key=lambda t: t._id), roots   # creation order is topological


def param_names(module=None, params=None):
    """{id(tensor): 'layer1.weight'} from a module's named_parameters() or a dict."""
    names = {}
    if module is not None:
        for name, p in module.named_parameters():
            names.setdefault(id(p), name)
    for name, p in (params or {}).items():
        names[id(p)] = name
    return names


def _common_prefix(paths):
    """The deepest module containing every path in `paths` ('' for the top level)."""
    parts = [p.split(".") for p in paths]
    out = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        out.append(level[0])
    return ".".join(out)


def module_of(nodes, names):
    """{node: module path}: a parameter's is its name's prefix; an op's is the module of its
    parameter inputs, else the module shared by its inputs; plain inputs have none."""
    mod = {}
    for n in nodes:                   # topological order: inputs are assigned first
        if n.op is None:
            name = names.get(id(n))
            if name is not None:
                mod[n] = name.rpartition(".")[0]
            continue
        ins = n.inputs or ()
        from_params = [mod[x] for x in ins if x.op is None and x in mod]
        found = from_params or [mod[x] for x in ins if x in mod]
        if found:
            mod[n] = _common_prefix(found)
    return mod


def label_of(node, names):
    """The node's own name: tensor.name, or its parameter path."""
    if node.name:
        return str(node.name)
    return names.get(id(node))


def kind_of(node, names):
    if node.op is not None:
        return "op"
    if node.requires_grad or id(node) in names:
        return "param"
    return "input"


# --- folding repeated structure ------------------------------------------------------------------

def find_repeats(nodes, modules):
    """Runs of op nodes that repeat one block of ops (the steps of an unrolled RNN, a long
    chain of x = x*w + c, identical layers): [(members, period)], members in order.

    The ops are read in creation order; a block is a sequence of (op, shape, module) of
    length p <= MAX_PERIOD, and a run is that block at least 3 times in a row covering at
    least FOLD_MIN ops.  The longest run (shortest block on ties) from each start wins.
    """
    ops = [n for n in nodes if n.op is not None]
    sig = [(n.op.name, tuple(n.shape), modules.get(n)) for n in ops]
    runs, i = [], 0
    while i < len(ops):
        best_p, best_len = 0, 0
        for p in range(1, MAX_PERIOD + 1):
            j = i + p
            while j < len(sig) and sig[j] == sig[j - p]:
                j += 1
            length = (j - i) // p * p            # whole blocks only
            if length // p >= 3 and length >= FOLD_MIN and length > best_len:
                best_p, best_len = p, length
        if best_p:
            runs.append((ops[i:i + best_len], best_p))
            i += best_len
        else:
            i += 1
    return runs


def pattern(names, period):
    """'(mv → tanh) × 6' for ops that repeat a block of `period` names."""
    body = " → ".join(names[:period])
    reps = len(names) // period
    return f"({body}) × {reps}" if period > 1 else f"{body} × {reps}"


# --- the picture's model: boxes and arrows ---------------------------------------------------------

class Box:
    """One node of the picture: a tensor, or a folded run of repeated ops."""
    __slots__ = ("id", "tensor", "members", "absorbed", "module", "period")

    def __init__(self, id, tensor, members=None, module=None):
        self.id, self.tensor, self.members, self.module = id, tensor, members, module
        self.absorbed = 0             # constants folded into this box
        self.period = 0               # a folded box: the length of the repeated block


def is_constant(t, names):
    """An unnamed number the code wrote (the 2 of x ** 2): drawn once per use, because the
    engine shares one tensor for every use of the same number anywhere."""
    return (t.op is None and not t.requires_grad and not t.name and id(t) not in names
            and t.numel() == 1)


def node_ids(nodes, names, consumers):
    """{node: 'n3'}, numbering the nodes in order; the used constants get none (they are
    drawn once per use), so the numbers do not depend on which constants are cached."""
    ids = {}
    for n in nodes:
        if not (is_constant(n, names) and n in consumers):
            ids[n] = f"n{len(ids)}"
    return ids


def build(nodes, roots, names, collapse, max_nodes):
    """Boxes and edges [(src id, dst id, label)] for the nodes, folded and cut as asked."""
    modules = module_of(nodes, names) if "module" in collapse else {}
    consumers = {}
    for n in nodes:
        for x in n.inputs or ():
            consumers.setdefault(x, []).append(n)   # only nodes that are used get a key
    box_of = {}
    if "repeats" in collapse or len(nodes) > max_nodes:
        for k, (run, period) in enumerate(find_repeats(nodes, modules)):
            b = Box(f"f{k}", run[-1], run, modules.get(run[-1]))
            b.period = period
            members = set(run)
            for n in run:
                box_of[n] = b
            # unnamed inputs used only inside the run disappear into it (counted)
            for n in run:
                for x in n.inputs:
                    if (kind_of(x, names) == "input" and not x.name and x not in box_of
                            and all(c in members for c in consumers[x])):
                        box_of[x] = b
                        b.absorbed += 1
    boxes, listed = [], set()
    ids = node_ids(nodes, names, consumers)
    for n in nodes:
        if n not in box_of and n not in ids:
            continue                  # a constant: drawn beside each of its uses, below
        b = box_of.get(n)
        if b is None:
            b = box_of[n] = Box(ids[n], n, module=modules.get(n))
        if b.id not in listed:
            listed.add(b.id)
            boxes.append(b)
    edges, seen = [], set()
    for n in nodes:
        dst = box_of.get(n)
        ins = n.inputs or ()
        positional = len(ins) > 1 and n.op.name not in COMMUTATIVE
        for pos, x in enumerate(ins):
            src = box_of.get(x)
            if src is None:           # a constant: a box of its own for this use
                if dst.members:
                    dst.absorbed += 1
                    continue
                src = Box(f"{dst.id}c{pos}", x, module=dst.module)
                boxes.append(src)
            if src is dst:
                continue
            folded = dst.members or src.members
            label = str(pos + 1) if positional and not folded else ""
            key = (src.id, dst.id, label)
            if folded and key in seen:
                continue              # one arrow for a weight used by every step, say
            seen.add(key)
            edges.append(key)
    if len(boxes) > max_nodes:
        boxes, edges = cut(boxes, edges, {box_of[r].id for r in roots if r in box_of}, max_nodes)
    return boxes, edges


def cut(boxes, edges, root_ids, max_nodes):
    """Keep the max_nodes boxes nearest the roots; the rest become one '… more' box."""
    preds = {}
    for s, d, _ in edges:
        preds.setdefault(d, []).append(s)
    keep, frontier = set(root_ids), list(root_ids)
    while frontier and len(keep) < max_nodes:      # breadth-first, from the roots down
        nxt = []
        for d in frontier:
            for s in preds.get(d, []):
                if s not in keep and len(keep) < max_nodes:
                    keep.add(s)
                    nxt.append(s)
        frontier = nxt
    hidden = len(boxes) - len(keep)
    more = Box("more", None)
    more.absorbed = hidden
    kept = [b for b in boxes if b.id in keep] + [more]
    out, seen = [], set()
    for s, d, label in edges:
        if d not in keep:
            continue
        if s not in keep:
            s, label = "more", ""
            if (s, d) in seen:
                continue
            seen.add((s, d))
        out.append((s, d, label))
    return kept, out


# --- writing DOT ---------------------------------------------------------------------------------

def quote(text):
    """A DOT double-quoted string; backslashes are escaped so Graphviz's \\n, \\N... stay literal."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def html_label(rows):
    """An HTML-like DOT label from (text, kind) rows; every text is escaped."""
    fonts = {"title": '<B>{}</B>', "meta": '<FONT POINT-SIZE="9" COLOR="#555555">{}</FONT>',
             "value": '{}', "grad": '<FONT COLOR="#c0392b">{}</FONT>'}
    lines = []
    for text, kind in rows:
        for line in str(text).split("\n"):
            lines.append(fonts[kind].format(html.escape(line, quote=True)) + '<BR ALIGN="LEFT"/>')
    return "<" + "".join(lines) + ">"


def attrs_text(attrs):
    if not attrs:
        return ""
    text = ", ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in attrs.items())
    return text if len(text) <= 40 else text[:39] + "…"


def box_rows(box, names, values, grads):
    t = box.tensor
    if box.id == "more":
        return [(f"… {box.absorbed} more nodes", "meta")]
    own = label_of(t, names)
    if box.members:
        ops = [n.op.name for n in box.members]
        folded = f"{len(ops)} ops folded"
        if box.absorbed:
            folded += f", {box.absorbed} constant" + "s" * (box.absorbed > 1)
        rows = [(pattern(ops, box.period), "title"), (folded, "meta")]
    elif t.op is not None:
        rows = [(f"{own} = {t.op.name}" if own else t.op.name, "title")]
        a = attrs_text(t.attrs)
        if a:
            rows.append((a, "meta"))
    else:
        rows = [(own or _leaf_word(t), "title")]
    rows.append((f"{shape_text(t.shape)} {t.dtype}", "meta"))
    if values:
        rows.append(("value " + short(t._value), "value"))
    if grads and t.grad is not None:
        rows.append(("grad " + short(t.grad), "grad"))
    return rows


def _leaf_word(t):
    if t.requires_grad:
        return "param"
    return "const" if t.numel() == 1 else "input"


def box_kind(box, names):
    if box.id == "more":
        return "more"
    if box.members:
        return "fold"
    return kind_of(box.tensor, names)


def node_line(box, names, values, grads, root_ids):
    style = dict(STYLE[box_kind(box, names)])
    if box.id in root_ids:
        style.update(penwidth="2.5", color="#c0392b")
    parts = [f"id={quote(box.id)}", f"label={html_label(box_rows(box, names, values, grads))}"]
    parts += [f"{k}={quote(v)}" for k, v in style.items() if v]
    return f"{box.id} [{', '.join(parts)}];"


def to_dot(boxes, edges, names, values=True, grads=True, clusters=False, root_ids=(),
           rankdir="BT"):
    out = ["digraph compgraph {",
           f"  rankdir={rankdir};",
           '  node [fontname="Helvetica", fontsize=10, margin="0.08,0.04"];',
           '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']
    lines = {b.id: node_line(b, names, values, grads, root_ids) for b in boxes}
    if clusters:
        _clusters(out, boxes, lines)
    else:
        out += ["  " + lines[b.id] for b in boxes]
    for s, d, label in edges:
        out.append(f"  {s} -> {d}" + (f" [label={quote(label)}];" if label else ";"))
    out.append("}")
    return "\n".join(out) + "\n"


def _clusters(out, boxes, lines):
    """Nested Graphviz clusters, one per module path ('enc.layer1' inside 'enc')."""
    by_module = {}
    for b in boxes:
        by_module.setdefault(b.module or "", []).append(b.id)
    paths = sorted(p for p in by_module if p)
    tree = {}                          # every module path that has nodes, and its ancestors
    for p in paths:
        parts = p.split(".")
        for i in range(1, len(parts) + 1):
            tree.setdefault(".".join(parts[:i]), None)
    out += ["  " + lines[i] for i in by_module.get("", [])]
    # open and close clusters in sorted path order: a parent sorts before its children
    stack, number = [], 0
    for path in sorted(tree):
        while stack and not path.startswith(stack[-1] + "."):
            stack.pop()
            out.append("  " * (len(stack) + 1) + "}")
        pad = "  " * (len(stack) + 1)
        out.append(f"{pad}subgraph cluster_{number} {{")
        out.append(f'{pad}  label={quote(path)}; style="rounded,dashed"; color="#3d6bb3"; '
                   'fontname="Helvetica"; fontsize=11;')
        number += 1
        stack.append(path)
        out += [pad + "  " + lines[i] for i in by_module.get(path, [])]
    while stack:
        stack.pop()
        out.append("  " * (len(stack) + 1) + "}")


# --- rendering -----------------------------------------------------------------------------------

def render(dot_text, format):
    """SVG text, or PNG/PDF bytes, from DOT text through the graphviz package and `dot`."""
    try:
        import graphviz
    except ImportError:
        raise GraphvizNotFound(f"draw(format={format!r}) needs the graphviz Python package, "
                               f"which is not installed: {INSTALL_HINT}") from None
    try:
        data = graphviz.Source(dot_text).pipe(format=format)
    except graphviz.ExecutableNotFound:
        raise GraphvizNotFound(f"draw(format={format!r}) needs the Graphviz `dot` program, "
                               f"which is not on PATH: {INSTALL_HINT}") from None
    return data.decode("utf-8") if format == "svg" else data


def graphviz_available():
    """(True, '') when pictures can be rendered, else (False, what is missing)."""
    try:
        render("digraph { a }", "svg")
    except GraphvizNotFound as e:
        return False, str(e)
    return True, ""


def write_atomic(path, data):
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        # mkstemp's error would name the hidden temporary file instead of the folder
        from ..errors import MissingFileError
        raise MissingFileError(f"cannot write {path}: the folder {folder} does not exist; "
                               "create it first or choose another path")
    fd, tmp = tempfile.mkstemp(prefix=".draw-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes it private; a picture is not
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _collapse_set(collapse):
    if collapse is None:
        return set()
    items = {collapse} if isinstance(collapse, str) else set(collapse)
    bad = items - {"module", "repeats"}
    if bad:
        raise ArgumentError(f"draw: collapse must be None, 'module', 'repeats' or both, "
                            f"got {collapse!r}")
    return items


def draw(obj, values=True, grads=True, format="svg", path=None, module=None, params=None,
         collapse=None, max_nodes=300, rankdir="BT"):
    """Draw the computation graph behind a Tensor (or a list of them, or a whole Graph).

    format: "svg" (text), "png" or "pdf" (bytes), or "dot" (the DOT source, needs nothing
        installed).
    values, grads: show each node's value and gradient (gradients are those stored in .grad:
        leaves after backward(); every node of a Graph after backward(graph)).
    module / params: a Module (or {name: tensor}) whose parameters get their path as label.
    collapse: "module" groups nodes into one cluster per module; "repeats" folds a block of
        ops repeated 3+ times in a row (RNN steps, long chains) into one node; both may be
        given as a tuple.  Graphs of more than max_nodes nodes are folded anyway, then cut
        to the max_nodes nearest the output.
    path: also write the result there (atomically).
    """
    if format not in ("svg", "png", "pdf", "dot"):
        raise ArgumentError(f"draw: format must be 'svg', 'png', 'pdf' or 'dot', got {format!r}")
    items = _collapse_set(collapse)
    names = param_names(module, params)
    nodes, roots = collect(obj)
    boxes, edges = build(nodes, roots, names, items, max_nodes)
    root_set = set(roots)
    root_ids = {b.id for b in boxes if b.tensor in root_set}
    dot_text = to_dot(boxes, edges, names, values, grads, "module" in items, root_ids, rankdir)
    data = dot_text if format == "dot" else render(dot_text, format)
    if path is not None:
        write_atomic(path, data)
    return data


# --- drawing a model ----------------------------------------------------------------------------

def draw_model(model, input_shape, path, format=None, seed=0, input=None):
    """Run one forward and backward of `model` on a random normal input of `input_shape`
    (or on `input`, e.g. integer ids for an embedding) with the dummy loss sum(output), and
    draw it with one cluster per module: the CLI's `compgraph graph`.  The format follows
    the suffix of `path` (.svg, .png, .dot) unless given.  The model's .grad fields are
    left as they were.  Returns the path written."""
    from ..tensor import tensor
    if format is None:
        suffix = os.path.splitext(os.fspath(path))[1].lstrip(".").lower()
        format = {"gv": "dot", "": "svg"}.get(suffix, suffix)
    if input is None:
        rng = np.random.default_rng(seed)    # its own generator: compgraph's stays untouched
        input = tensor(rng.standard_normal(tuple(input_shape)).astype(np.float32))
        input.name = "input"
    from .. import state
    params = dict(model.named_parameters())
    saved = {name: p.grad for name, p in params.items()}
    # every node's value in the picture: none is freed during this forward (freeing.py)
    free_min, state.FREE_MIN_SIZE = state.FREE_MIN_SIZE, float("inf")
    try:
        loss = model(input).sum()
        loss.name = "loss"
        loss.backward(retain_graph=True)
        draw(loss, module=model, collapse="module", path=path, format=format)
        return os.fspath(path)
    finally:
        state.FREE_MIN_SIZE = free_min
        for name, p in params.items():
            p.grad = saved[name]
