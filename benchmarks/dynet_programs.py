"""The DyNet-user programs of the side-by-side benchmark, written once.

Every workload is written as a DyNet user writes it, against a module `dy` that is either
real DyNet (`import dynet as dy`) or compgraph's dialect (`import compgraph.dynet as dy`);
benchmarks/dynet_side_by_side.py runs each in its own process under each.  A workload is
`setup(dy, rng) -> state` and `step(dy, state, i) -> (loss expression, units)`: the runner
calls renew_cg(), step(), loss.value(), loss.backward() and trainer.update(), timing each
phase.  All weights and data come from NumPy with a fixed seed, so both libraries start
from the same weights and do the same work (the runner prints the final loss of each).

Only NumPy is imported here: the file runs in real DyNet's virtual environment too.
"""
import numpy as np


def _params(dy, pc, rng, shape, scale=None):
    scale = scale if scale is not None else 1.0 / np.sqrt(shape[-1])
    a = rng.uniform(-scale, scale, shape).astype(np.float32)
    return pc.add_parameters(shape, init=dy.NumpyInitializer(a))


def _lookup(dy, pc, rng, shape):
    a = rng.uniform(-0.5, 0.5, shape).astype(np.float32)
    return pc.lookup_parameters_from_numpy(a)


class _State:
    def __init__(self, **kw):
        self.__dict__.update(kw)


# --- tagger: embedding -> an LSTM written out per word -> pickneglogsoftmax --------------------

TAGGER = dict(vocab=1000, embed=32, hidden=64, tags=10, min_len=5, max_len=25)


def _tagger_setup(dy, rng, per_graph, sentences):
    c = TAGGER
    pc = dy.ParameterCollection()
    E, H = c["embed"], c["hidden"]
    st = _State(
        pc=pc, per_graph=per_graph, H=H,
        emb=_lookup(dy, pc, rng, (c["vocab"], E)),
        Wx=_params(dy, pc, rng, (4 * H, E)), Wh=_params(dy, pc, rng, (4 * H, H)),
        b=_params(dy, pc, rng, (4 * H,), 0.1),
        Wo=_params(dy, pc, rng, (c["tags"], H)), bo=_params(dy, pc, rng, (c["tags"],), 0.1))
    st.data = []
    for _ in range(sentences):
        n = int(rng.integers(c["min_len"], c["max_len"] + 1))
        st.data.append((rng.integers(0, c["vocab"], n).tolist(),
                        rng.integers(0, c["tags"], n).tolist()))
    st.trainer = dy.SimpleSGDTrainer(pc, learning_rate=0.1)
    return st


def _lstm_step(dy, Wx, Wh, b, H, x, h, c):
    """One LSTM step as DyNet users write it: one affine_transform for the four gates, each
    gate a pick_range of it."""
    g = dy.affine_transform([b, Wx, x, Wh, h])
    i = dy.logistic(dy.pick_range(g, 0, H))
    f = dy.logistic(dy.pick_range(g, H, 2 * H))
    o = dy.logistic(dy.pick_range(g, 2 * H, 3 * H))
    u = dy.tanh(dy.pick_range(g, 3 * H, 4 * H))
    c = dy.cmult(f, c) + dy.cmult(i, u)
    h = dy.cmult(o, dy.tanh(c))
    return h, c


def _tagger_sentence(dy, st, Wx, Wh, b, Wo, bo, words, tags):
    H = st.H
    h = c = dy.zeros(H)
    losses = []
    for w, t in zip(words, tags):
        h, c = _lstm_step(dy, Wx, Wh, b, H, dy.lookup(st.emb, w), h, c)
        losses.append(dy.pickneglogsoftmax(dy.affine_transform([bo, Wo, h]), t))
    return dy.esum(losses)


def _tagger_step(dy, st, i):
    Wx, Wh, b, Wo, bo = (dy.parameter(p) for p in (st.Wx, st.Wh, st.b, st.Wo, st.bo))
    k = st.per_graph
    batch = st.data[(i * k) % len(st.data):][:k]
    losses = [_tagger_sentence(dy, st, Wx, Wh, b, Wo, bo, ws, ts) for ws, ts in batch]
    return (dy.esum(losses) if len(losses) > 1 else losses[0]), len(batch)


# --- xor: seed 000's 2-2-1 network, a graph per update -------------------------------------------

def _xor_setup(dy, rng):
    pc = dy.ParameterCollection()
    return _State(pc=pc, W=_params(dy, pc, rng, (2, 2), 1.0), b=_params(dy, pc, rng, (2,), 1.0),
                  V=_params(dy, pc, rng, (1, 2), 1.0), a=_params(dy, pc, rng, (1,), 1.0),
                  trainer=dy.SimpleSGDTrainer(pc, learning_rate=0.1))


def _xor_step(dy, st, i):
    x1, x2 = (i >> 1) & 1, i & 1
    W, b, V, a = (dy.parameter(p) for p in (st.W, st.b, st.V, st.a))
    x = dy.inputVector([x1, x2])
    y = dy.scalarInput(x1 ^ x2)
    out = dy.logistic(V * dy.tanh(W * x + b) + a)
    return dy.squared_distance(out, y), 1


# --- mlp: 784-256-10 on batches of 64 ------------------------------------------------------------

MLP = dict(inp=784, hidden=256, classes=10, batch=64, batches=8)


