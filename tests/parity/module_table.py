"""Parity cases of the nn classes: the same module built in both libraries, torch's
initial weights copied into compgraph's through load_state_dict, then forward outputs,
input and parameter gradients, and the state after the call (running statistics)
compared.  A case is `mod(build)` where build(d) -> (make, inputs): make(nn) builds the
module from either library's nn, inputs is a list of NumPy arrays.
"""
import numpy as np
import torch

import compgraph as cg

from . import oracle


class ModCase:
    def __init__(self, build, *, train=False, grad=True, tol=None, grad_tol=None, examples=None,
                 post=None):
        self.build, self.train, self.grad = build, train, grad
        self.tol, self.grad_tol, self.examples, self.post = tol, grad_tol, examples, post


mod = ModCase
F32 = "float32"


def _f(d, shape, domain="real"):
    return d.array(shape, F32, domain, edge=False)


def _plain(ctor_args=lambda d: ((), {}), shape=None, domain="real", **kw):
    """nn.<Name>(*args) on one float input (elementwise layers by default)."""
    def build(d):
        a, k = ctor_args(d)
        return (lambda name: lambda nn: getattr(nn, name)(*a, **k)), [
            _f(d, shape(d) if shape else d.shape(), domain)]
    return ModCase(build, **kw)


def _loss(domain_x="real", domain_y="real", target=None):
    def build(d):
        s = d.shape(min_dims=1, max_dims=3)                  # empty ones too (mean: nan)
        k = {"reduction": d.choice(["mean", "sum", "none"])}
        y = target(d, s) if target else _f(d, s, domain_y)
        return (lambda name: lambda nn: getattr(nn, name)(**k)), [_f(d, s, domain_x), y]
    return ModCase(build)


def _classification(log):
    def build(d):
        n, c = d.int(1, 4), d.int(2, 4)
        x = _f(d, (n, c))
        if log:
            x = x - np.log(np.exp(x).sum(-1, keepdims=True))
        k = {"reduction": d.choice(["mean", "sum", "none"])}
        return (lambda name: lambda nn: getattr(nn, name)(**k)), [
            x, d.array((n,), "int64", f"int:0:{c}")]
    return ModCase(build)


def _recurrent(cell, proj=False):
    def build(d):
        i, h = d.int(1, 3), d.int(1, 3)
        k = {"bias": d.bool()}
        if not cell:
            k.update(num_layers=d.int(1, 2), batch_first=d.bool(), bidirectional=d.bool())
        if proj:                              # LSTM's projection of h: 0 (none) .. hidden - 1
            k["proj_size"] = d.int(0, h - 1)
        shape = (d.int(1, 3), i) if cell else (d.int(1, 3), d.int(1, 3), i)
        return (lambda name: lambda nn: getattr(nn, name)(i, h, **k)), [_f(d, shape)]
    return ModCase(build, grad_tol=(1e-3, 1e-4))


def _conv(n):
    def build(d):
        cin, cout, k = d.int(1, 2), d.int(1, 3), d.int(1, 3)
        kw = {"stride": d.choice([1, 2]), "padding": d.choice([0, 1]), "bias": d.bool(),
              "padding_mode": d.choice(["zeros", "reflect", "replicate", "circular"])}
        # reflect needs the padding below the input's size; torch refuses it otherwise
        spatial = tuple(d.int(max(k, 2), 6) for _ in range(n))
        return (lambda name: lambda nn: getattr(nn, name)(cin, cout, k, **kw)), [
            _f(d, (d.int(1, 2), cin) + spatial)]
    return ModCase(build)


def _pool(name_args):
    def build(d):
        a = name_args(d)
        return (lambda name: lambda nn: getattr(nn, name)(*a)), [
            d.array((1, 2, d.int(3, 6), d.int(3, 6)), F32, "distinct")]
    return ModCase(build)


