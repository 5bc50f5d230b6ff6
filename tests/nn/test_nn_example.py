"""The lecture's XOR program, unchanged, with `import compgraph as torch`."""
import numpy as np

import compgraph.nn  # noqa: F401  (makes compgraph.nn an attribute until compgraph imports it)
import compgraph.optim  # noqa: F401
import compgraph as torch


class ExampleNet(torch.nn.Module):
    def __init__(self):
        super(ExampleNet, self).__init__()
        self.layer1 = torch.nn.Linear(2, 2)
        self.layer2 = torch.nn.Linear(2, 1)
        self.layer1.weight = torch.nn.Parameter(torch.tensor([[3., 2.], [4., 3.]]))
        self.layer1.bias = torch.nn.Parameter(torch.tensor([-2., -4.]))
        self.layer2.weight = torch.nn.Parameter(torch.tensor([[5., -5.]]))
        self.layer2.bias = torch.nn.Parameter(torch.tensor([-2.]))

    def forward(self, x):
        s = self.layer1(x)
        h = torch.nn.Sigmoid()(s)
        z = self.layer2(h)
        y = torch.nn.Sigmoid()(z)
        return y


X = [[0., 0.], [1., 0.], [0., 1.], [1., 1.]]
T = [0., 1., 1., 0.]


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_training_loop_runs_unchanged_and_error_decreases():
    net = ExampleNet()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.tensor(X)
    t = torch.tensor(T)
    errors = []
    for iteration in range(1000):
        optimizer.zero_grad()
        out = net.forward(x)
        error = 1 / 2 * (t - out) ** 2
        mean_error = error.mean()
        mean_error.backward()
        optimizer.step()
        errors.append(mean_error.item())
    # (t - out) broadcasts (4,) against (4, 1) to (4, 4), as in PyTorch; PyTorch 2.13 gives
    # 0.16560607 at the start and 0.12643284 after 999 updates for this program
    assert out.shape == (4, 1) and error.shape == (4, 4)
    assert abs(errors[0] - 0.1656061) < 1e-6
    assert errors[-1] < 0.1265
    assert all(b <= a + 1e-7 for a, b in zip(errors, errors[1:]))


def test_one_step_equals_the_hand_computed_sgd_update():
    net = ExampleNet()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = np.array(X)
    t = np.array(T)
    W1, b1 = np.array([[3., 2.], [4., 3.]]), np.array([-2., -4.])
    W2, b2 = np.array([[5., -5.]]), np.array([-2.])
    # forward and backward by hand (float64), for E = mean over the 4x4 broadcast errors
    h = _sigmoid(x @ W1.T + b1)                      # (4, 2)
    y = _sigmoid(h @ W2.T + b2)                      # (4, 1)
    dE_dy = ((y - t[None, :]) / 16).sum(axis=1, keepdims=True)   # d mean(1/2 (t - y)^2)
    dz = dE_dy * y * (1 - y)
    gW2, gb2 = dz.T @ h, dz.sum(0)
    ds = (dz @ W2) * h * (1 - h)
    gW1, gb1 = ds.T @ x, ds.sum(0)

    optimizer.zero_grad()
    (1 / 2 * (torch.tensor(T) - net(torch.tensor(X))) ** 2).mean().backward()
    optimizer.step()
    for p, expected in [(net.layer1.weight, W1 - 0.1 * gW1), (net.layer1.bias, b1 - 0.1 * gb1),
                        (net.layer2.weight, W2 - 0.1 * gW2), (net.layer2.bias, b2 - 0.1 * gb2)]:
        np.testing.assert_allclose(p._value, expected, rtol=1e-5, atol=1e-6)
