"""The classic MNIST convolutional network in the style of pytorch/examples' mnist (our own
program): conv 1->32 and 32->64 (3x3), max_pool2d, dropout, flatten, two Linear layers,
log_softmax + nll_loss, Adadelta and StepLR, trained 20 steps on both libraries from the
same initial weights. Images are 16x16 (not 28x28) to keep the test fast. Dropout keeps its
place in the network but is deterministic: p = 0 while training, and the final evaluation
runs in eval() with the example's p = 0.25 / 0.5. Float32 throughout; losses within 1e-4."""
import numpy as np

from tests.programs.lockstep import lockstep

SIDE, BATCH = 16, 8
FLAT = 64 * ((SIDE - 4) // 2) ** 2


def build(torch):
    nn = torch.nn
    F = torch.nn.functional

    class Net(nn.Module):
        def __init__(self, p1=0.0, p2=0.0):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(p1)
            self.dropout2 = nn.Dropout(p2)
            self.fc1 = nn.Linear(FLAT, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = self.dropout1(F.max_pool2d(x, 2))
            x = torch.flatten(x, 1)
            x = self.dropout2(F.relu(self.fc1(x)))
            return F.log_softmax(self.fc2(x), dim=1)

    return Net()


def images(n, seed):
    """Digits-like data with a learnable signal: the label picks which band is bright."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    x = rng.random((n, 1, SIDE, SIDE), dtype=np.float32) * 0.3
    for i, label in enumerate(y):
        x[i, 0, label % SIDE, :] += 1.0
    return (x - 0.1307) / 0.3081, y


def train(torch, model, steps):
    F = torch.nn.functional
    x, y = images(BATCH * steps, seed=5)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    model.train()
    losses = []
    for step in range(steps):
        data = torch.tensor(x[step * BATCH:(step + 1) * BATCH])
        target = torch.tensor(y[step * BATCH:(step + 1) * BATCH])
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % 5 == 4:          # an "epoch" is 5 steps here
            scheduler.step()
    return losses


def evaluate(torch, model):
    F = torch.nn.functional
    x, y = images(32, seed=9)
    model.eval()
    with torch.no_grad():
        output = model(torch.tensor(x))
        loss = F.nll_loss(output, torch.tensor(y), reduction="sum").item()
        correct = output.argmax(dim=1, keepdim=True).eq(torch.tensor(y).view(-1, 1)).sum().item()
    return loss / len(y), correct


def test_mnist_cnn_trains_as_in_pytorch():
    import compgraph
    import torch
    _, _, reference, ours = lockstep(build, train, tol=1e-4)
    reference.dropout1.p = ours.dropout1.p = 0.25
    reference.dropout2.p = ours.dropout2.p = 0.5
    (loss_t, correct_t), (loss_c, correct_c) = evaluate(torch, reference), evaluate(compgraph, ours)
    assert abs(loss_t - loss_c) < 1e-4 and correct_t == correct_c
