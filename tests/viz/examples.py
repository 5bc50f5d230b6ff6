"""The seed examples as graphs, and a small reader of the DOT text draw() writes."""
import html
import re

import numpy as np

import compgraph as cg


def named(**tensors):
    for name, t in tensors.items():
        t.name = name
    return tensors


def shared_product():
    """(a*b+1)*(a*b+2) as the lecture builds it: u = a*b computed once and used twice."""
    a = cg.tensor(2.0, requires_grad=True)
    b = cg.tensor(1.0, requires_grad=True)
    named(a=a, b=b)
    u = a * b
    u.name = "u"
    f = (u + 1) * (u + 2)
    f.name = "f"
    return f, a, b


def quadratic():
    """x^T A x + b^T x + c."""
    A = cg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
    x = cg.tensor([1., -1.], requires_grad=True)
    b = cg.tensor([0.5, 2.], requires_grad=True)
    c = cg.tensor(3., requires_grad=True)
    named(A=A, x=x, b=b, c=c)
    f = x @ A @ x + b @ x + c
    f.name = "f"
    return f, dict(A=A, x=x, b=b, c=c)


def two_layer():
    """h = tanh(Wx + b), y = Vh + a, parameters named as a module would name them."""
    rng = np.random.default_rng(0)
    W = cg.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    b = cg.tensor(rng.standard_normal(3), requires_grad=True)
    V = cg.tensor(rng.standard_normal((1, 3)), requires_grad=True)
    a = cg.tensor(rng.standard_normal(1), requires_grad=True)
    x = cg.tensor([0.5, -1.0], dtype=cg.float64)     # the weights' dtype (PyTorch mixes none)
    x.name = "x"
    h = cg.tanh(W.mv(x) + b)
    y = V.mv(h) + a
    params = {"hidden.W": W, "hidden.b": b, "out.V": V, "out.a": a}
    return y, params


def xor():
    """The lecture's XOR network at x=[1,0], t=[1]: error = 1/2 (t - y)^2."""
    W = cg.tensor([[3, 4], [2, 3]], requires_grad=True, dtype=cg.float)
    b = cg.tensor([-2, -4], requires_grad=True, dtype=cg.float)
    W2 = cg.tensor([5, -5], requires_grad=True, dtype=cg.float)
    b2 = cg.tensor([-2], requires_grad=True, dtype=cg.float)
    x = cg.tensor([1, 0], dtype=cg.float)
    t = cg.tensor([1], dtype=cg.float)
    p = named(W=W, b=b, W2=W2, b2=b2, x=x, t=t)
    s = W.mv(x) + b
    h = cg.sigmoid(s)
    z = cg.dot(W2, h) + b2
    y = cg.sigmoid(z)
    error = 1 / 2 * (t - y) ** 2
    error.name = "error"
    return error, p


XOR_W2_GRAD = [-0.0360, -0.0059]      # the slide's value


# --- reading DOT -----------------------------------------------------------------------------

NODE = re.compile(r"^\s*(\w+) \[id=\"\w+\", label=<(.*)>, (.*)\];$")
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[label=\"(.*)\"\])?;$")


class Drawing:
    """Nodes {id: (text, style)}, edges [(src, dst, label)], clusters {label: [ids]} and
    the cluster each cluster is nested in, parent {label: label or None}."""

    def __init__(self, dot):
        self.nodes, self.edges, self.clusters, self.parent = {}, [], {}, {}
        open_clusters = []
        for line in dot.splitlines():
            if "subgraph cluster_" in line:
                open_clusters.append(None)
            elif open_clusters and open_clusters[-1] is None and line.strip().startswith("label="):
                name = re.match(r'\s*label="([^"]*)"', line).group(1)
                open_clusters[-1] = name
                self.clusters[name] = []
                self.parent[name] = open_clusters[-2] if len(open_clusters) > 1 else None
            elif line.strip() == "}" and open_clusters:
                open_clusters.pop()
            elif m := NODE.match(line):
                text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", m.group(2))).split())
                self.nodes[m.group(1)] = (text, m.group(3))
                if open_clusters:
                    self.clusters[open_clusters[-1]].append(m.group(1))
            elif m := EDGE.match(line):
                self.edges.append((m.group(1), m.group(2), m.group(3) or ""))

    def find(self, prefix):
        """Ids of the nodes whose text starts with `prefix` (the title line)."""
        return [i for i, (text, _) in self.nodes.items() if text.startswith(prefix)]

    def text(self, node_id):
        return self.nodes[node_id][0]

    def inputs(self, node_id):
        return [(s, label) for s, d, label in self.edges if d == node_id]


def numbers_after(text, word):
    """The numbers following `word` in a label ('grad [-0.036, -0.005867]' -> [...])."""
    rest = text.split(word, 1)[1]
    found = []
    for tok in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[a-z]+", rest):
        if tok[0].isalpha():
            break                     # the next field of the label begins
        found.append(float(tok))
    return found
