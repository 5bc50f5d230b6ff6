"""draw(): the DOT text of the seed examples, checked node by node; rendering; big graphs."""
import os
import subprocess
import sys

import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import ArgumentError, GraphError
from compgraph.viz import GraphvizNotFound, draw, draw_model
from compgraph.viz.draw import quote

from .examples import (XOR_W2_GRAD, Drawing, numbers_after, quadratic, shared_product,
                       two_layer, xor)


# --- the seed examples ------------------------------------------------------------------------

def test_shared_product_has_one_mul_for_u():
    f, a, b = shared_product()
    f.backward(retain_graph=True)
    d = Drawing(draw(f, format="dot"))
    # a, b, u, two adds, f, and the constants 1 and 2 drawn beside their adds
    assert len(d.nodes) == 8
    assert len(d.edges) == 8
    (u,) = d.find("u = mul")
    (top,) = d.find("f = mul")
    assert len(d.find("add")) == 2
    assert [dst for src, dst, _ in d.edges if src == u] == d.find("add")   # used twice
    assert "value 2" in d.text(u)
    assert "value 12" in d.text(top)
    assert "penwidth" in d.nodes[top][1]                  # the output stands out
    (na,), (nb,) = d.find("a "), d.find("b ")
    assert numbers_after(d.text(na), "grad") == [7.0]     # b(2ab + 3)
    assert numbers_after(d.text(nb), "grad") == [14.0]    # a(2ab + 3)
    consts = [d.text(i) for i in d.find("const")]
    assert sorted(numbers_after(t, "value")[0] for t in consts) == [1.0, 2.0]


def test_naive_product_computes_ab_twice():
    a = cg.tensor(2.0, requires_grad=True)
    b = cg.tensor(1.0, requires_grad=True)
    f = (a * b + 1) * (a * b + 2)
    d = Drawing(draw(f, format="dot"))
    assert len(d.find("mul")) == 3
    assert len(d.nodes) == 9 and len(d.edges) == 10


def test_quadratic_form_edges_and_gradients():
    f, p = quadratic()
    f.backward(retain_graph=True)
    d = Drawing(draw(f, format="dot"))
    assert len(d.nodes) == 9 and len(d.edges) == 10
    matmuls = d.find("matmul")
    assert len(matmuls) == 3
    for m in matmuls:                                     # order matters: positions shown
        assert sorted(label for _, label in d.inputs(m)) == ["1", "2"]
    (x,) = d.find("x ")
    assert sorted(label for s, _, label in d.edges if s == x) == ["1", "2", "2"]
    for add in d.find("add") + d.find("f = add"):         # add commutes: no positions
        assert all(label == "" for _, label in d.inputs(add))
    assert numbers_after(d.text(x), "grad") == [-2.5, -1.0]          # (A + A^T)x + b
    (A,) = d.find("A ")
    assert numbers_after(d.text(A), "grad") == [1, -1, -1, 1]        # x x^T
    assert "(2, 2) float32" in d.text(A)


def test_two_layer_network_in_module_clusters():
    y, params = two_layer()
    d = Drawing(draw(y, format="dot", params=params, collapse="module"))
    assert set(d.clusters) == {"hidden", "out"}
    hidden = [d.text(i).split(" ")[0] for i in d.clusters["hidden"]]
    out = [d.text(i).split(" ")[0] for i in d.clusters["out"]]
    assert sorted(hidden) == ["add", "hidden.W", "hidden.b", "mv", "tanh"]
    assert sorted(out) == ["add", "mv", "out.V", "out.a"]
    (x,) = d.find("x ")
    assert all(x not in ids for ids in d.clusters.values())         # the input is no module's
    assert "(3, 2) float64" in d.text(d.find("hidden.W")[0])


def test_nested_modules_give_nested_clusters(viz):
    W1, W2, W3 = (cg.tensor(np.eye(2, dtype=np.float32), requires_grad=True) for _ in range(3))
    x = cg.tensor([1.0, 2.0])
    y = W3.mv(cg.tanh(W2.mv(cg.tanh(W1.mv(x))))).sum()
    params = {"enc.l1.W": W1, "enc.l2.W": W2, "dec.W": W3}
    dot = draw(y, format="dot", params=params, collapse="module")
    d = Drawing(dot)
    assert d.parent == {"dec": None, "enc": None, "enc.l1": "enc", "enc.l2": "enc"}
    assert d.clusters["enc"] == []                       # its nodes are in its children
    assert sorted(d.text(i).split(" ")[0] for i in d.clusters["enc.l2"]) == ["enc.l2.W", "mv", "tanh"]
    assert "sum" in [d.text(i).split(" ")[0] for i in d.clusters["dec"]]
    assert draw(y, format="svg", params=params, collapse="module").count('class="cluster"') == 4


