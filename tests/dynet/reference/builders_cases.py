"""Reference cases of DyNet's builders, parameters, initializers and model files.

Each case is `fn(dy, tmp)` -> dict of named results (arrays, numbers, strings); it must run
unchanged on real DyNet 2.1.2 (generate_builders.py records its results) and on
compgraph.dynet (tests/dynet/test_reference_builders.py compares).  Parameters get fixed
values from a formula (`data`), so DyNet's random initialisation does not matter; dropout
is either off or at rate 0.  A case's name is "<dialect name it covers>/<what>"; `covers`
lists further names it exercises.  Fields starting "stat:" are statistics of random
initializers, compared loosely.
"""
import os

import numpy as np

CASES = {}


def case(name, covers=()):
    def register(fn):
        CASES[name] = (fn, tuple(covers))
        return fn
    return register


def data(shape, seed=0, lo=-1.0, hi=1.0):
    """Fixed, distinct numbers in [lo, hi] from a formula (no generator stream)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    n = int(np.prod(shape)) if shape else 1
    u = (np.sin(np.arange(n) * 1.7 + 0.9 * seed + 0.4) + 1) / 2
    return (lo + (hi - lo) * u).reshape(shape)


def fill(pc, seed=0, scale=0.6):
    """Every parameter and table of pc (in DyNet's order) set from the formula."""
    for k, p in enumerate(pc.parameters_list()):
        p.set_value(data(p.shape(), seed + k, -scale, scale))
    for k, lp in enumerate(pc.lookup_parameters_list()):
        lp.init_from_array(data(lp.shape(), seed + 50 + k, -1.0, 1.0))


def grads(pc, out, tag="grad"):
    for p in pc.parameters_list():
        out[f"{tag}:{p.name()}"] = p.grad_as_array()
    for lp in pc.lookup_parameters_list():
        out[f"{tag}:{lp.name()}"] = lp.grad_as_array()


def weighted(dy, e, seed):
    """A scalar from e (batched or not): sum over the batch of <e, fixed weights>."""
    dims, bs = e.dim()
    w = dy.inputTensor(data(dims, seed))
    return dy.sum_batches(dy.sum_elems(dy.cmult(e, w)))


def vec(dy, n, seed):
    return dy.inputVector(list(data(n, seed)))


BUILDERS = ["SimpleRNNBuilder", "GRUBuilder", "VanillaLSTMBuilder", "LSTMBuilder",
            "CoupledLSTMBuilder", "FastLSTMBuilder", "SparseLSTMBuilder",
            "CompactVanillaLSTMBuilder"]
LSTMS = {"VanillaLSTMBuilder", "LSTMBuilder", "CoupledLSTMBuilder", "FastLSTMBuilder",
         "SparseLSTMBuilder", "CompactVanillaLSTMBuilder"}


def _run(dy, b, pc, xs, out, state=None, seed=7):
    s = state if state is not None else b.initial_state()
    loss = []
    for t, x in enumerate(xs):
        s = s.add_input(x)
        out[f"out{t}"] = s.output().npvalue()
        loss.append(weighted(dy, s.output(), seed + t))
    out["final_s"] = np.concatenate([np.asarray(e.npvalue()).reshape(-1, order="F") for e in s.s()])
    out["final_h"] = np.concatenate([np.asarray(e.npvalue()).reshape(-1, order="F") for e in s.h()])
    total = dy.esum(loss)
    out["loss"] = total.value()
    total.backward()
    grads(pc, out)
    return s


def _builder_cases(name):
    def make(dy, pc, layers=2, i=3, h=4):
        return getattr(dy, name)(layers, i, h, pc)

    @case(f"{name}/unbatched", covers=["RNNState", "ParameterCollection"])
    def unbatched(dy, tmp):
        pc = dy.ParameterCollection()
        b = make(dy, pc)
        fill(pc)
        dy.renew_cg()
        out = {"names": " ".join(p.name() for p in pc.parameters_list())}
        _run(dy, b, pc, [vec(dy, 3, k) for k in range(3)], out)
        return out

    @case(f"{name}/batched_lookup", covers=["RNNState", "LookupParameters", "lookup_batch"])
    def batched(dy, tmp):
        pc = dy.ParameterCollection()
        E = pc.add_lookup_parameters((6, 3))
        b = make(dy, pc)
        fill(pc, seed=3)
        dy.renew_cg()
        out = {}
        _run(dy, b, pc, [dy.lookup_batch(E, ids) for ids in ([0, 2, 5], [1, 1, 4], [3, 0, 2])], out)
        return out

    @case(f"{name}/initial_state_vecs", covers=["RNNState"])
    def init_vecs(dy, tmp):
        pc = dy.ParameterCollection()
        b = make(dy, pc)
        fill(pc, seed=5)
        dy.renew_cg()
        n = 4 if name in LSTMS else 2
        vecs = [vec(dy, 4, 20 + k) for k in range(n)]
        out = {}
        _run(dy, b, pc, [vec(dy, 3, k) for k in range(2)], out, state=b.initial_state(vecs))
        return out

    @case(f"{name}/batched_initial_state", covers=["RNNState", "inputTensor"])
    def init_batched(dy, tmp):
        pc = dy.ParameterCollection()
        E = pc.add_lookup_parameters((5, 3))
        b = make(dy, pc)
        fill(pc, seed=6)
        dy.renew_cg()
        n = 4 if name in LSTMS else 2
        vecs = [dy.inputTensor(data((4, 2), 40 + k), batched=True) for k in range(n)]
        out = {}
        _run(dy, b, pc, [dy.lookup_batch(E, [1, 4]), dy.lookup_batch(E, [0, 0])], out,
             state=b.initial_state(vecs))
        return out

    @case(f"{name}/initial_state_from_raw_vectors", covers=["RNNState"])
    def init_raw(dy, tmp):
        pc = dy.ParameterCollection()
        b = make(dy, pc)
        fill(pc, seed=8)
        dy.renew_cg()
        n = 4 if name in LSTMS else 2
        out = {}
        s = b.initial_state_from_raw_vectors([data(4, 60 + k) for k in range(n)])
        _run(dy, b, pc, [vec(dy, 3, k) for k in range(2)], out, state=s)
        return out

    @case(f"{name}/set_h_set_s", covers=["RNNState"])
    def set_hs(dy, tmp):
        pc = dy.ParameterCollection()
        b = make(dy, pc)
        fill(pc, seed=9)
        dy.renew_cg()
        s0 = b.initial_state()
        s1 = s0.add_input(vec(dy, 3, 1))
        out = {"init_out_is_none": float(s0.output() is None), "init_h": float(len(s0.h())),
               "init_s": float(len(s0.s()))}
        s2 = s1.set_h([vec(dy, 4, 30), vec(dy, 4, 31)])
        s3 = s2.add_input(vec(dy, 3, 2))
        s4 = s3.set_s([vec(dy, 4, 32), vec(dy, 4, 33)])
        s5 = s4.add_input(vec(dy, 3, 3))
        for k, s in enumerate((s2, s3, s4, s5)):
            out[f"s{k + 2}"] = np.concatenate([np.asarray(e.npvalue()).reshape(-1) for e in s.s()])
            out[f"out{k + 2}"] = s.output().npvalue()
        out["prev_chain"] = float(s5.prev() is s4 and s4.prev() is s3 and s1.prev() is s0)
        loss = weighted(dy, s5.output(), 3) + weighted(dy, s3.output(), 4)
        loss.backward()
        grads(pc, out)
        return out

    @case(f"{name}/update_false_and_expressions", covers=["RNNState"])
    def update_false(dy, tmp):
        pc = dy.ParameterCollection()
        E = pc.add_lookup_parameters((4, 3))
        b = make(dy, pc, layers=1)
        fill(pc, seed=11)
        dy.renew_cg()
        out = {}
        try:
            b.get_parameter_expressions()
            out["expressions_before_initial_state"] = "computed"
        except ValueError:
            out["expressions_before_initial_state"] = "ValueError"
        s = b.initial_state(update=False)
        out["same_initial_state"] = float(s is b.initial_state())
        ex = b.get_parameter_expressions()
        out["expressions"] = np.concatenate([np.asarray(e.npvalue()).reshape(-1, order="F")
                                             for layer in ex for e in layer])
        outs = s.transduce([E[1], E[3], E[1]])
        loss = dy.esum([weighted(dy, o, k) for k, o in enumerate(outs)])
        out["loss"] = loss.value()
        loss.backward()
        grads(pc, out)
        return out

    @case(f"{name}/dropout_disabled", covers=["RNNState"])
    def dropout_off(dy, tmp):
        pc = dy.ParameterCollection()
        b = make(dy, pc)
        fill(pc, seed=13)
        b.set_dropout(0.4)
        b.disable_dropout()
        if hasattr(b, "set_dropouts"):
            b.set_dropouts(0.0, 0.0)
        dy.renew_cg()
        s = b.initial_state()
        if hasattr(b, "set_dropout_masks"):
            b.set_dropout_masks(2)
        out = {}
        _run(dy, b, pc, [vec(dy, 3, k) for k in range(3)], out, state=s)
        return out

    @case(f"{name}/spec_and_collection", covers=["save", "load", "ParameterCollection"])
    def spec(dy, tmp):
        pc = dy.ParameterCollection()
        pc.add_parameters(2)
        b = make(dy, pc, layers=1)
        b2 = make(dy, pc, layers=1)
        out = {"collection": b.param_collection().name() + " " + b2.param_collection().name(),
               "whoami": b.whoami()}
        try:
            out["spec"] = repr(tuple(b.spec))
        except AttributeError:
            out["spec"] = "AttributeError"
        return out


for _name in BUILDERS:
    _builder_cases(_name)


@case("VanillaLSTMBuilder/forget_bias_and_ln_lstm", covers=["LSTMBuilder", "layer_norm"])
def vanilla_variants(dy, tmp):
    out = {}
    for tag, kw in (("fb0.5", dict(forget_bias=0.5)), ("fb0", dict(forget_bias=0.0)),
                    ("ln", dict(ln_lstm=True))):
        pc = dy.ParameterCollection()
        b = dy.VanillaLSTMBuilder(2, 3, 4, pc, **kw)
        fill(pc, seed=17)
        dy.renew_cg()
        res = {}
        _run(dy, b, pc, [vec(dy, 3, k) for k in range(3)], res)
        out.update({f"{tag}:{k}": v for k, v in res.items()})
        out[f"{tag}:spec"] = repr(tuple(b.spec))
    return out


@case("SparseLSTMBuilder/set_sparsity")
def sparse(dy, tmp):
    pc = dy.ParameterCollection()
    b = dy.SparseLSTMBuilder(1, 3, 2, pc)
    fill(pc, seed=19)
    for ps in b.get_parameters():
        ps[3].set_value(np.ones(ps[3].shape()))
        ps[4].set_value(np.ones(ps[4].shape()))
    b.set_sparsity(0.5)
    out = {"masks": np.concatenate([ps[k].as_array().reshape(-1) for ps in b.get_parameters()
                                    for k in (3, 4)])}
    dy.renew_cg()
    res = {}
    _run(dy, b, pc, [vec(dy, 3, k) for k in range(2)], res)
    out.update(res)
    return out


@case("BiRNNBuilder/transduce_and_add_inputs", covers=["RNNState", "LSTMBuilder", "GRUBuilder"])
def birnn(dy, tmp):
    out = {}
    for tag, factory in (("lstm", dy.LSTMBuilder), ("gru", dy.GRUBuilder)):
        pc = dy.ParameterCollection()
        bi = dy.BiRNNBuilder(2, 3, 4, pc, factory)
        fill(pc, seed=23)
        dy.renew_cg()
        xs = [vec(dy, 3, k) for k in range(3)]
        outs = bi.transduce(xs)
        pairs = bi.add_inputs(xs)
        for k, o in enumerate(outs):
            out[f"{tag}:out{k}"] = o.npvalue()
        for k, (f, b) in enumerate(pairs):
            out[f"{tag}:pair{k}"] = np.concatenate([f.output().npvalue(), b.output().npvalue()])
        loss = dy.esum([weighted(dy, o, k) for k, o in enumerate(outs)])
        out[f"{tag}:loss"] = loss.value()
        loss.backward()
        grads(pc, out, f"{tag}:grad")
        out[f"{tag}:collection"] = bi.param_collection().name()
        bi.set_dropout(0.2)
        bi.disable_dropout()
    return out


@case("BiRNNBuilder/batched", covers=["lookup_batch"])
def birnn_batched(dy, tmp):
    pc = dy.ParameterCollection()
    E = pc.add_lookup_parameters((5, 3))
    bi = dy.BiRNNBuilder(1, 3, 6, pc, dy.VanillaLSTMBuilder)
    fill(pc, seed=29)
    dy.renew_cg()
    outs = bi.transduce([dy.lookup_batch(E, ids) for ids in ([0, 4], [2, 2], [1, 3])])
    out = {f"out{k}": o.npvalue() for k, o in enumerate(outs)}
    loss = dy.esum([weighted(dy, o, k) for k, o in enumerate(outs)])
    out["loss"] = loss.value()
    loss.backward()
    grads(pc, out)
    return out


@case("vanilla_lstm_gates/free_functions",
      covers=["vanilla_lstm_c", "vanilla_lstm_h", "vanilla_lstm_gates_concat",
              "vanilla_lstm_gates_dropout", "vanilla_lstm_gates_dropout_concat"])
def free_lstm(dy, tmp):
    pc = dy.ParameterCollection()
    Wx = pc.add_parameters((8, 3))
    Wh = pc.add_parameters((8, 2))
    bb = pc.add_parameters(8)
    fill(pc, seed=37)
    dy.renew_cg()
    x, h, c = vec(dy, 3, 1), vec(dy, 2, 2), vec(dy, 2, 3)
    g = dy.vanilla_lstm_gates(x, h, Wx, Wh, bb)
    gc = dy.vanilla_lstm_gates_concat([vec(dy, 1, 4), vec(dy, 2, 5)], h, Wx, Wh, bb)
    gd = dy.vanilla_lstm_gates_dropout(x, h, Wx, Wh, bb, vec(dy, 3, 6), vec(dy, 2, 7))
    gdc = dy.vanilla_lstm_gates_dropout_concat([vec(dy, 2, 8), vec(dy, 1, 9)], h, Wx, Wh, bb,
                                               vec(dy, 3, 10), vec(dy, 2, 11))
    c1 = dy.vanilla_lstm_c(c, g)
    h1 = dy.vanilla_lstm_h(c1, g)
    out = {"gates": g.npvalue(), "concat": gc.npvalue(), "dropout": gd.npvalue(),
           "dropout_concat": gdc.npvalue(), "c": c1.npvalue(), "h": h1.npvalue()}
    loss = weighted(dy, h1, 1) + weighted(dy, gc, 2) + weighted(dy, gd, 3) + weighted(dy, gdc, 4)
    loss.backward()
    grads(pc, out)
    return out


@case("vanilla_lstm_gates/batched")
def free_lstm_batched(dy, tmp):
    pc = dy.ParameterCollection()
    Wx, Wh, bb = pc.add_parameters((8, 3)), pc.add_parameters((8, 2)), pc.add_parameters(8)
    fill(pc, seed=41)
    dy.renew_cg()
    x = dy.inputTensor(data((3, 2), 1), batched=True)
    h = dy.inputTensor(data((2, 2), 2), batched=True)
    g = dy.vanilla_lstm_gates(x, h, Wx, Wh, bb)
    c1 = dy.vanilla_lstm_c(dy.inputTensor(data((2, 2), 3), batched=True), g)
    h1 = dy.vanilla_lstm_h(c1, g)
    out = {"gates": g.npvalue(), "h": h1.npvalue()}
    loss = weighted(dy, h1, 1)
    loss.backward()
    grads(pc, out)
    return out


# --- softmax builders ----------------------------------------------------------------------------

@case("LSTMBuilder/column_inputs", covers=["VanillaLSTMBuilder", "Expression"])
def column_inputs(dy, tmp):
    # DyNet's Dim {n, 1} is the vector {n}: attention.py feeds `input_mat * softmax(column)`
    # (dims (n, 1)) to an LSTM, and caches with `w1dt = w1dt or ...` (any Expression is true)
    pc = dy.ParameterCollection()
    b = dy.VanillaLSTMBuilder(1, 3, 4, pc)
    fill(pc, seed=31)
    dy.renew_cg()
    M = dy.inputTensor(data((3, 2), 4))
    col = dy.transpose(dy.softmax(dy.transpose(dy.inputTensor(data((1, 2), 5)))))
    xs = [dy.inputTensor(data((3, 1), 6)), M * dy.transpose(col),
          dy.reshape(dy.inputTensor(data((3, 2), 8), batched=True), (3, 1), batch_size=2)]
    out = {"truth": float(bool(dy.scalarInput(0)) and bool(M)), "dim1": str(xs[1].dim())}
    _run(dy, b, pc, xs, out)
    return out


@case("StandardSoftmaxBuilder/all", covers=["SoftmaxBuilder"])
def standard_softmax(dy, tmp):
    out = {}
    for bias in (True, False):
        pc = dy.ParameterCollection()
        sm = dy.StandardSoftmaxBuilder(3, 5, pc, bias)
        fill(pc, seed=43)
        dy.renew_cg()
        x = vec(dy, 3, 1)
        xb = dy.inputTensor(data((3, 2), 2), batched=True)
        t = f"bias{int(bias)}"
        out[f"{t}:logits"] = sm.full_logits(x).npvalue()
        out[f"{t}:logdist"] = sm.full_log_distribution(x).npvalue()
        nls = sm.neg_log_softmax(x, 2)
        nlsb = sm.neg_log_softmax_batch(xb, [4, 0])
        out[f"{t}:nls"] = nls.value()
        out[f"{t}:nls_batch"] = nlsb.npvalue()
        (nls + dy.sum_batches(nlsb)).backward()
        grads(pc, out, f"{t}:grad")
        out[f"{t}:collection"] = sm.param_collection().name()
    return out


def _clusters(tmp):
    path = os.path.join(tmp, "clusters.txt")
    with open(path, "w") as fh:
        fh.write("B\tthe 10\nA\tcat\nB\ta\nC\tdog 3\nA\tmat\nA\tsat\n")
    return path, {"the": 0, "cat": 1, "a": 2, "dog": 3, "mat": 4, "sat": 5}


@case("ClassFactoredSoftmaxBuilder/all")
def cfsm(dy, tmp):
    path, dic = _clusters(tmp)
    pc = dy.ParameterCollection()
    sm = dy.ClassFactoredSoftmaxBuilder(3, path, dic, pc, True)
    fill(pc, seed=47)
    dy.renew_cg()
    x = vec(dy, 3, 1)
    out = {"names": " ".join(p.name() for p in pc.parameters_list()),
           "class_logits": sm.class_logits(x).npvalue(),
           "class_logdist": sm.class_log_distribution(x).npvalue(),
           "sub_logits0": sm.subclass_logits(x, 0).npvalue(),
           "sub_logdist1": sm.subclass_log_distribution(x, 1).npvalue(),
           "full_logits": sm.full_logits(x).npvalue(),
           "full_logdist": sm.full_log_distribution(x).npvalue()}
    losses = [sm.neg_log_softmax(x, w) for w in range(6)]
    for w, l in enumerate(losses):
        out[f"nls{w}"] = l.value()
    xb = dy.inputTensor(data((3, 2), 2), batched=True)
    nlsb = sm.neg_log_softmax_batch(xb, [3, 5])
    out["nls_batch"] = nlsb.npvalue()
    (dy.esum(losses) + dy.sum_batches(nlsb)).backward()
    grads(pc, out)
    return out


# --- parameters, tables, collections --------------------------------------------------------------

@case("ParameterCollection/names_and_lists", covers=["Model", "Parameters", "LookupParameters"])
def names(dy, tmp):
    m = dy.Model()
    ps = [m.add_parameters((2, 3)), m.add_parameters(4, name="W"), m.add_parameters(4, name="W"),
          m.add_lookup_parameters((5, 3)), m.add_lookup_parameters((2, 2), name="E")]
    subs = [m.add_subcollection(), m.add_subcollection("enc"), m.add_subcollection("enc")]
    inner = subs[1].add_parameters(2)
    deeper = subs[1].add_subcollection("x").add_lookup_parameters((3, 1))
    m.add_parameters(1)
    return {"names": " ".join(p.name() for p in ps + [inner, deeper]),
            "subs": " ".join(s.name() for s in subs),
            "parameters_list": " ".join(p.name() for p in m.parameters_list()),
            "lookup_parameters_list": " ".join(p.name() for p in m.lookup_parameters_list()),
            "sub_list": " ".join(p.name() for p in subs[1].parameters_list() + subs[1].lookup_parameters_list()),
            "parameter_count": float(m.parameter_count()),
            "sub_count": float(subs[1].parameter_count()),
            "shapes": repr([p.shape() for p in ps]),
            "weight_decay": m.get_weight_decay()}


@case("ParameterCollection/from_numpy_and_inits",
      covers=["ConstInitializer", "IdentityInitializer", "NumpyInitializer", "FromFileInitializer",
              "Initializer", "PyInitializer", "Parameters", "LookupParameters"])
def from_numpy(dy, tmp):
    m = dy.ParameterCollection()
    a = data((2, 3), 1)
    path = os.path.join(tmp, "values.txt")
    with open(path, "w") as fh:
        fh.write(" ".join("%g" % v for v in data(6, 2)))
    fname = path.encode() if dy.__name__ == "dynet" else path    # DyNet wants bytes here
    ps = {"from_numpy": m.parameters_from_numpy(a),
          "init_array": m.add_parameters((2, 3), init=a),
          "numpy_init": m.add_parameters((2, 3), init=dy.NumpyInitializer(a)),
          "const_int": m.add_parameters((2, 2), init=3),
          "const_float": m.add_parameters((2, 2), init=-1.5),
          "const_init": m.add_parameters(3, init=dy.ConstInitializer(0.25)),
          "identity_name": m.add_parameters((3, 3), init="identity"),
          "identity_init": m.add_parameters((2, 2), init=dy.IdentityInitializer()),
          "from_file": m.add_parameters((2, 3), init=dy.FromFileInitializer(fname)),
          "lookup_from_numpy": m.lookup_parameters_from_numpy(data((4, 2), 3)),
          "lookup_init_array": m.add_lookup_parameters((3, 2), init=data((3, 2), 4)),
          "lookup_const": m.add_lookup_parameters((3, 2), init=0.5),
          "lookup_int_dim": m.add_lookup_parameters(3, init=1.0)}
    out = {k: p.as_array() for k, p in ps.items()}
    out["names"] = " ".join(p.name() for p in ps.values())
    return out


@case("ParameterCollection/bad_initializers")
def bad_inits(dy, tmp):
    m = dy.ParameterCollection()
    out = {}
    for tag, make in (("unknown_name", lambda: m.add_parameters((2, 2), init="saxe")),
                      ("list", lambda: m.add_parameters((2, 2), init=[1, 2, 3, 4])),
                      ("numpy_init_lookup", lambda: m.add_lookup_parameters(
                          (2, 2), init=dy.NumpyInitializer(np.ones((2, 2))))),
                      ("bad_name", lambda: m.add_parameters(2, name="a_b")),
                      ("bad_sub", lambda: m.add_subcollection("a/b"))):
        try:
            make()
            out[tag] = "computed"
        except Exception:       # DyNet: ValueError, AssertionError or RuntimeError
            out[tag] = "raises"
    return out


def _stats(p):
    """Count, mean and std; for a bounded (uniform) initializer also the largest |value|."""
    a = p.as_array()
    return np.array([a.size, a.mean(), a.std()])


def _bounded(p):
    a = p.as_array()
    return np.array([a.size, a.mean(), a.std(), np.abs(a).max()])


@case("GlorotInitializer/statistics",
      covers=["NormalInitializer", "UniformInitializer", "SaxeInitializer", "ParameterCollection"])
def random_inits(dy, tmp):
    m = dy.ParameterCollection()
    ps = {"glorot_default": m.add_parameters((120, 80)),
          "glorot_name": m.add_parameters((60, 40), init="glorot"),
          "glorot_gain": m.add_parameters((60, 40), init=dy.GlorotInitializer(gain=2.0)),
          "glorot_lookup": m.add_parameters((60, 40), init=dy.GlorotInitializer(is_lookup=True)),
          "glorot_4d": m.add_parameters((3, 3, 10, 20)),
          "table_default": m.add_lookup_parameters((300, 20)),
          "uniform_name": m.add_parameters((100, 50), init="uniform", scale=0.3),
          "uniform_init": m.add_parameters((100, 50), init=dy.UniformInitializer(0.7)),
          "normal_name": m.add_parameters((100, 50), init="normal", mean=1.0, std=0.5),
          "normal_init": m.add_parameters((100, 50), init=dy.NormalInitializer(-1.0, 4.0)),
          "he": m.add_parameters((100, 8), init="he"),
          "table_he": m.add_lookup_parameters((400, 8), init="he"),
          "scale_ignored": m.add_parameters((100, 50), scale=5.0)}
    out = {f"stat:{k}": (_stats if "normal" in k or "he" in k else _bounded)(p)
           for k, p in ps.items()}
    s = m.add_parameters((6, 6), init=dy.SaxeInitializer(2.0)).as_array()
    out["saxe_gram"] = s @ s.T
    return out


@case("Parameters/methods", covers=["parameter", "const_parameter", "SimpleSGDTrainer"])
def param_methods(dy, tmp):
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 3), init=dy.NumpyInitializer(data((2, 3), 1)))
    b = m.add_parameters(2, init=dy.NumpyInitializer(data(2, 2)))
    frozen = m.add_parameters(2, init=dy.NumpyInitializer(data(2, 3)))
    frozen.set_updated(False)
    dy.renew_cg()
    x = vec(dy, 3, 4)
    out = {"value": np.asarray(W.value()), "npvalue": W.npvalue(), "forward": repr(type(W.forward())),
           "dim": repr(W.dim()), "shape": repr(W.shape()), "name": W.name(), "str": str(W),
           "getitem": W[1].npvalue(), "vec_value": np.asarray(b.vec_value()),
           "is_updated": float(frozen.is_updated()) * 10 + float(W.is_updated())}
    y = W * x + b + frozen
    e = W.expr()
    loss = dy.sum_elems(dy.cmult(y, y)) + dy.sum_elems(e * x) + dy.sum_elems(-b) \
        + dy.sum_elems(2 * b - b / 2.0)
    out["loss"] = loss.value()
    loss.backward()
    grads(m, out)
    out["W.gradient"] = W.gradient()
    trainer = dy.SimpleSGDTrainer(m, 0.5)
    trainer.set_clip_threshold(0.0)          # no clipping: the update is plain SGD
    trainer.update()
    out["after_update"] = np.concatenate([p.as_array().reshape(-1) for p in (W, b, frozen)])
    W.set_value(data((2, 3), 5))
    W.scale(2.0)
    out["scaled"] = W.as_array()
    W.clip_inplace(-0.5, 0.7)
    out["clipped"] = W.as_array()
    b.zero()
    out["zeroed"] = b.as_array()
    dy.renew_cg()
    l2 = dy.sum_elems(W * vec(dy, 3, 4))
    l2.backward()
    W.scale_gradient(3.0)
    out["scaled_gradient"] = W.grad_as_array()
    return out


