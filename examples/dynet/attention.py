"""An attention sequence-to-sequence model, as DyNet's examples/sequence-to-sequence/attention.py:
a bidirectional LSTM encoder, an LSTM decoder that attends over the encoder's states
(scores v . tanh(W1 H + W2 s), colwise_add), learning to reverse short sequences.

    python examples/dynet/attention.py --steps 100

train(dy, ...) takes the DyNet module as an argument: the same program runs on
compgraph.dynet and on real DyNet, and from the fixed weights of fixed_weights() the two
give the same losses (tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

VOCAB, EOS = 8, 0


def pairs(n=16):
    """(source, target) pairs: the target is the source reversed."""
    out = []
    for s in range(n):
        length = 3 + s % 3
        src = [1 + (s * 5 + t * 3) % (VOCAB - 1) for t in range(length)]
        out.append((src, src[::-1]))
    return out


def fixed_weights(model, seed=0, scale=0.5):
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 1.1 + seed + k).reshape(p.shape()))
    for k, lp in enumerate(model.lookup_parameters_list()):
        n = int(np.prod(lp.shape()))
        lp.init_from_array(np.cos(np.arange(n) * 0.7 + seed + k).reshape(lp.shape()))


class Attention:
    def __init__(self, dy, model, embed=6, hidden=8, att=5):
        self.dy = dy
        self.E = model.add_lookup_parameters((VOCAB, embed))
        self.fwd = dy.LSTMBuilder(1, embed, hidden, model)
        self.bwd = dy.LSTMBuilder(1, embed, hidden, model)
        self.dec = dy.LSTMBuilder(1, 2 * hidden + embed, hidden, model)
        self.W1 = model.add_parameters((att, 2 * hidden))
        self.W2 = model.add_parameters((att, hidden))
        self.v = model.add_parameters((1, att))
        self.out = model.add_parameters((VOCAB, hidden))
        self.out_b = model.add_parameters(VOCAB)
        self.hidden = hidden

    def encode(self, src):
        xs = [self.E[w] for w in [EOS] + src + [EOS]]
        fs = self.fwd.initial_state().transduce(xs)
        bs = self.bwd.initial_state().transduce(xs[::-1])[::-1]
        return [self.dy.concatenate([f, b]) for f, b in zip(fs, bs)]

    def attend(self, H, w1h, state):
        dy = self.dy
        w2s = self.W2 * state.output()                              # the decoder's h
        scores = self.v * dy.tanh(dy.colwise_add(w1h, w2s))         # (1, T)
        alpha = dy.softmax(dy.reshape(scores, (H.dim()[0][1],)))
        return H * alpha

    def loss(self, src, tgt):
        dy = self.dy
        H = dy.concatenate_cols(self.encode(src))
        w1h = self.W1 * H
        s = self.dec.initial_state().add_input(
            dy.concatenate([dy.vecInput(2 * self.hidden), self.E[EOS]]))
        losses, prev = [], EOS
        for w in tgt + [EOS]:
            s = s.add_input(dy.concatenate([self.attend(H, w1h, s), self.E[prev]]))
            losses.append(dy.pickneglogsoftmax(self.out * s.output() + self.out_b, w))
            prev = w
        return dy.esum(losses)


def train(dy, steps=10, lr=0.2):
    m = dy.ParameterCollection()
    net = Attention(dy, m)
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    data, losses = pairs(), []
    for step in range(steps):
        src, tgt = data[step % len(data)]
        dy.renew_cg()
        loss = net.loss(src, tgt)
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return losses


def reference_losses(dy):
    return train(dy, steps=10)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses = train(dy, args.steps)
    print(f"loss: first {losses[0]:.3f}, last {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
