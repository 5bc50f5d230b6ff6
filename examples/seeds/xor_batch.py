"""Seed 000: the XOR network trained on the whole batch (x.mm(W), h.mv(W2), error.mean())."""
import compgraph as torch

W = torch.tensor([[3, 4], [2, 3]], requires_grad=True, dtype=torch.float)
b = torch.tensor([-2, -4], requires_grad=True, dtype=torch.float)
W2 = torch.tensor([5, -5], requires_grad=True, dtype=torch.float)
b2 = torch.tensor([-2], requires_grad=True, dtype=torch.float)

x = torch.tensor([[0., 0.], [1., 0.], [0., 1.], [1., 1.]])
t = torch.tensor([0., 1., 1., 0.])

mu = 0.1
for epoch in range(1000):
    s = x.mm(W) + b
    h = torch.nn.Sigmoid()(s)
    z = h.mv(W2) + b2
    y = torch.nn.Sigmoid()(z)
    error = 1/2 * (t - y) ** 2
    mean_error = error.mean()
    mean_error.backward()
    W.data = W - mu * W.grad.data
    b.data = b - mu * b.grad.data
    W2.data = W2 - mu * W2.grad.data
    b2.data = b2 - mu * b2.grad.data
    W.grad.data.zero_()
    b.grad.data.zero_()
    W2.grad.data.zero_()
    b2.grad.data.zero_()
    if epoch % 100 == 0 or epoch == 999:
        print("error: ", mean_error.data)
