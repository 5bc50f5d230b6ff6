"""The models ``compgraph train`` knows, built from compgraph.nn layers.

Every model takes images as a float32 batch N x 1 x 28 x 28 (pixels scaled
to [0, 1]) and returns N x 10 class scores (logits), so the training loop,
evaluation and ``compgraph graph`` treat them alike.
"""

from __future__ import annotations

import compgraph.nn as nn

__all__ = ["MODELS", "ACTIVATIONS", "IMAGE_SHAPE", "NUM_CLASSES", "DEFAULT_HIDDEN",
           "DEFAULT_ACTIVATION", "build_model"]

IMAGE_SHAPE = (1, 28, 28)
NUM_CLASSES = 10
PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]

MODELS = ("linear", "mlp", "cnn")
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}

# mlp: one hidden layer of 256 (784-256-10).
DEFAULT_HIDDEN = (256,)
DEFAULT_ACTIVATION = "tanh"

# cnn: channels of its two conv+pool stages, their kernel, the width of its dense
# layer.  Small because conv2d is the costly op on a CPU: per batch, 5x5 kernels
# cost ~2x what 3x3 do and (32, 64) channels ~2x what (16, 32) do, while this
# size already reaches 8.7% test error on Fashion-MNIST in 10 epochs.
CNN_CHANNELS = (16, 32)
CNN_KERNEL = 3
CNN_DENSE = 128


def build_model(name: str, hidden=DEFAULT_HIDDEN, activation: str = DEFAULT_ACTIVATION) -> nn.Module:
    """A freshly initialised model (initial values come from compgraph's seeded RNG)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    if name == "linear":
        return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, NUM_CLASSES))
    if name == "mlp":
        return _mlp(tuple(hidden), ACTIVATIONS[activation])
    if name == "cnn":
        return _cnn(ACTIVATIONS[activation])
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")


def _mlp(hidden: tuple[int, ...], activation) -> nn.Module:
    layers = [nn.Flatten()]
    width = PIXELS
    for size in hidden:
        layers += [nn.Linear(width, size), activation()]
        width = size
    layers.append(nn.Linear(width, NUM_CLASSES))
    return nn.Sequential(*layers)


def _cnn(activation) -> nn.Module:
    # padding keeps 28x28 through each conv, so two 2x2 pools give 7x7.
    c1, c2 = CNN_CHANNELS
    pad = CNN_KERNEL // 2
    side = IMAGE_SHAPE[1] // 4
    return nn.Sequential(
        nn.Conv2d(IMAGE_SHAPE[0], c1, CNN_KERNEL, padding=pad), activation(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, CNN_KERNEL, padding=pad), activation(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * side * side, CNN_DENSE), activation(),
        nn.Linear(CNN_DENSE, NUM_CLASSES),
    )
