"""An MLP classifier trained on minibatches, as DyNet's MNIST example (examples/mnist): a
whole minibatch is one batched input (inputTensor(..., batched=True), the batch last),
pickneglogsoftmax_batch gives one loss per example, and their mean is the loss.

The images are synthetic 8x8 "digits" (a class's template plus fixed noise), so that the
example needs no download.

    python examples/dynet/mnist_mlp.py --epochs 5

train(dy, ...) takes the DyNet module as an argument: the same program runs on
compgraph.dynet and on real DyNet, and from the fixed weights of fixed_weights() the two
give the same losses (tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

CLASSES, SIDE = 10, 8


def images(n=96):
    """(x, y): n images of SIDE*SIDE pixels in [0, 1] and their labels, from formulas."""
    px = np.arange(SIDE * SIDE)
    templates = np.array([(np.sin(px * (0.3 + 0.11 * c) + c) + 1) / 2 for c in range(CLASSES)])
    ys = np.array([(k * 7) % CLASSES for k in range(n)])
    noise = 0.25 * np.sin(np.arange(n * px.size) * 2.3).reshape(n, px.size)
    return np.clip(templates[ys] + noise, 0.0, 1.0), ys


def fixed_weights(model, seed=0, scale=0.3):
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 0.77 + seed + k).reshape(p.shape()))


class MLP:
    def __init__(self, dy, model, hidden=32):
        self.dy = dy
        self.W1 = model.add_parameters((hidden, SIDE * SIDE))
        self.b1 = model.add_parameters(hidden)
        self.W2 = model.add_parameters((CLASSES, hidden))
        self.b2 = model.add_parameters(CLASSES)

    def scores(self, x):
        dy = self.dy
        return self.W2 * dy.rectify(self.W1 * x + self.b1) + self.b2

    def minibatch_loss(self, xs, ys):
        dy = self.dy
        x = dy.inputTensor(xs.T, batched=True)        # dims (64,), batch len(ys)
        losses = dy.pickneglogsoftmax_batch(self.scores(x), list(ys))
        return dy.sum_batches(losses) / len(ys)


def train(dy, epochs=2, batch=16, lr=0.5):
    m = dy.ParameterCollection()
    net = MLP(dy, m)
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    xs, ys = images()
    losses = []
    for _ in range(epochs):
        for at in range(0, len(ys), batch):
            dy.renew_cg()
            loss = net.minibatch_loss(xs[at:at + batch], ys[at:at + batch])
            losses.append(loss.value())
            loss.backward()
            trainer.update()
    return losses


def accuracy(dy, net, xs, ys):
    dy.renew_cg()
    scores = net.scores(dy.inputTensor(xs.T, batched=True)).npvalue()
    return float(np.mean(scores.argmax(axis=0) == ys))


def reference_losses(dy):
    return train(dy, epochs=2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses = train(dy, args.epochs)
    print(f"minibatch loss: first {losses[0]:.3f}, last {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