@case("LookupParameters/methods", covers=["lookup", "lookup_batch", "parameter"])
def lookup_methods(dy, tmp):
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((4, 3))
    E.init_from_array(data((4, 3), 1))
    E.init_row(2, list(data(3, 2)))
    dy.renew_cg()
    out = {"as_array": E.as_array(), "row": E.row_as_array(2), "rows": E.rows_as_array([3, 0]),
           "npvalue": E.npvalue(), "dim": repr(E.dim()), "shape": repr(E.shape()),
           "len": float(len(E)), "name": E.name(), "str": str(E), "item": E[1].npvalue(),
           "batch": E.batch([0, 3, 3]).npvalue()}
    loss = (dy.sum_elems(dy.cmult(E[1], vec(dy, 3, 5))) + weighted(dy, E.batch([0, 3, 3]), 6)
            + dy.sum_elems(dy.parameter(E) * vec(dy, 4, 7)))
    out["loss"] = loss.value()
    loss.backward()
    out["grad"] = E.grad_as_array()
    out["row_grad"] = E.row_grad_as_array(3)
    out["rows_grad"] = E.rows_grad_as_array([3, 1])
    E.scale(0.5)
    out["scaled"] = E.as_array()
    E.zero()
    out["zeroed"] = E.as_array()
    return out


