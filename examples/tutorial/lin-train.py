#!/usr/bin/env python3
"""Train a linear classifier: one epoch of SGD, one example at a time.

    ./lin-train.py --init lin-param-0                # W and b, all zeros
    ./lin-train.py lin-param-0 lin-param-1 > log-1   # epoch 1
    ./lin-train.py lin-param-1 lin-param-2 > log-2   # epoch 2
    ./lin-test.py lin-param-2                        # test error rate

Reads the parameters from the first file and writes the trained ones to the
second; prints each example's loss on stdout.  The data: see mnist.py.
"""
import random
import sys

import numpy as np

import compgraph as cg
import compgraph.io
import mnist

LEARNING_RATE = 0.01

if len(sys.argv) == 3 and sys.argv[1] == "--init":
    cg.io.save({"W": np.zeros((mnist.NUM_CLASSES, 784)), "b": np.zeros(mnist.NUM_CLASSES)},
               sys.argv[2])
    sys.exit()
if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
    sys.exit(__doc__)

params = cg.io.load(sys.argv[1])
W, b = params["W"], params["b"]

data = mnist.load("train")
random.shuffle(data)
for image, label in data:
    # A new graph for each example: build it, run it forward, then backward.
    g = cg.Graph()
    x = g.var(image)
    W_node = g.var(W)
    b_node = g.var(b)
    score = g.add(g.mul(W_node, x), b_node)
    loss = g.cross_entropy(score, g.var(cg.one_hot(label, mnist.NUM_CLASSES)))
    cg.forward(g)
    loss.grad = 1.0
    cg.backward(g)
    # The nodes hold W and b themselves; update them in place.
    W -= LEARNING_RATE * W_node.grad
    b -= LEARNING_RATE * b_node.grad
    print(loss.value)

cg.io.save({"W": W, "b": b}, sys.argv[2])
