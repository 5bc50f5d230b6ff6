"""A minibatched LSTM language model, as DyNet's rnnlm-batch example: sentences of one
length go through the LSTM together, the words of step t of every sentence looked up at
once with lookup_batch, the losses of a step summed with pickneglogsoftmax_batch.

    python examples/dynet/rnnlm_batch.py --steps 40

train(dy, ...) takes the DyNet module as an argument: the same program runs on
compgraph.dynet and on real DyNet, and from the fixed weights of fixed_weights() the two
give the same losses (tests/dynet/test_examples.py, tests/dynet/reference/builders_examples.json).
"""
import argparse

import numpy as np

VOCAB, SOS, EOS = 12, 0, 1


def corpus(n=24, length=6):
    """Sentences following a fixed rule (each word the previous plus 1..3, mod VOCAB-2)."""
    out = []
    for s in range(n):
        w, words = 2 + s % (VOCAB - 2), []
        for t in range(length):
            words.append(w)
            w = 2 + (w - 2 + 1 + (s * 7 + t * 3) % 3) % (VOCAB - 2)
        out.append(words)
    return out


def fixed_weights(model, seed=0, scale=0.5):
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 1.3 + seed + k).reshape(p.shape()))
    for k, lp in enumerate(model.lookup_parameters_list()):
        n = int(np.prod(lp.shape()))
        lp.init_from_array(np.cos(np.arange(n) * 0.9 + seed + k).reshape(lp.shape()))


class RNNLanguageModel:
    def __init__(self, dy, model, layers=2, embed=8, hidden=10, builder=None):
        self.dy = dy
        self.E = model.add_lookup_parameters((VOCAB, embed))
        self.rnn = (builder or dy.LSTMBuilder)(layers, embed, hidden, model)
        self.R = model.add_parameters((VOCAB, hidden))
        self.bias = model.add_parameters(VOCAB)

    def batch_loss(self, sents):
        """The summed loss of sentences of one length, one batch per time step."""
        dy = self.dy
        s = self.rnn.initial_state()
        inputs = [[SOS] * len(sents)] + [[w[t] for w in sents] for t in range(len(sents[0]))]
        targets = inputs[1:] + [[EOS] * len(sents)]
        losses = []
        for wids, nxt in zip(inputs, targets):
            s = s.add_input(dy.lookup_batch(self.E, wids))
            scores = self.R * s.output() + self.bias
            losses.append(dy.pickneglogsoftmax_batch(scores, nxt))
        return dy.sum_batches(dy.esum(losses))


def train(dy, steps=10, batch=4, lr=0.3, builder=None):
    m = dy.ParameterCollection()
    lm = RNNLanguageModel(dy, m, builder=builder and getattr(dy, builder))
    fixed_weights(m)
    trainer = dy.SimpleSGDTrainer(m, learning_rate=lr)
    data, losses = corpus(), []
    for step in range(steps):
        at = (step * batch) % len(data)
        dy.renew_cg()
        loss = lm.batch_loss(data[at:at + batch])
        losses.append(loss.value() / batch)
        loss.backward()
        trainer.update()
    return losses


def reference_losses(dy):
    return train(dy, steps=8) + train(dy, steps=4, builder="GRUBuilder")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--builder", default="LSTMBuilder")
    args = ap.parse_args(argv)
    import compgraph.dynet as dy
    losses = train(dy, args.steps, builder=args.builder)
    print(f"loss per sentence: first {losses[0]:.3f}, last {losses[-1]:.3f}")
    return losses


if __name__ == "__main__":
    main()