# --- model files ------------------------------------------------------------------------------------

def _model(dy):
    m = dy.ParameterCollection()
    W = m.add_parameters((2, 3), name="W")
    E = m.add_lookup_parameters((3, 2))
    b = m.add_parameters(2)
    lstm = dy.VanillaLSTMBuilder(1, 2, 2, m)
    gru = dy.GRUBuilder(1, 2, 1, m)
    bi = dy.BiRNNBuilder(1, 2, 2, m, dy.SimpleRNNBuilder)
    coupled = dy.CoupledLSTMBuilder(1, 2, 2, m)
    sparse = dy.SparseLSTMBuilder(1, 2, 1, m, False, 0.5)
    compact = dy.CompactVanillaLSTMBuilder(1, 2, 1, m)
    fill(m, seed=61)
    return m, [W, E, b, lstm, gru, bi, coupled, sparse, compact]


def _read(path):
    with open(path) as fh:
        return fh.read()


@case("save/text_format", covers=["ParameterCollection", "Parameters", "LookupParameters"])
def save_text(dy, tmp):
    m, (W, E, b, lstm, gru, bi, coupled, sparse, compact) = _model(dy)
    dy.renew_cg()
    loss = dy.sum_elems(W * vec(dy, 3, 1)) + dy.sum_elems(E[1])
    loss.backward()                       # W and E get gradients: FULL_GRAD lines
    out = {}
    m.save(os.path.join(tmp, "all.model"))
    out["whole"] = _read(os.path.join(tmp, "all.model"))
    W.save(os.path.join(tmp, "w.model"))
    E.save(os.path.join(tmp, "e.model"), "/table")
    lstm.param_collection().save(os.path.join(tmp, "w.model"), "/key/", True)
    out["pieces"] = _read(os.path.join(tmp, "w.model")) + _read(os.path.join(tmp, "e.model"))
    dy.save(os.path.join(tmp, "objs"), [W, E, lstm, b, gru, bi, coupled, sparse, compact])
    out["save.data"] = _read(os.path.join(tmp, "objs.data"))
    return out


