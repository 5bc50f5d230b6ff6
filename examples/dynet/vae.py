"""A variational autoencoder on minibatches, as DyNet's VAE example: an encoder to the mean
and log-variance of q(z|x), the reparameterisation z = mu + exp(logvar/2) * eps, a logistic
decoder, and the loss -log p(x|z) (a sum of binary log losses) + KL(q(z|x) || N(0, I)), averaged over the batch.

The "images" are synthetic 6x6 patterns in [0, 1].  The noise eps is drawn by the program
(here: fixed by a formula, so that runs are comparable) and fed in as an input.

    python examples/dynet/vae.py --epochs 20

train(dy, ...) takes the DyNet module as an argument: the same program runs on
compgraph.dynet and on real DyNet, and from the fixed weights of fixed_weights() the two
give the same losses (tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

PIXELS, LATENT = 36, 3


def images(n=40):
    px = np.arange(PIXELS)
    return np.array([(np.sin(px * (0.2 + 0.05 * (k % 4)) + k) + 1) / 2 for k in range(n)])


def noise(step, batch):
    return np.sin(np.arange(LATENT * batch) * 1.9 + step).reshape(LATENT, batch)


def fixed_weights(model, seed=0, scale=0.3):
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 0.53 + seed + k).reshape(p.shape()))


class VAE:
    def __init__(self, dy, model, hidden=16):
        self.dy = dy
        add = model.add_parameters
        self.W1, self.b1 = add((hidden, PIXELS)), add(hidden)
        self.Wm, self.bm = add((LATENT, hidden)), add(LATENT)
        self.Wv, self.bv = add((LATENT, hidden)), add(LATENT)
        self.W2, self.b2 = add((hidden, LATENT)), add(hidden)
        self.W3, self.b3 = add((PIXELS, hidden)), add(PIXELS)

    def loss(self, xs, eps):
        dy = self.dy
        x = dy.inputTensor(xs.T, batched=True)
        h = dy.tanh(self.W1 * x + self.b1)
        mu, logvar = self.Wm * h + self.bm, self.Wv * h + self.bv
        z = mu + dy.cmult(dy.exp(logvar * 0.5), dy.inputTensor(eps, batched=True))
        recon = dy.logistic(self.W3 * dy.tanh(self.W2 * z + self.b2) + self.b3)
        # DyNet's binary_log_loss takes no batches: the same sum, written out
        nll = -dy.sum_elems(dy.cmult(x, dy.log(recon)) + dy.cmult(1 - x, dy.log(1 - recon)))
        kl = -0.5 * dy.sum_elems(1 + logvar - dy.square(mu) - dy.exp(logvar))
        return dy.sum_batches(nll + kl) / len(xs)


def train(dy, epochs=2, batch=8, lr=0.05):
    m = dy.ParameterCollection()
    net = VAE(dy, m)
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    xs, losses = images(), []
    for epoch in range(epochs):
        for at in range(0, len(xs), batch):
            dy.renew_cg()
            loss = net.loss(xs[at:at + batch], noise(len(losses), len(xs[at:at + batch])))
            losses.append(loss.value())
            loss.backward()
            trainer.update()
    return losses


def reference_losses(dy):
    return train(dy, epochs=2)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses = train(dy, args.epochs)
    print(f"loss: first {losses[0]:.3f}, last {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