def _batchnorm(extra_dims):
    def build(d):
        c = d.int(1, 3)
        k = {"affine": d.bool(), "momentum": d.choice([0.1, 0.5, None]), "bias": d.bool(),
             "track_running_stats": d.bool()}
        return (lambda name: lambda nn: getattr(nn, name)(c, **k)), [
            _f(d, (d.int(2, 4), c) + tuple(d.int(1, 3) for _ in range(extra_dims)))]
    return ModCase(build, train=True)


def _embedding(d):
    n, dim = d.int(1, 5), d.int(1, 3)
    k = {"padding_idx": d.choice([None, 0]), "max_norm": d.choice([None, 0.5, 1.0]),
         "norm_type": d.choice([1.0, 2.0, 3.0])}
    return (lambda name: lambda nn: nn.Embedding(n, dim, **k)), [
        d.array((d.int(1, 3), d.int(1, 3)), "int64", f"int:0:{n}")]


def _sequential(d):
    return (lambda name: lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))), [
        _f(d, (d.int(1, 3), 3))]


def _module_list(d):
    return (lambda name: lambda nn: _Apply(nn, nn.ModuleList([nn.Linear(2, 2), nn.Tanh()]))), [
        _f(d, (2, 2))]


def _module_dict(d):
    return (lambda name: lambda nn: _Apply(nn, nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.Sigmoid()}))), [
        _f(d, (2, 2))]


