"""XOR with a two-layer perceptron, as DyNet's first example (examples/xor in DyNet).

    python examples/dynet/xor.py --steps 200

train(dy, ...) takes the DyNet module as an argument, so the same program runs on
compgraph.dynet and on real DyNet; from the fixed initial weights of `fixed_weights`
the two give the same losses (tests/dynet/test_examples.py, against the losses real DyNet
recorded in tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

DATA = [((0, 0), 0), ((0, 1), 1), ((1, 0), 1), ((1, 1), 0)]


def fixed_weights(model, seed=0, scale=0.8):
    """Every parameter from a formula (no generator), in DyNet's parameter order."""
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 1.7 + seed + k).reshape(p.shape()))


def train(dy, steps=30, hidden=8, lr=0.1):
    m = dy.ParameterCollection()
    W = m.add_parameters((hidden, 2))
    b = m.add_parameters(hidden)
    V = m.add_parameters((1, hidden))
    a = m.add_parameters(1)
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    losses = []
    for step in range(steps):
        (x1, x2), y = DATA[step % 4]
        dy.renew_cg()
        x = dy.inputVector([x1, x2])
        h = dy.tanh(W * x + b)
        p = dy.logistic(V * h + a)
        loss = dy.binary_log_loss(p, dy.scalarInput(y))
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return losses


def reference_losses(dy):
    return train(dy, steps=24)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=400)
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses = train(dy, args.steps)
    k = min(20, len(losses))
    print(f"mean loss: first {k} steps {np.mean(losses[:k]):.4f}, last {k} {np.mean(losses[-k:]):.4f}")
    return losses


if __name__ == "__main__":
    main()
