"""compgraph, written as a PyTorch user writes it: the same code as impl_pytorch.py with
`import compgraph as torch`.  The `compgraph-compiled` variants wrap the whole training
step (zero_grad, loss, backward, optimizer step) in compgraph.compile: traced once, then
replayed as generated straight-line code; `compgraph-numba` lowers the same step to one
native kernel (compile(backend="numba")).  A compiled variant's first call (trace, code
generation, Numba's compilation) is made before the clock starts, on the workload's first
example, and reported in the table's `first call` column; numba's is also measured in two
fresh processes, one with an empty kernel cache (cold) and one reading the kernel the first
left on disk (warm), see compile_time.py.  `compgraph-autobatch` writes the tagger per
sentence (nn modules, whole-sentence ops) in one autobatched graph of 32 sentences and
lets the executor batch them across lengths; `compgraph-dynet-autobatch` does the same
in the DyNet dialect, word by word."""

import time

import numpy as np

import compgraph as torch
import compgraph.nn as nn
import compgraph.nn.functional as F

import workloads as W
from registry import workload_impl


def _set(param, array):
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _numpy(param):
    return param.detach().numpy().copy()


# ---------------------------------------------------------------- xor ----

class XorNet(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.hidden = nn.Linear(2, 2)
        self.out = nn.Linear(2, 1)
        _set(self.hidden.weight, params["W"])
        _set(self.hidden.bias, params["b"])
        _set(self.out.weight, params["W2"])
        _set(self.out.bias, params["b2"])

    def forward(self, x):
        return torch.sigmoid(self.out(torch.sigmoid(self.hidden(x))))


def _compiled(fn, backend):
    """The compiled step, or fn itself for the eager variants."""
    if backend is None:
        return fn
    return torch.compile(fn) if backend == "numpy" else torch.compile(fn, backend=backend)


def _first_call(step, args, backend):
    """Make the first (tracing, compiling) call outside the timed part; its seconds, or None
    for eager code (whose first call is timed like every other)."""
    if backend is None:
        return None
    start = time.perf_counter()
    step(*args)
    return time.perf_counter() - start


def _extra(first, backend, workload):
    if first is None:
        return None
    extra = {"first call": f"{first * 1e3:,.0f} ms"}
    if backend == "numba":
        from compile_time import numba_compile_seconds
        cold, warm = numba_compile_seconds(workload)
        extra["first call"] += f" (new process: cold cache {cold:.2f} s, warm {warm:.2f} s)"
    return extra


def _xor(quick, backend):
    model = XorNet(W.xor_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.XOR_LR)
    x_np, t_np = W.xor_data()
    inputs, targets = torch.from_numpy(x_np), torch.from_numpy(t_np)
    examples = [(inputs[i], targets[i]) for i in range(4)]
    epochs = W.xor_epochs(quick)

    def train_step(x, t):
        optimizer.zero_grad()
        loss = 0.5 * ((t - model(x)) ** 2).sum()
        loss.backward()
        optimizer.step()
        return loss
    step = _compiled(train_step, backend)
    order = [example for _ in range(epochs) for example in examples]
    first = _first_call(step, order[0], backend)
    timed = order[1:] if first is not None else order

    start = time.perf_counter()
    for x, t in timed:
        step(x, t)
    seconds = time.perf_counter() - start

    final = {"W": _numpy(model.hidden.weight), "b": _numpy(model.hidden.bias),
             "W2": _numpy(model.out.weight), "b2": _numpy(model.out.bias)}
    return len(timed), seconds, W.xor_check(final), _extra(first, backend, "xor")


@workload_impl("xor", "compgraph")
def xor(quick):
    return _xor(quick, None)


@workload_impl("xor", "compgraph-compiled")
def xor_compiled(quick):
    return _xor(quick, "numpy")


@workload_impl("xor", "compgraph-numba")
def xor_numba(quick):
    return _xor(quick, "numba")


# ---------------------------------------------------------------- mlp ----

class MLP(nn.Module):
    def __init__(self, params):
        super().__init__()
        n_in, n_hidden, n_out = W.MLP_SIZES
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)
        _set(self.hidden.weight, params["W1"])
        _set(self.hidden.bias, params["b1"])
        _set(self.out.weight, params["W2"])
        _set(self.out.bias, params["b2"])

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))

    def final_params(self):
        return {"W1": _numpy(self.hidden.weight), "b1": _numpy(self.hidden.bias),
                "W2": _numpy(self.out.weight), "b2": _numpy(self.out.bias)}