def test_xor_gradients_in_labels():
    error, p = xor()
    error.backward(retain_graph=True)
    d = Drawing(draw(error, format="dot"))
    (w2,) = d.find("W2 ")
    assert numbers_after(d.text(w2), "grad") == pytest.approx(XOR_W2_GRAD, abs=5e-5)
    assert numbers_after(d.text(w2), "value") == [5, -5]
    assert "box" in d.nodes[w2][1] and "#cfe2ff" in d.nodes[w2][1]  # parameters are blue boxes
    (x,) = d.find("x ")
    assert "dashed" in d.nodes[x][1] and "grad" not in d.text(x)
    for op in d.find("sigmoid"):
        assert "rounded" in d.nodes[op][1]                          # operations are rounded
    (sub,) = d.find("sub")
    assert sorted((d.text(s).split(" ")[0], lab) for s, lab in d.inputs(sub)) == \
        [("sigmoid", "2"), ("t", "1")]
    without = Drawing(draw(error, format="dot", values=False, grads=False))
    assert "grad" not in without.text(w2) and "value" not in without.text(w2)


def test_whole_tutorial_graph_with_every_gradient():
    g = cg.Graph()
    W = g.var(np.array([[3., 4], [2, 3]]), name="W")
    W2 = g.var(np.array([5., -5]), name="W2")
    x = g.var(np.array([1., 0]), name="x", requires_grad=False)
    h = g.logistic(g.mul(W, x))
    loss = g.sum(g.logistic(g.dot(W2, h)))
    lazy = Drawing(draw(g, format="dot"))
    assert len(lazy.nodes) == len(g.nodes) == 8
    assert sum("not computed" in t for t, _ in lazy.nodes.values()) == 5
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    d = Drawing(draw(g, format="dot"))
    ops = [i for i, (t, style) in d.nodes.items() if "rounded" in style]
    assert len(ops) == 5 and all("grad" in d.text(i) for i in ops)


# --- errors and details -----------------------------------------------------------------------

def test_freed_graph_says_how_to_keep_it():
    f, a, b = shared_product()
    f.backward()
    with pytest.raises(GraphError, match="retain_graph=True"):
        draw(f, format="dot")


def test_bad_arguments():
    f, _, _ = shared_product()
    with pytest.raises(ArgumentError):
        draw(f, format="jpeg")          # svg, png, pdf, dot
    with pytest.raises(ArgumentError):
        draw(f, format="dot", collapse="layers")
    with pytest.raises(ArgumentError):
        draw([1, 2], format="dot")


def test_labels_are_escaped():
    a = cg.tensor([1.0, 2.0], requires_grad=True)
    a.name = 'x<1> & "y"\\n'
    dot = draw(a * 2, format="dot")
    assert "&lt;1&gt; &amp; &quot;y&quot;\\n" in dot
    assert "x<1>" not in dot
    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_large_arrays_are_summarised():
    x = cg.tensor(np.arange(100.0).reshape(10, 10), requires_grad=True)
    d = Drawing(draw((x * 2).sum(), format="dot"))
    text = d.text(d.find("param")[0])
    assert "(10, 10) |x|=" in text and "min=0" in text and "max=99" in text
    assert "55" not in text


def test_long_chain_is_walked_without_recursion_and_folded():
    x = cg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = y * 1.0001 + 0.0001
    d = Drawing(draw(y, format="dot"))
    assert len(d.nodes) == 2 and len(d.edges) == 1
    (fold,) = d.find("(mul → add) × 50000")
    assert "100000 ops folded" in d.text(fold)


def test_repeated_cells_fold_and_keep_the_shared_weight():
    W = cg.tensor(np.eye(2, dtype=np.float32) * 0.5, requires_grad=True)
    W.name = "W"
    h = cg.tensor([1.0, 1.0])
    for _ in range(6):                                   # an unrolled recurrent cell
        h = cg.tanh(W.mv(h))
    d = Drawing(draw(h, format="dot", collapse="repeats"))
    (fold,) = d.find("(mv → tanh) × 6")
    (w,) = d.find("W ")
    assert (w, fold, "") in d.edges                     # one edge for six uses
    unfolded = Drawing(draw(h, format="dot"))
    assert len(unfolded.find("tanh")) == 6


def test_too_many_nodes_are_cut_near_the_output():
    xs = [cg.tensor(float(i), requires_grad=True) for i in range(200)]
    total = cg.stack([x * x for x in xs]).sum()
    d = Drawing(draw(total, format="dot", max_nodes=50))
    assert len(d.nodes) == 51
    # too big: first the 200 products fold into one node, then of the 200 x, that node,
    # stack and sum (203) the 50 nearest the output stay and 153 are summed up
    (fold,) = d.find("mul × 200")
    (more,) = d.find("…")
    assert "153 more nodes" in d.text(more)
    assert (more, fold, "") in d.edges
    assert d.find("sum") and d.find("stack")


