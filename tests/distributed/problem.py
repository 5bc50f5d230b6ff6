"""The small problem every MPI test trains: an MLP on synthetic 3-class data.

Shared by the workers (under mpirun) and by the tests' one-process reference,
so both sides build exactly the same data, model and optimizer.
"""
import numpy as np

import compgraph as torch
import compgraph.nn as nn
from compgraph.data import DataLoader, TensorDataset

N_EXAMPLES = 49      # 6 global batches of 8, then one of a single example: rank 1 gets none
GLOBAL_BATCH = 8     # = 2 ranks x 4
EPOCHS = 2
SEED = 5
LR, MOMENTUM = 0.1, 0.5


def make_data():
    rng = np.random.default_rng(123)
    x = rng.normal(size=(N_EXAMPLES, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    return x, y


def make_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 3))


def make_optimizer(params):
    return torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)


def params_of(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def train_one_process():
    """The reference: one process, DataLoader batches of GLOBAL_BATCH, no MPI involved."""
    x, y = make_data()
    model = make_model(SEED)
    opt = make_optimizer(model.parameters())
    loader = DataLoader(TensorDataset(x, y), batch_size=GLOBAL_BATCH, shuffle=True, seed=SEED)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        loader.set_epoch(epoch)
        for xb, yb in loader:
            opt.zero_grad()
            criterion(model(xb), yb).backward()
            opt.step()
    return params_of(model)