def _Apply(nn, container):
    """A module that runs the container's modules in order (ModuleList/Dict have no forward)."""
    class Apply(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = container

        def forward(self, x):
            for m in (self.body.values() if hasattr(self.body, "values") else self.body):
                x = m(x)
            return x
    return Apply()


MODULES = {
    "nn.Linear": ModCase(lambda d: (lambda i, o, b: ((lambda name: lambda nn: nn.Linear(i, o, bias=b)),
                                                    [_f(d, d.shape(max_dims=2) + (i,))]))(
        d.int(1, 4), d.int(1, 4), d.bool())),
    "nn.Identity": _plain(), "nn.ReLU": _plain(), "nn.Sigmoid": _plain(), "nn.Tanh": _plain(),
    "nn.GELU": _plain(lambda d: ((), {"approximate": d.choice(["none", "tanh"])})),
    "nn.ELU": _plain(lambda d: ((d.choice([1.0, 0.3]),), {})),
    "nn.LeakyReLU": _plain(lambda d: ((d.choice([0.01, 0.2]),), {})),
    "nn.Softplus": _plain(lambda d: ((), {"beta": d.choice([1.0, 2.0])})),
    "nn.SiLU": _plain(), "nn.Mish": _plain(), "nn.LogSigmoid": _plain(),
    "nn.Softmax": _plain(lambda d: ((), {"dim": -1}), shape=lambda d: d.shape(min_dims=1)),
    "nn.LogSoftmax": _plain(lambda d: ((), {"dim": -1}), shape=lambda d: d.shape(min_dims=1)),
    "nn.Flatten": _plain(shape=lambda d: d.shape(min_dims=2)),
    "nn.Dropout": _plain(lambda d: ((d.choice([0.0, 0.5]),), {})),       # eval: the identity
    "nn.Dropout2d": _plain(lambda d: ((0.5,), {}), shape=lambda d: (2, 3, 2, 2)),
    "nn.LayerNorm": ModCase(lambda d: (lambda x: ((lambda name: lambda nn: nn.LayerNorm(
        x.shape[-1], elementwise_affine=True)), [x]))(_f(d, d.shape(min_dims=1, min_side=1)))),
    "nn.BatchNorm1d": _batchnorm(0), "nn.BatchNorm2d": _batchnorm(2),
    "nn.Embedding": ModCase(_embedding),
    "nn.Conv1d": _conv(1), "nn.Conv2d": _conv(2),
    "nn.MaxPool2d": _pool(lambda d: (d.choice([2, 3]), d.choice([None, 1]))),
    "nn.AvgPool2d": _pool(lambda d: (d.choice([2, 3]), d.choice([None, 1]))),
    "nn.AdaptiveAvgPool2d": _pool(lambda d: (d.choice([1, 2, (2, 1)]),)),
    "nn.MSELoss": _loss(), "nn.L1Loss": _loss(), "nn.SmoothL1Loss": _loss(), "nn.HuberLoss": _loss(),
    "nn.BCELoss": _loss("unit", "unit"), "nn.BCEWithLogitsLoss": _loss("real", "unit"),
    "nn.KLDivLoss": _loss("real", "unit"),
    "nn.CrossEntropyLoss": _classification(False), "nn.NLLLoss": _classification(True),
    "nn.RNN": _recurrent(False), "nn.GRU": _recurrent(False), "nn.LSTM": _recurrent(False, proj=True),
    "nn.RNNCell": _recurrent(True), "nn.GRUCell": _recurrent(True), "nn.LSTMCell": _recurrent(True),
    "nn.Sequential": ModCase(_sequential), "nn.ModuleList": ModCase(_module_list),
    "nn.ModuleDict": ModCase(_module_dict), "nn.Module": ModCase(_module_list),
}


def check_module(name, spec, d):
    make, inputs = spec.build(d)
    make = make(name)
    try:
        tm = make(torch.nn)
    except Exception as e:             # noqa: BLE001 - torch refusing is the oracle's answer
        expected = oracle._builtin_class(e)
        try:
            make(cg.nn)
        except Exception as mine:      # noqa: BLE001
            assert oracle._catchable(mine, expected), f"torch {e!r}, compgraph {mine!r}"
            return
        raise AssertionError(f"torch refuses the constructor ({e}); compgraph builds it") from None
    cm = make(cg.nn)
    t_state = tm.state_dict()
    assert sorted(cm.state_dict()) == sorted(t_state), (
        f"state_dict keys {sorted(cm.state_dict())}, torch {sorted(t_state)}")
    cm.load_state_dict({k: cg.tensor(v.detach().numpy().copy()) for k, v in t_state.items()})
    tm.train(spec.train)
    cm.train(spec.train)
    modules = {True: tm, False: cm}
    oracle.check(lambda side, *x: modules[side.is_torch](*x), inputs, {}, grad=spec.grad,
                 tol=spec.tol, grad_tol=spec.grad_tol, post=spec.post, seed=d.int(0, 1000),
                 params=(list(tm.named_parameters()), list(cm.named_parameters())))
    after = cm.state_dict()
    for k, v in tm.state_dict().items():
        oracle.compare_values(f"state {k} after the call", after[k], v)


# --- the modules merged from pt-ops and pt-nn ---------------------------------------------

def _conv_nd(name, n, transpose=False):
    def build(d):
        cin, cout, k = d.int(1, 2), d.int(1, 3), d.int(1, 3)
        kw = {"stride": d.choice([1, 2]), "padding": d.choice([0, 1]) if k > 1 else 0,
              "bias": d.bool()}
        lo = 1 if transpose else k
        spatial = tuple(d.int(lo, 4 if n == 3 else 6) for _ in range(n))
        return (lambda _: lambda nn: getattr(nn, name)(cin, cout, k, **kw)), [
            _f(d, (d.int(1, 2), cin) + spatial)]
    return ModCase(build)


def _unpool(d):
    def make(nn):
        class PoolUnpool(nn.Module):
            def __init__(self):
                super().__init__()
                self.pool, self.unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)

            def forward(self, x):
                return self.unpool(*self.pool(x))
        return PoolUnpool()
    return (lambda _: make), [d.array((1, 2, d.int(2, 6), d.int(2, 6)), F32, "distinct")]