def test_importing_viz_loads_no_graphviz_or_browser():
    code = ("import sys, compgraph.viz; "
            "assert 'graphviz' not in sys.modules and 'selenium' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- rendering ----------------------------------------------------------------------------------

def test_svg_and_png_render(viz, tmp_path):
    error, _ = xor()
    error.backward(retain_graph=True)
    svg = draw(error, path=tmp_path / "xor.svg")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert 'id="n2"' in svg and "W2" in svg
    assert (tmp_path / "xor.svg").read_text() == svg
    png = draw(error, format="png", path=tmp_path / "xor.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 200 and height > 400                  # a tall graph: the output on top
    assert (tmp_path / "xor.png").read_bytes() == png
    assert sorted(os.listdir(tmp_path)) == ["xor.png", "xor.svg"]   # no temporary left behind
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "xor.png").stat().st_mode & 0o777 == 0o666 & ~umask
    assert Drawing(draw(error, format="dot")).nodes      # and DOT parses


def test_tensor_shows_itself_as_svg(viz):
    f, _, _ = shared_product()
    assert "<svg" in f._repr_svg_()


def test_missing_python_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    f, _, _ = shared_product()
    assert draw(f, format="dot").startswith("digraph")  # DOT needs nothing
    with pytest.raises(GraphvizNotFound, match="pip install graphviz.*apt-get install graphviz"):
        draw(f, format="svg")


def test_missing_dot_program_says_what_to_install(monkeypatch):
    pytest.importorskip("graphviz", reason="the graphviz package is needed to reach `dot`")
    monkeypatch.setenv("PATH", "/nonexistent")
    f, _, _ = shared_product()
    with pytest.raises(GraphvizNotFound, match="`dot` program.*apt-get install graphviz"):
        draw(f, format="png")


# --- draw_model -----------------------------------------------------------------------------------

class Linear:
    """Enough of a Module for draw_model: named_parameters() and a call."""

    def __init__(self, n_in, n_out, rng):
        # float32, as a module's parameters and draw_model's input are
        self.weight = cg.tensor(rng.standard_normal((n_in, n_out)).astype(np.float32),
                                requires_grad=True)
        self.bias = cg.tensor(np.zeros(n_out, np.float32), requires_grad=True)

    def named_parameters(self):
        return [("weight", self.weight), ("bias", self.bias)]

    def __call__(self, x):
        return x @ self.weight + self.bias


class MLP:
    def __init__(self):
        rng = np.random.default_rng(1)
        self.layer1, self.layer2 = Linear(3, 4, rng), Linear(4, 2, rng)

    def named_parameters(self):
        return [(f"{m}.{n}", p) for m in ("layer1", "layer2")
                for n, p in getattr(self, m).named_parameters()]

    def __call__(self, x):
        return self.layer2(cg.relu(self.layer1(x)))


def test_draw_model_clusters_by_module_and_leaves_grads_alone(tmp_path):
    model = MLP()
    assert draw_model(model, (5, 3), tmp_path / "mlp.dot") == str(tmp_path / "mlp.dot")
    d = Drawing((tmp_path / "mlp.dot").read_text())
    assert set(d.clusters) == {"layer1", "layer2"}
    names = sorted(d.text(i).split(" ")[0] for i in d.clusters["layer1"])
    assert names == ["add", "layer1.bias", "layer1.weight", "matmul", "relu"]
    assert "grad" in d.text(d.find("layer2.weight")[0])  # drawn after one backward
    assert "(5, 3) float32" in d.text(d.find("input")[0])
    assert all(p.grad is None for _, p in model.named_parameters())


def test_draw_model_renders_png(viz, tmp_path):
    draw_model(MLP(), (2, 3), tmp_path / "mlp.png")
    png = (tmp_path / "mlp.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    draw_model(MLP(), (2, 3), tmp_path / "mlp.pdf")
    assert (tmp_path / "mlp.pdf").read_bytes()[:5] == b"%PDF-"


def test_draw_model_with_compgraph_nn(tmp_path):
    import compgraph.nn as nn
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    d = Drawing(open(draw_model(model, (2, 3), tmp_path / "seq.dot")).read())
    assert set(d.clusters) == {"0", "2"}
    assert d.find("0.weight") and d.find("2.bias")


def test_jupyter_shows_tensors_and_graphs_as_svg_or_falls_back():
    import shutil
    import compgraph as cg
    g = cg.Graph()
    y = g.add(g.var(1.0), g.var(2.0))
    cg.forward(g)
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    z = (x * 3).sum()
    if shutil.which("dot"):
        assert "<svg" in g._repr_svg_() and "<svg" in z._repr_svg_()
    else:
        assert g._repr_svg_() is None and z._repr_svg_() is None
    z.backward()                      # the graph is freed: no picture, and no traceback
    assert y is not None and (z._repr_svg_() is None or "<svg" in z._repr_svg_())


def test_writing_into_a_missing_folder_names_the_folder(tmp_path):
    x = cg.tensor([1.0, 2.0], requires_grad=True)
    target = tmp_path / "nodir" / "g.dot"
    with pytest.raises(FileNotFoundError) as info:
        draw((x * x).sum(), format="dot", path=target)
    assert isinstance(info.value, cg.CompgraphError)
    assert f"the folder {tmp_path / 'nodir'} does not exist" in str(info.value)
    assert ".draw-" not in str(info.value)