def _train_mlp(x_np, y_np, batch_size, lr, backend=None, workload=None):
    model = MLP(W.mlp_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    inputs, labels = torch.from_numpy(x_np), torch.from_numpy(y_np)
    n = len(inputs)

    def train_step(x, t):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        optimizer.step()
        return loss
    step = _compiled(train_step, backend)
    first = _first_call(step, (inputs[:batch_size], labels[:batch_size]), backend)
    begin = 0 if first is None else batch_size

    start = time.perf_counter()
    for s in range(begin, n, batch_size):
        step(inputs[s:s + batch_size], labels[s:s + batch_size])
    seconds = time.perf_counter() - start

    return n - begin, seconds, W.mlp_check(model.final_params()), _extra(first, backend, workload)


@workload_impl("mlp-single", "compgraph")
def mlp_single(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR)


@workload_impl("mlp-single", "compgraph-compiled")
def mlp_single_compiled(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR, "numpy")


@workload_impl("mlp-single", "compgraph-numba")
def mlp_single_numba(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR, "numba", "mlp-single")


@workload_impl("mlp-batch", "compgraph")
def mlp_batch(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR)


@workload_impl("mlp-batch", "compgraph-compiled")
def mlp_batch_compiled(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR, "numpy")


@workload_impl("mlp-batch", "compgraph-numba")
def mlp_batch_numba(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR, "numba", "mlp-batch")


# --------------------------------------------------------- rnn-tagger ----

class Tagger(nn.Module):
    def __init__(self, params):
        super().__init__()
        self.embed = nn.Embedding(W.RNN_VOCAB, W.RNN_EMBED)
        self.lstm = nn.LSTM(W.RNN_EMBED, W.RNN_HIDDEN, batch_first=True)
        self.out = nn.Linear(W.RNN_HIDDEN, W.RNN_TAGS)
        _set(self.embed.weight, params["E"])
        _set(self.lstm.weight_ih_l0, params["Wx"])
        _set(self.lstm.weight_hh_l0, params["Wh"])
        _set(self.lstm.bias_ih_l0, params["b"])
        # one bias in the workload, two in nn.LSTM: the second stays zero and frozen
        _set(self.lstm.bias_hh_l0, np.zeros_like(params["b"]))
        self.lstm.bias_hh_l0.requires_grad_(False)
        _set(self.out.weight, params["Wo"])
        _set(self.out.bias, params["bo"])

    def forward(self, words):
        states, _ = self.lstm(self.embed(words))
        return self.out(states)

    def final_params(self):
        return {"E": _numpy(self.embed.weight),
                "Wx": _numpy(self.lstm.weight_ih_l0),
                "Wh": _numpy(self.lstm.weight_hh_l0),
                "b": _numpy(self.lstm.bias_ih_l0) + _numpy(self.lstm.bias_hh_l0),
                "Wo": _numpy(self.out.weight), "bo": _numpy(self.out.bias)}


@workload_impl("rnn-tagger", "compgraph")
def rnn_tagger(quick):
    """One graph and one update per sentence, written exactly as the PyTorch peer."""
    model = Tagger(W.rnn_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.RNN_LR)
    sentences = [(torch.from_numpy(words), torch.from_numpy(tags))
                 for words, tags in W.rnn_data(quick)]

    start = time.perf_counter()
    for words, tags in sentences:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(words), tags, reduction="sum")
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start

    return len(sentences), seconds, W.rnn_check(model.final_params())


# The DyNet dialect: DyNet's LSTM gate order is i, f, o, g; the workload's is i, f, g, o.
_H = W.RNN_HIDDEN
_TO_DYNET = np.r_[0:2 * _H, 3 * _H:4 * _H, 2 * _H:3 * _H]
_FROM_DYNET = np.argsort(_TO_DYNET)


def _dynet_model():
    import compgraph.dynet as dy
    p = W.rnn_init()
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((W.RNN_VOCAB, W.RNN_EMBED))
    E.init_from_array(p["E"])
    lstm = dy.LSTMBuilder(1, W.RNN_EMBED, W.RNN_HIDDEN, m, forget_bias=0.0)
    (Wx, Wh, b), = lstm.get_parameters()
    Wx.set_value(p["Wx"][_TO_DYNET])
    Wh.set_value(p["Wh"][_TO_DYNET])
    b.set_value(p["b"][_TO_DYNET])
    Wo = m.add_parameters((W.RNN_TAGS, _H))
    Wo.set_value(p["Wo"])
    bo = m.add_parameters(W.RNN_TAGS)
    bo.set_value(p["bo"])
    return dy, m, E, lstm, Wo, bo


