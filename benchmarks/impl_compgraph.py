"""compgraph, written as a PyTorch user writes it: the same code as impl_pytorch.py with
`import compgraph as torch`.  The `compgraph-compiled` variants wrap the whole training
step (zero_grad, loss, backward, optimizer step) in compgraph.compile: traced once, then
replayed as generated straight-line code; `compgraph-autobatch` builds one graph per
sentence in the DyNet dialect and lets the executor batch 32 sentences."""

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


def _xor(quick, compiled):
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
    step = torch.compile(train_step) if compiled else train_step

    start = time.perf_counter()
    for _ in range(epochs):
        for x, t in examples:
            step(x, t)
    seconds = time.perf_counter() - start

    final = {"W": _numpy(model.hidden.weight), "b": _numpy(model.hidden.bias),
             "W2": _numpy(model.out.weight), "b2": _numpy(model.out.bias)}
    return epochs * 4, seconds, W.xor_check(final)


@workload_impl("xor", "compgraph")
def xor(quick):
    return _xor(quick, compiled=False)


@workload_impl("xor", "compgraph-compiled")
def xor_compiled(quick):
    return _xor(quick, compiled=True)


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


def _train_mlp(x_np, y_np, batch_size, lr, compiled=False):
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
    step = torch.compile(train_step) if compiled else train_step

    start = time.perf_counter()
    for s in range(0, n, batch_size):
        step(inputs[s:s + batch_size], labels[s:s + batch_size])
    seconds = time.perf_counter() - start

    return n, seconds, W.mlp_check(model.final_params())


@workload_impl("mlp-single", "compgraph")
def mlp_single(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR)


@workload_impl("mlp-single", "compgraph-compiled")
def mlp_single_compiled(quick):
    x, y = W.mlp_single_data(quick)
    return _train_mlp(x, y, 1, W.MLP_SINGLE_LR, compiled=True)


@workload_impl("mlp-batch", "compgraph")
def mlp_batch(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR)


@workload_impl("mlp-batch", "compgraph-compiled")
def mlp_batch_compiled(quick):
    x, y = W.mlp_batch_data(quick)
    return _train_mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR, compiled=True)