def _mlp_setup(dy, rng):
    c = MLP
    pc = dy.ParameterCollection()
    st = _State(pc=pc, W1=_params(dy, pc, rng, (c["hidden"], c["inp"])),
                b1=_params(dy, pc, rng, (c["hidden"],), 0.1),
                W2=_params(dy, pc, rng, (c["classes"], c["hidden"])),
                b2=_params(dy, pc, rng, (c["classes"],), 0.1),
                trainer=dy.SimpleSGDTrainer(pc, learning_rate=0.1))
    st.data = [(rng.random((c["inp"], c["batch"])).astype(np.float32),
                rng.integers(0, c["classes"], c["batch"]).tolist()) for _ in range(c["batches"])]
    return st


def _mlp_step(dy, st, i):
    x, y = st.data[i % len(st.data)]
    W1, b1, W2, b2 = (dy.parameter(p) for p in (st.W1, st.b1, st.W2, st.b2))
    h = dy.rectify(W1 * dy.inputTensor(x, batched=True) + b1)
    loss = dy.pickneglogsoftmax_batch(W2 * h + b2, y)
    return dy.sum_batches(loss) * (1.0 / len(y)), len(y)


# --- Tree-LSTM over random binary trees (Tai et al. 2015, binary N-ary), autobatched -------------

TREE = dict(vocab=1000, embed=32, hidden=64, labels=5, min_leaves=4, max_leaves=16, per_graph=32)


def _random_tree(rng, words):
    """A random binary bracketing of the words: nested 2-tuples, leaves are word ids."""
    if len(words) == 1:
        return words[0]
    k = int(rng.integers(1, len(words)))
    return (_random_tree(rng, words[:k]), _random_tree(rng, words[k:]))


def _tree_setup(dy, rng, trees):
    c = TREE
    pc = dy.ParameterCollection()
    E, H = c["embed"], c["hidden"]
    st = _State(pc=pc, H=H, per_graph=c["per_graph"],
                emb=_lookup(dy, pc, rng, (c["vocab"], E)),
                Wl=_params(dy, pc, rng, (3 * H, E)), bl=_params(dy, pc, rng, (3 * H,), 0.1),
                Ul=_params(dy, pc, rng, (5 * H, H)), Ur=_params(dy, pc, rng, (5 * H, H)),
                bn=_params(dy, pc, rng, (5 * H,), 0.1),
                Wo=_params(dy, pc, rng, (c["labels"], H)), bo=_params(dy, pc, rng, (c["labels"],), 0.1),
                trainer=dy.SimpleSGDTrainer(pc, learning_rate=0.1))
    st.data = []
    for _ in range(trees):
        n = int(rng.integers(c["min_leaves"], c["max_leaves"] + 1))
        st.data.append((_random_tree(rng, rng.integers(0, c["vocab"], n).tolist()),
                        int(rng.integers(0, c["labels"]))))
    return st


def _tree_node(dy, st, P, t):
    H = st.H
    Wl, bl, Ul, Ur, bn = P
    if not isinstance(t, tuple):
        g = dy.affine_transform([bl, Wl, dy.lookup(st.emb, t)])
        i = dy.logistic(dy.pick_range(g, 0, H))
        o = dy.logistic(dy.pick_range(g, H, 2 * H))
        u = dy.tanh(dy.pick_range(g, 2 * H, 3 * H))
        c = dy.cmult(i, u)
        return dy.cmult(o, dy.tanh(c)), c
    hl, cl = _tree_node(dy, st, P, t[0])
    hr, cr = _tree_node(dy, st, P, t[1])
    g = dy.affine_transform([bn, Ul, hl, Ur, hr])
    i = dy.logistic(dy.pick_range(g, 0, H))
    fl = dy.logistic(dy.pick_range(g, H, 2 * H))
    fr = dy.logistic(dy.pick_range(g, 2 * H, 3 * H))
    o = dy.logistic(dy.pick_range(g, 3 * H, 4 * H))
    u = dy.tanh(dy.pick_range(g, 4 * H, 5 * H))
    c = dy.cmult(i, u) + dy.cmult(fl, cl) + dy.cmult(fr, cr)
    return dy.cmult(o, dy.tanh(c)), c


def _tree_step(dy, st, i):
    P = [dy.parameter(p) for p in (st.Wl, st.bl, st.Ul, st.Ur, st.bn)]
    Wo, bo = dy.parameter(st.Wo), dy.parameter(st.bo)
    k = st.per_graph
    batch = st.data[(i * k) % len(st.data):][:k]
    losses = []
    for tree, label in batch:
        h, _ = _tree_node(dy, st, P, tree)
        losses.append(dy.pickneglogsoftmax(dy.affine_transform([bo, Wo, h]), label))
    return dy.esum(losses), len(batch)


# name -> (autobatch, unit, steps, setup, step)
WORKLOADS = {
    "tagger-autobatch": (True, "sentences", 12,
                         lambda dy, rng: _tagger_setup(dy, rng, 32, 384), _tagger_step),
    "tagger-per-sentence": (False, "sentences", 160,
                            lambda dy, rng: _tagger_setup(dy, rng, 1, 160), _tagger_step),
    "xor": (False, "updates", 4000, _xor_setup, _xor_step),
    "mlp-batch": (False, "examples", 40, _mlp_setup, _mlp_step),
    "treelstm-autobatch": (True, "trees", 8,
                           lambda dy, rng: _tree_setup(dy, rng, 256), _tree_step),
}
