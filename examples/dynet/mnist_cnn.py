"""A small convolutional classifier, as the --conv variant of DyNet's autobatching MNIST example
(examples/mnist/mnist-autobatch.py): every image of a minibatch is its own expression
(reshape to H x W x 1, conv2d_bias, rectify, maxpooling2d, twice, reshape to a vector, an
affine layer, pickneglogsoftmax), the minibatch loss is their esum, and autobatching turns
the per-image operations into batched ones.

    python examples/dynet/mnist_cnn.py --steps 100 --autobatch     # Fashion-MNIST
    python examples/dynet/mnist_cnn.py --synthetic --steps 40       # no data needed

The tests run train(dy, ...) on synthetic 8x8 "digits" (a class's template plus fixed noise).
train takes the DyNet module as an argument: the same program runs on compgraph.dynet and on
real DyNet, and from the fixed weights of fixed_weights() the two give the same losses
(tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse
import gzip
import pathlib

import numpy as np

CLASSES = 10
FASHION = "/usr/share/datasets/fashion-mnist"


def synthetic(n=48, side=8):
    """(x, y): n images of side*side pixels in [0, 1] (one row each) and their labels."""
    px = np.arange(side * side)
    templates = np.array([(np.sin(px * (0.3 + 0.13 * c) + c) + 1) / 2 for c in range(CLASSES)])
    ys = np.array([(k * 3) % CLASSES for k in range(n)])
    noise = 0.2 * np.sin(np.arange(n * px.size) * 1.3).reshape(n, px.size)
    return np.clip(templates[ys] + noise, 0.0, 1.0), ys


def fashion_mnist(folder=FASHION, split="train"):
    """(x, y) from the idx files of `folder`: 28*28 pixels in [0, 1] per row, and labels."""
    prefix = "train" if split == "train" else "t10k"
    with gzip.open(pathlib.Path(folder) / f"{prefix}-labels-idx1-ubyte.gz") as f:
        ys = np.frombuffer(f.read(), np.uint8, offset=8).astype(int)
    with gzip.open(pathlib.Path(folder) / f"{prefix}-images-idx3-ubyte.gz") as f:
        xs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(ys), 28 * 28)
    return xs / 255.0, ys


def fixed_weights(model, seed=0, scale=0.3):
    """Every parameter from a formula (no generator), in DyNet's parameter order."""
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 0.61 + seed + k).reshape(p.shape()))


class CNN:
    """Two 3x3 'same' convolutions with 2x2 max pooling, then an affine layer to the classes."""

    def __init__(self, dy, model, side, channels=(4, 6)):
        self.dy, self.side = dy, side
        c1, c2 = channels
        self.F1, self.b1 = model.add_parameters((3, 3, 1, c1)), model.add_parameters(c1)
        self.F2, self.b2 = model.add_parameters((3, 3, c1, c2)), model.add_parameters(c2)
        self.flat = (side // 4) * (side // 4) * c2
        self.W, self.b = model.add_parameters((CLASSES, self.flat)), model.add_parameters(CLASSES)

    def scores(self, pixels):
        dy = self.dy
        x = dy.reshape(dy.inputVector(list(pixels)), (self.side, self.side, 1))
        for F, b in ((self.F1, self.b1), (self.F2, self.b2)):
            x = dy.conv2d_bias(x, F, b, [1, 1], is_valid=False)
            x = dy.maxpooling2d(dy.rectify(x), [2, 2], [2, 2])
        return self.W * dy.reshape(x, (self.flat,)) + self.b

    def minibatch_loss(self, xs, ys):
        """The esum of one pickneglogsoftmax per image, divided by the minibatch size."""
        dy = self.dy
        return dy.esum([dy.pickneglogsoftmax(self.scores(x), int(y)) for x, y in zip(xs, ys)]) / len(ys)


def train(dy, xs, ys, steps, batch=8, lr=0.1, autobatch=True):
    side = int(round(np.sqrt(xs.shape[1])))
    m = dy.ParameterCollection()
    net = CNN(dy, m, side)
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    losses = []
    for step in range(steps):
        at = (step * batch) % (len(ys) - batch + 1)
        dy.renew_cg(autobatching=autobatch)
        loss = net.minibatch_loss(xs[at:at + batch], ys[at:at + batch])
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return losses


def reference_losses(dy, autobatch=True):
    xs, ys = synthetic()
    return train(dy, xs, ys, steps=6, autobatch=autobatch)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--autobatch", action="store_true", help="batch the per-image operations")
    ap.add_argument("--data", default=FASHION, help="folder of Fashion-MNIST's idx .gz files")
    ap.add_argument("--synthetic", action="store_true", help="synthetic 8x8 images, no data")
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    xs, ys = synthetic() if args.synthetic else fashion_mnist(args.data)
    losses = train(dy, xs, ys, args.steps, args.batch, args.lr, args.autobatch)
    k = min(10, len(losses))
    print(f"minibatch loss: first {k} steps {np.mean(losses[:k]):.3f}, last {k} {np.mean(losses[-k:]):.3f}")
    return losses


if __name__ == "__main__":
    main()