def _attention(d):
    e, heads = d.choice([(4, 1), (4, 2), (6, 3)])
    k = {"batch_first": d.bool(), "bias": d.bool()}
    x = _f(d, (d.int(1, 3), d.int(1, 3), e))
    return (lambda _: lambda nn: nn.MultiheadAttention(e, heads, dropout=0.0, **k)), [x, x, x]


def _transformer(kind):
    def build(d):
        e, heads, ff = 4, 2, 6
        k = {"dropout": 0.0, "batch_first": True, "norm_first": d.bool()}
        src, tgt = _f(d, (d.int(1, 2), d.int(1, 3), e)), _f(d, (d.int(1, 2), d.int(1, 3), e))
        def make(nn):
            if kind == "enc_layer":
                return nn.TransformerEncoderLayer(e, heads, ff, **k)
            if kind == "dec_layer":
                return nn.TransformerDecoderLayer(e, heads, ff, **k)
            if kind == "enc":
                return nn.TransformerEncoder(nn.TransformerEncoderLayer(e, heads, ff, **k), 2,
                                             enable_nested_tensor=False)
            if kind == "dec":
                return nn.TransformerDecoder(nn.TransformerDecoderLayer(e, heads, ff, **k), 2)
            return nn.Transformer(e, heads, 1, 1, ff, **k)
        inputs = [src] if kind in ("enc_layer", "enc") else [tgt, src] if kind in ("dec_layer", "dec") else [src, tgt]
        if kind in ("dec_layer", "dec") and src.shape[0] != tgt.shape[0]:
            inputs = [tgt, _f(d, (tgt.shape[0], src.shape[1], e))]
        if kind == "full" and src.shape[0] != tgt.shape[0]:
            inputs = [src, _f(d, (src.shape[0], tgt.shape[1], e))]
        return (lambda _: make), inputs
    return ModCase(build, grad_tol=(1e-3, 1e-4), examples=4)


MODULES.update({
    "nn.Conv3d": _conv_nd("Conv3d", 3), "nn.ConvTranspose1d": _conv_nd("ConvTranspose1d", 1, True),
    "nn.ConvTranspose2d": _conv_nd("ConvTranspose2d", 2, True),
    "nn.AvgPool3d": ModCase(lambda d: (lambda k: ((lambda _: lambda nn: nn.AvgPool3d(k)),
                                                  [_f(d, (1, 2, d.int(2, 4), d.int(2, 4), d.int(2, 4)))]))(
        d.choice([1, 2, (1, 2, 2)]))),
    "nn.MaxUnpool2d": ModCase(_unpool),
    "nn.Upsample": _plain(lambda d: ((), {"scale_factor": 2, "mode": d.choice(["nearest", "bilinear", "bicubic"])}),
                          shape=lambda d: (1, 2, d.int(1, 3), d.int(1, 3))),
    "nn.CELU": _plain(lambda d: ((d.choice([1.0, 0.5]),), {})), "nn.SELU": _plain(),
    "nn.Hardtanh": _plain(lambda d: ((d.choice([-1.0, -0.5]), d.choice([1.0, 2.0])), {})),
    "nn.Hardsigmoid": _plain(), "nn.Hardswish": _plain(), "nn.ReLU6": _plain(),
    "nn.Softsign": _plain(),
    "nn.PReLU": _plain(lambda d: ((), {"num_parameters": 1, "init": d.choice([0.25, 0.1])})),
    "nn.Softmin": _plain(lambda d: ((), {"dim": -1}), shape=lambda d: d.shape(min_dims=1)),
    "nn.MultiheadAttention": ModCase(_attention, grad_tol=(1e-3, 1e-4)),
    "nn.TransformerEncoderLayer": _transformer("enc_layer"),
    "nn.TransformerDecoderLayer": _transformer("dec_layer"),
    "nn.TransformerEncoder": _transformer("enc"), "nn.TransformerDecoder": _transformer("dec"),
    "nn.Transformer": _transformer("full"),
})
