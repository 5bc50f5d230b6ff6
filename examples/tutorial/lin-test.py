#!/usr/bin/env python3
"""Print the test error rate of a linear classifier: ./lin-test.py lin-param-1"""
import sys

import numpy as np

import compgraph as cg
import compgraph.io
import mnist

if len(sys.argv) != 2:
    sys.exit(__doc__)

params = cg.io.load(sys.argv[1])
W, b = params["W"], params["b"]

data = mnist.load("test")
errors = 0
for image, label in data:
    g = cg.Graph()
    score = g.add(g.mul(g.var(W), g.var(image)), g.var(b))
    cg.forward(g)
    if np.argmax(score.value) != label:
        errors += 1
print(f"test error rate: {errors / len(data):.4f} ({errors}/{len(data)})")
