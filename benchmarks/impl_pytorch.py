"""The PyTorch peers, written the way users write PyTorch: an nn.Module,
optim.SGD, loss.backward().  These are the reference implementations: the
results table divides every rate by theirs."""

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import workloads as W
from registry import workload_impl


def _set(param, array):
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(array)))


def _numpy(param):
    return param.detach().cpu().numpy().copy()


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


@workload_impl("xor", "pytorch", reference=True)
def xor(quick):
    model = XorNet(W.xor_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.XOR_LR)
    x_np, t_np = W.xor_data()
    inputs, targets = torch.from_numpy(x_np), torch.from_numpy(t_np)
    epochs = W.xor_epochs(quick)

    start = time.perf_counter()
    for _ in range(epochs):
        for i in range(4):
            optimizer.zero_grad()
            y = model(inputs[i])
            loss = 0.5 * ((targets[i] - y) ** 2).sum()
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start

    final = {"W": _numpy(model.hidden.weight), "b": _numpy(model.hidden.bias),
             "W2": _numpy(model.out.weight), "b2": _numpy(model.out.bias)}
    return epochs * 4, seconds, W.xor_check(final)


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


def _train_mlp(x_np, y_np, batch_size, lr):
    model = MLP(W.mlp_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    inputs, labels = torch.from_numpy(x_np), torch.from_numpy(y_np)
    n = len(inputs)

    start = time.perf_counter()
    for s in range(0, n, batch_size):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs[s:s + batch_size]),
                               labels[s:s + batch_size])
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start

    return n, seconds, W.mlp_check(model.final_params())


@workload_impl("mlp-single", "pytorch", reference=True)
def mlp_single(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR)


@workload_impl("mlp-batch", "pytorch", reference=True)
def mlp_batch(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR)


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
        # The workload's LSTM has one bias; nn.LSTM has two (b_ih + b_hh) and
        # SGD would move their sum twice as fast, so b_hh stays zero, frozen.
        _set(self.lstm.bias_hh_l0, np.zeros_like(params["b"]))
        self.lstm.bias_hh_l0.requires_grad_(False)
        _set(self.out.weight, params["Wo"])
        _set(self.out.bias, params["bo"])

    def forward(self, words):
        """words: (length,) for one sentence or (batch, length) padded;
        returns tag scores of shape words.shape + (tags,)."""
        states, _ = self.lstm(self.embed(words))
        return self.out(states)

    def final_params(self):
        return {"E": _numpy(self.embed.weight),
                "Wx": _numpy(self.lstm.weight_ih_l0),
                "Wh": _numpy(self.lstm.weight_hh_l0),
                "b": _numpy(self.lstm.bias_ih_l0) + _numpy(self.lstm.bias_hh_l0),
                "Wo": _numpy(self.out.weight), "bo": _numpy(self.out.bias)}


@workload_impl("rnn-tagger", "pytorch", reference=True)
def rnn_tagger(quick):
    """One graph and one update per sentence."""
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


def _pad_batch(chunk):
    """Padded (words, tags) tensors of shape (batch, longest); padded tags are
    -100, which cross_entropy ignores.  The LSTM runs forward only, so the
    padding after a sentence cannot change its real positions' outputs."""
    longest = max(len(words) for words, _ in chunk)
    words = np.zeros((len(chunk), longest), dtype=np.int64)
    tags = np.full((len(chunk), longest), -100, dtype=np.int64)
    for row, (w, t) in enumerate(chunk):
        words[row, :len(w)] = w
        tags[row, :len(t)] = t
    return torch.from_numpy(words), torch.from_numpy(tags)


@workload_impl("rnn-tagger", "pytorch-padded", check_group="batch32")
def rnn_tagger_padded(quick):
    """The hand-batched reference: 32 sentences per batch, padded and masked;
    the loss is the per-sentence summed loss averaged over the batch, one
    update per batch."""
    model = Tagger(W.rnn_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.RNN_LR)
    sentences = W.rnn_data(quick)

    start = time.perf_counter()
    for s in range(0, len(sentences), W.RNN_BATCH):
        words, tags = _pad_batch(sentences[s:s + W.RNN_BATCH])  # timed, too
        optimizer.zero_grad()
        scores = model(words)
        loss = F.cross_entropy(scores.reshape(-1, W.RNN_TAGS), tags.reshape(-1),
                               ignore_index=-100, reduction="sum") / len(words)
        loss.backward()
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


@workload_impl("cnn", "pytorch", reference=True)
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
