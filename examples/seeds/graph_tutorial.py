"""Seed 002 (the tutorial): the explicit Graph, forward(graph), backward(graph)."""
import numpy

import compgraph as nn
from compgraph import Graph, backward, forward

g = Graph()
a = g.var(1)
b = g.var(2)
c = g.add(a, b)
forward(g)
print(c.value)  # => 3

# one SGD step of the linear classifier on one example, as in lin-train.py
rng = numpy.random.default_rng(0)
param_w = rng.normal(0, 0.01, (784, 10))
param_b = numpy.zeros(10)
img, label = rng.random(784), 7

g = nn.Graph()
w = g.var(param_w)
b = g.var(param_b)
x = g.var(img)
y = g.var(nn.one_hot(label, 10))
score = g.add(g.mul(x, w), b)
loss = g.cross_entropy(score, y)
forward(g)
loss.grad = 1.0
backward(g)
print("loss", loss.value)
param_w -= 0.1 * w.grad
param_b -= 0.1 * b.grad
