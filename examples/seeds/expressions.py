"""Seeds 003/004 (Goldberg; the tensors-and-graphs course): small expressions and their
gradients, each printed beside the hand-derived formula."""
import numpy as np

import compgraph as cg

# (a*b+1)*(a*b+2) at a=2, b=1: d/da = b(2ab+3), d/db = a(2ab+3)
a = cg.tensor(2.0, requires_grad=True)
b = cg.tensor(1.0, requires_grad=True)
u = a * b
f = (u + 1) * (u + 2)
f.backward()
print("f", f.item(), "df/da", a.grad.item(), "=", 1 * (2 * 2 + 3), "df/db", b.grad.item(), "=", 2 * (2 * 2 + 3))

# x^T A x: df/dx = (A^T + A) x, df/dA = x x^T
A = cg.tensor([[1., 2.], [3., 4.]], requires_grad=True)
x = cg.tensor([1., -1.], requires_grad=True)
q = x @ A @ x
q.backward()
print("d/dx", x.grad, "=", (A.data.T + A.data).mv(x.data))
print("d/dA", A.grad, "=", cg.outer(x.data, x.data))

# the exercises: x^3 - log x, 1/(1+e^-x), max(0, 1 - y w.x), the SVM objective
x = cg.tensor(2.0, requires_grad=True)
(x ** 3 - cg.log(x)).backward()
print("d/dx x^3 - log x", x.grad.item(), "=", 3 * 4 - 1 / 2)

x = cg.tensor(0.5, requires_grad=True)
s = 1 / (1 + cg.exp(-x))
s.backward()
print("d/dx sigmoid", x.grad.item(), "=", s.item() * (1 - s.item()))

w = cg.tensor([0.5, -0.25], requires_grad=True)
xi, yi = cg.tensor([1., 2.]), 1.0
h = cg.relu(1 - yi * w.dot(xi))             # max(0, 1 - y w.x)
h.backward()
print("d/dw hinge", w.grad, "=", -yi * xi * (1 - yi * float(w.data.dot(xi)) > 0))

# the tensor mode-n product of seed 004: C[m,r,k] = sum_n A[m,n,r] B[n,k]
A3 = cg.tensor(np.arange(24.).reshape(2, 3, 4))
B = cg.tensor(np.ones((3, 5)))
print("mode-1 product shape", cg.tensordot(A3, B, dims=([1], [0])).shape)
