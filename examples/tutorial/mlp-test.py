#!/usr/bin/env python3
"""Print the test error rate of a two-layer perceptron: ./mlp-test.py mlp-param-1"""
import sys

import numpy as np

import compgraph as cg
import compgraph.io
import mnist

if len(sys.argv) != 2:
    sys.exit(__doc__)

params = cg.io.load(sys.argv[1])

data = mnist.load("test")
errors = 0
for image, label in data:
    g = cg.Graph()
    node = {name: g.var(value) for name, value in params.items()}
    h = g.logistic(g.add(g.mul(node["W1"], g.var(image)), node["b1"]))
    score = g.add(g.mul(node["W2"], h), node["b2"])
    cg.forward(g)
    if np.argmax(score.value) != label:
        errors += 1
print(f"test error rate: {errors / len(data):.4f} ({errors}/{len(data)})")