def _dynet_tagger(quick, batch, autobatch):
    """DyNet code as its users write it: a new graph per update, losses built per sentence;
    with autobatch the executor batches the 32 sentences' graphs, with no padding or masks.
    A batch's loss is the mean of its sentences' summed losses, as in pytorch-padded."""
    dy, m, E, lstm, Wo, bo = _dynet_model()
    trainer = dy.SimpleSGDTrainer(m, learning_rate=W.RNN_LR)
    trainer.set_clip_threshold(0)          # DyNet clips at norm 5 by default; PyTorch does not
    sentences = W.rnn_data(quick)

    def sentence_loss(words, tags):
        states = lstm.initial_state().transduce([E[int(w)] for w in words])
        return dy.esum([dy.pickneglogsoftmax(Wo * h + bo, int(t)) for h, t in zip(states, tags)])

    start = time.perf_counter()
    for s in range(0, len(sentences), batch):
        dy.renew_cg(autobatching=autobatch)
        losses = [sentence_loss(w, t) for w, t in sentences[s:s + batch]]
        loss = dy.average(losses) if len(losses) > 1 else losses[0]
        loss.value()
        loss.backward()
        trainer.update()
    seconds = time.perf_counter() - start

    (Wx, Wh, b), = lstm.get_parameters()
    final = {"E": E.as_array(), "Wx": Wx.as_array()[_FROM_DYNET], "Wh": Wh.as_array()[_FROM_DYNET],
             "b": b.as_array()[_FROM_DYNET], "Wo": Wo.as_array(), "bo": bo.as_array()}
    return len(sentences), seconds, W.rnn_check(final)


@workload_impl("rnn-tagger", "compgraph-dynet")
def rnn_tagger_dynet(quick):
    return _dynet_tagger(quick, 1, autobatch=False)


@workload_impl("rnn-tagger", "compgraph-dynet-autobatch", check_group="batch32")
def rnn_tagger_dynet_autobatch(quick):
    return _dynet_tagger(quick, W.RNN_BATCH, autobatch=True)


@workload_impl("rnn-tagger", "compgraph-autobatch", check_group="batch32")
def rnn_tagger_autobatch(quick):
    """The per-sentence Tagger code, 32 sentences in one autobatched graph: the executor
    batches sentences of different lengths (ragged batches: one gather, one GEMM per
    linear layer, one packed LSTM), with no padding or masks written by the user.  The
    loss is the mean of the sentences' summed losses, as in pytorch-padded."""
    model = Tagger(W.rnn_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.RNN_LR)
    sentences = W.rnn_data(quick)

    def sentence_loss(g, words, tags):
        states, _ = model.lstm(g.lookup(model.embed.weight, words))
        return F.cross_entropy(model.out(states), torch.from_numpy(tags), reduction="sum")

    start = time.perf_counter()
    for s in range(0, len(sentences), W.RNN_BATCH):
        optimizer.zero_grad()
        with torch.autobatch() as g:
            loss = torch.stack([sentence_loss(g, w, t) for w, t in sentences[s:s + W.RNN_BATCH]])
            loss = loss.mean()
        g.backward(loss)
        optimizer.step()
    seconds = time.perf_counter() - start

    return len(sentences), seconds, W.rnn_check(model.final_params())


# ---------------------------------------------------------------- cnn ----

class CNN(nn.Module):
    def __init__(self, params):
        super().__init__()
        c0, c1, c2 = W.CNN_CHANNELS
        pad = W.CNN_KERNEL // 2
        self.conv1 = nn.Conv2d(c0, c1, W.CNN_KERNEL, padding=pad)
        self.conv2 = nn.Conv2d(c1, c2, W.CNN_KERNEL, padding=pad)
        self.hidden = nn.Linear(c2 * 7 * 7, W.CNN_DENSE)
        self.out = nn.Linear(W.CNN_DENSE, 10)
        for layer, w, b in ((self.conv1, "K1", "c1"), (self.conv2, "K2", "c2"),
                            (self.hidden, "W1", "b1"), (self.out, "W2", "b2")):
            _set(layer.weight, params[w])
            _set(layer.bias, params[b])

    def forward(self, x):
        x = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
        x = F.max_pool2d(torch.tanh(self.conv2(x)), 2)
        return self.out(torch.tanh(self.hidden(x.flatten(1))))

    def final_params(self):
        return {"K1": _numpy(self.conv1.weight), "c1": _numpy(self.conv1.bias),
                "K2": _numpy(self.conv2.weight), "c2": _numpy(self.conv2.bias),
                "W1": _numpy(self.hidden.weight), "b1": _numpy(self.hidden.bias),
                "W2": _numpy(self.out.weight), "b2": _numpy(self.out.bias)}


@workload_impl("cnn", "compgraph")
def cnn(quick):
    x_np, y_np = W.cnn_data(quick)
    model = CNN(W.cnn_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.CNN_LR)
    inputs, labels = torch.from_numpy(x_np), torch.from_numpy(y_np)
    n, batch = len(inputs), W.CNN_BATCH

    start = time.perf_counter()
    for s in range(0, n, batch):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs[s:s + batch]), labels[s:s + batch])
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start

    return n, seconds, W.cnn_check(model.final_params())