@case("load/round_trip", covers=["save", "load_generator", "ParameterCollection"])
def load_round_trip(dy, tmp):
    m, objs = _model(dy)
    base = os.path.join(tmp, "objs")
    dy.save(base, objs)
    m2 = dy.ParameterCollection()
    m2.add_parameters(1)
    loaded = dy.load(base, m2)
    W2, E2, b2, lstm2, gru2, bi2 = loaded[:6]
    out = {"W": W2.as_array(), "E": E2.as_array(), "b": b2.as_array(),
           "names": " ".join(p.name() for p in m2.parameters_list() + m2.lookup_parameters_list()),
           "kinds": " ".join(type(o).__name__ for o in loaded)}
    dy.renew_cg()
    for tag, bld in (("lstm", lstm2), ("gru", gru2), ("coupled", loaded[6]), ("sparse", loaded[7]),
                     ("compact", loaded[8])):
        out[tag] = bld.initial_state().transduce([vec(dy, 2, 1), vec(dy, 2, 2)])[-1].npvalue()
    out["bi"] = bi2.transduce([vec(dy, 2, 3)])[0].npvalue()
    m3 = dy.ParameterCollection()
    out["generator"] = " ".join(type(o).__name__ for o in dy.load_generator(base, m3))
    # populate: the same structure made again takes the saved values, also under a key
    m4, (W4, E4, b4, lstm4, gru4, bi4, _, _, _) = _model(dy)
    for p in m4.parameters_list():
        p.zero()
    m.save(os.path.join(tmp, "whole.model"))
    m4.populate(os.path.join(tmp, "whole.model"))
    out["populated"] = np.concatenate([p.as_array().reshape(-1) for p in m4.parameters_list()])
    lstm4.param_collection().save(os.path.join(tmp, "keyed.model"), "/saved/")
    for p in lstm4.get_parameters()[0]:
        p.zero()
    lstm4.param_collection().populate(os.path.join(tmp, "keyed.model"), "/saved/")
    out["populated_key"] = np.concatenate([p.as_array().reshape(-1) for p in lstm4.get_parameters()[0]])
    W4.zero()
    W4.populate(os.path.join(tmp, "whole.model"), "/W")
    out["param_populate"] = W4.as_array()
    L = m4.load_lookup_param(os.path.join(tmp, "whole.model"), "/_0")
    out["load_lookup_param"] = L.as_array()
    out["load_lookup_name"] = L.name()
    return out


@case("LookupParameters/init_partial_and_3d_rows", covers=["lookup_parameters_from_numpy"])
def lookup_3d(dy, tmp):
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((4, 2), init=0.0)
    E.init_from_array(data((2, 2), 1))                # fewer rows than the table: the first ones
    T = m.add_lookup_parameters((3, 2, 2), init=0.0)
    T.init_row(1, list(data(4, 2)))                   # a flat list, DyNet's order
    L = m.lookup_parameters_from_numpy(data((3, 2, 3), 3))
    dy.renew_cg()
    out = {"partial": E.as_array(), "row3d": T.as_array(), "L": L.as_array(),
           "L.npvalue": L.npvalue(), "L.dim": repr(L.dim()), "L[2]": L[2].npvalue(),
           "L.batch": L.batch([2, 0]).npvalue()}
    loss = weighted(dy, L.batch([2, 0]), 1) + dy.sum_elems(dy.cmult(L[1], dy.inputTensor(data((2, 3), 4))))
    loss.backward()
    out["grad"] = L.grad_as_array()
    m.save(os.path.join(tmp, "t.model"))
    out["file"] = _read(os.path.join(tmp, "t.model"))
    return out
