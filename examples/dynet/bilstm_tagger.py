"""A BiLSTM part-of-speech-style tagger, written in the DyNet dialect.

Synthetic, seeded data: every word has a tag, but one token in ten takes the tag of the
word before it, so context matters.  Each sentence is written for one example -- no
padding, no masks -- and with --autobatch the executor batches the LSTM steps of all the
sentences of an update, and their output layers, automatically.

    python examples/dynet/bilstm_tagger.py --updates 20 --autobatch
"""
import argparse
import time

import numpy as np

import compgraph
import compgraph.dynet as dy


def make_data(n_sentences, vocab, tags, min_len, max_len, seed):
    rng = np.random.default_rng(seed)
    tag_of_word = rng.integers(0, tags, size=vocab)
    data = []
    for _ in range(n_sentences):
        words = rng.integers(0, vocab, size=int(rng.integers(min_len, max_len + 1)))
        t = tag_of_word[words]
        from_context = rng.random(len(words)) < 0.1
        from_context[0] = False
        t[from_context] = tag_of_word[words[np.flatnonzero(from_context) - 1]]
        data.append((words.tolist(), t.tolist()))
    return data


class Tagger:
    def __init__(self, model, vocab, tags, embed, hidden):
        self.E = model.add_lookup_parameters((vocab, embed))
        self.fwd = dy.LSTMBuilder(1, embed, hidden, model)
        self.bwd = dy.LSTMBuilder(1, embed, hidden, model)
        self.W = model.add_parameters((tags, 2 * hidden))
        self.b = model.add_parameters(tags)

    def scores(self, words):
        xs = [self.E[w] for w in words]
        fs = self.fwd.initial_state().transduce(xs)
        bs = self.bwd.initial_state().transduce(xs[::-1])[::-1]
        return [self.W * dy.concatenate([f, b]) + self.b for f, b in zip(fs, bs)]

    def sentence_loss(self, words, tags):
        return dy.esum([dy.pickneglogsoftmax(s, t) for s, t in zip(self.scores(words), tags)])

    def tag(self, words):
        return [int(np.argmax(s.npvalue())) for s in self.scores(words)]


def build(args):
    compgraph.manual_seed(args.seed)
    model = dy.ParameterCollection()
    tagger = Tagger(model, args.vocab, args.tags, args.embed, args.hidden)
    data = make_data(args.sentences, args.vocab, args.tags, args.min_len, args.max_len, args.seed)
    return model, tagger, data


def batch_loss(tagger, batch, autobatch):
    """A fresh graph holding the mean summed loss of the batch's sentences."""
    dy.renew_cg(autobatching=autobatch)
    return dy.average([tagger.sentence_loss(w, t) for w, t in batch])


def train(args, init=None):
    """Train for args.updates updates; returns the model, tagger and per-update losses.
    init(model), if given, sets the initial weights (fixed_weights: for runs compared with DyNet)."""
    model, tagger, data = build(args)
    if init is not None:
        init(model)
    trainer = dy.SimpleSGDTrainer(model, learning_rate=args.lr)
    losses = []
    for u in range(args.updates):
        start = (u * args.batch) % len(data)
        loss = batch_loss(tagger, data[start:start + args.batch], args.autobatch)
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return model, tagger, losses


def fixed_weights(model, scale=0.4):
    """Every parameter and table from a formula (no generator): the same start on any DyNet."""
    for k, p in enumerate(model.parameters_list()):
        n = int(np.prod(p.shape()))
        p.set_value(scale * np.sin(np.arange(n) * 1.3 + k).reshape(p.shape()))
    for k, lp in enumerate(model.lookup_parameters_list()):
        n = int(np.prod(lp.shape()))
        lp.init_from_array(np.cos(np.arange(n) * 0.9 + k).reshape(lp.shape()))


def reference_losses(module):
    """The losses of a few updates from fixed_weights() on `module` (compgraph.dynet, or real
    DyNet: tests/dynet/reference/generate_builders.py records them there)."""
    global dy
    saved, dy = dy, module
    try:
        return train(parse(["--updates", "5", "--batch", "3", "--sentences", "6"]), fixed_weights)[2]
    finally:
        dy = saved


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--autobatch", action="store_true", help="batch the operations automatically")
    p.add_argument("--updates", type=int, default=20)
    p.add_argument("--batch", type=int, default=16, help="sentences per update")
    p.add_argument("--sentences", type=int, default=200)
    p.add_argument("--vocab", type=int, default=50)
    p.add_argument("--tags", type=int, default=5)
    p.add_argument("--embed", type=int, default=16)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--min-len", type=int, default=3)
    p.add_argument("--max-len", type=int, default=12)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    t0 = time.perf_counter()
    model, tagger, losses = train(args)
    seconds = time.perf_counter() - t0
    for u in range(0, len(losses), max(1, len(losses) // 10)):
        print(f"update {u:4d}  loss {losses[u]:.4f}")
    print(f"final loss {losses[-1]:.4f}; {args.updates * args.batch / seconds:.0f} sentences/s "
          f"(autobatch {'on' if args.autobatch else 'off'})")
    if args.autobatch:
        print(dy.cg().autobatch_report())      # the last update's graph


if __name__ == "__main__":
    main()
