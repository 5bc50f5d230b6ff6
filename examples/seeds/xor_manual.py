"""Seed 000 (Koehn, Computation Graphs): the XOR network with manual updates.

Runs as written in the lecture; only the import line differs.
"""
import compgraph as torch

W = torch.tensor([[3, 4], [2, 3]], requires_grad=True, dtype=torch.float)
b = torch.tensor([-2, -4], requires_grad=True, dtype=torch.float)
W2 = torch.tensor([5, -5], requires_grad=True, dtype=torch.float)
b2 = torch.tensor([-2], requires_grad=True, dtype=torch.float)

x = torch.tensor([1, 0], dtype=torch.float)
t = torch.tensor([1], dtype=torch.float)

s = W.mv(x) + b
h = torch.nn.Sigmoid()(s)
z = torch.dot(W2, h) + b2
y = torch.nn.Sigmoid()(z)
error = 1/2 * (t - y) ** 2
error.backward()
print("W2.grad", W2.grad)          # the slide: tensor([-0.0360, -0.0059])
W.grad.data.zero_(); b.grad.data.zero_(); W2.grad.data.zero_(); b2.grad.data.zero_()

training_data = [
    [torch.tensor([0., 0.]), torch.tensor([0.])],
    [torch.tensor([1., 0.]), torch.tensor([1.])],
    [torch.tensor([0., 1.]), torch.tensor([1.])],
    [torch.tensor([1., 1.]), torch.tensor([0.])]]

mu = 0.1
for epoch in range(1000):
    total_error = 0
    for item in training_data:
        x = item[0]
        t = item[1]
        # forward computation
        s = W.mv(x) + b
        h = torch.nn.Sigmoid()(s)
        z = torch.dot(W2, h) + b2
        y = torch.nn.Sigmoid()(z)
        error = 1/2 * (t - y) ** 2
        total_error = total_error + error
        # backward computation
        error.backward()
        # weight updates
        W.data = W - mu * W.grad.data
        b.data = b - mu * b.grad.data
        W2.data = W2 - mu * W2.grad.data
        b2.data = b2 - mu * b2.grad.data
        W.grad.data.zero_()
        b.grad.data.zero_()
        W2.grad.data.zero_()
        b2.grad.data.zero_()
    if epoch % 100 == 0 or epoch == 999:
        print("error: ", total_error/4)
