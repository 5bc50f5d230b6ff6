#!/usr/bin/env python3
"""Train a two-layer perceptron: one epoch of SGD, one example at a time.

    ./mlp-train.py --init mlp-param-0 [HIDDEN]       # random start, HIDDEN units (100)
    ./mlp-train.py mlp-param-0 mlp-param-1 > log-1   # epoch 1
    ./mlp-test.py mlp-param-1                        # test error rate

The model: h = logistic(W1 x + b1), score = W2 h + b2.  Reads the parameters
from the first file, writes the trained ones to the second, and prints each
example's loss on stdout.  The data: see mnist.py.
"""
import random
import sys

import numpy as np

import compgraph as cg
import compgraph.io
import mnist

LEARNING_RATE = 0.1
DEFAULT_HIDDEN = 100


def init(hidden):
    # Uniform in +-sqrt(6 / (fan_in + fan_out)) (Glorot): with all-zero weights
    # every hidden unit would get the same gradient and stay identical.
    rng = np.random.default_rng()

    def glorot(rows, cols):
        bound = np.sqrt(6.0 / (rows + cols))
        return rng.uniform(-bound, bound, size=(rows, cols))

    return {"W1": glorot(hidden, 784), "b1": np.zeros(hidden),
            "W2": glorot(mnist.NUM_CLASSES, hidden), "b2": np.zeros(mnist.NUM_CLASSES)}


if len(sys.argv) in (3, 4) and sys.argv[1] == "--init":
    cg.io.save(init(int(sys.argv[3]) if len(sys.argv) == 4 else DEFAULT_HIDDEN), sys.argv[2])
    sys.exit()
if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
    sys.exit(__doc__)

params = cg.io.load(sys.argv[1])

data = mnist.load("train")
random.shuffle(data)
for image, label in data:
    g = cg.Graph()
    node = {name: g.var(value) for name, value in params.items()}
    x = g.var(image)
    h = g.logistic(g.add(g.mul(node["W1"], x), node["b1"]))
    score = g.add(g.mul(node["W2"], h), node["b2"])
    loss = g.cross_entropy(score, g.var(cg.one_hot(label, mnist.NUM_CLASSES)))
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    for name, value in params.items():
        value -= LEARNING_RATE * node[name].grad
    print(loss.value)

cg.io.save(params, sys.argv[2])
