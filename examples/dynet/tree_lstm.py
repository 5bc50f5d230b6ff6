"""A binary Tree-LSTM (Tai et al., 2015) over random binary trees, in the DyNet dialect.

Every tree is built node by node for its own shape; with --autobatch the executor finds
the nodes of equal height across all the trees of an update and runs them together.
The synthetic label of a tree is the majority class of its words (classes are word ids
mod the number of classes), read at the root.

    python examples/dynet/tree_lstm.py --updates 20 --autobatch
"""
import argparse
import time

import numpy as np

import compgraph
import compgraph.dynet as dy


def random_tree(rng, words):
    """A random binary bracketing of `words`: a word id, or a pair (left, right)."""
    if len(words) == 1:
        return words[0]
    cut = int(rng.integers(1, len(words)))
    return (random_tree(rng, words[:cut]), random_tree(rng, words[cut:]))


def make_data(n_trees, vocab, classes, min_len, max_len, seed):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(n_trees):
        words = rng.integers(0, vocab, size=int(rng.integers(min_len, max_len + 1))).tolist()
        label = int(np.bincount(np.asarray(words) % classes, minlength=classes).argmax())
        data.append((random_tree(rng, words), label))
    return data


class TreeLSTM:
    def __init__(self, model, vocab, classes, embed, hidden):
        H = hidden
        self.H = H
        self.E = model.add_lookup_parameters((vocab, embed))
        self.W_leaf = model.add_parameters((H, embed))
        self.b_leaf = model.add_parameters(H, init=dy.ConstInitializer(0.0))
        # gates i, f_left, f_right, o and the update u, from [h_left; h_right]
        self.U = model.add_parameters((5 * H, 2 * H))
        self.b = model.add_parameters(5 * H, init=dy.ConstInitializer(0.0))
        self.W_out = model.add_parameters((classes, H))
        self.b_out = model.add_parameters(classes, init=dy.ConstInitializer(0.0))

    def leaf(self, word):
        c = self.W_leaf * self.E[word] + self.b_leaf
        return dy.tanh(c), c

    def combine(self, left, right):
        (hl, cl), (hr, cr) = left, right
        H = self.H
        z = self.U * dy.concatenate([hl, hr]) + self.b
        i, fl, fr, o = (dy.logistic(dy.pickrange(z, k * H, (k + 1) * H)) for k in range(4))
        u = dy.tanh(dy.pickrange(z, 4 * H, 5 * H))
        c = dy.cmult(i, u) + dy.cmult(fl, cl) + dy.cmult(fr, cr)
        return dy.cmult(o, dy.tanh(c)), c

    def encode(self, tree):
        """(h, c) of the root, built bottom-up without recursion."""
        stack, done = [(tree, False)], []
        while stack:
            t, expanded = stack.pop()
            if not isinstance(t, tuple):
                done.append(self.leaf(t))
            elif expanded:
                right, left = done.pop(), done.pop()
                done.append(self.combine(left, right))
            else:
                stack += [(t, True), (t[1], False), (t[0], False)]
        return done[0]

    def loss(self, tree, label):
        h, _ = self.encode(tree)
        return dy.pickneglogsoftmax(self.W_out * h + self.b_out, label)

    def predict(self, tree):
        h, _ = self.encode(tree)
        return int(np.argmax((self.W_out * h + self.b_out).npvalue()))


def build(args):
    compgraph.manual_seed(args.seed)
    model = dy.ParameterCollection()
    net = TreeLSTM(model, args.vocab, args.classes, args.embed, args.hidden)
    data = make_data(args.trees, args.vocab, args.classes, args.min_len, args.max_len, args.seed)
    return model, net, data


def batch_loss(net, batch, autobatch):
    dy.renew_cg(autobatching=autobatch)
    return dy.average([net.loss(t, y) for t, y in batch])


def train(args, init=None):
    """Train for args.updates updates; init(model), if given, sets the initial weights."""
    model, net, data = build(args)
    if init is not None:
        init(model)
    trainer = (dy.AdamTrainer(model, alpha=args.lr) if args.trainer == "adam"
               else dy.SimpleSGDTrainer(model, learning_rate=args.lr))
    losses = []
    for u in range(args.updates):
        start = (u * args.batch) % len(data)
        loss = batch_loss(net, data[start:start + args.batch], args.autobatch)
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return model, net, losses


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
        # plain SGD: Adam's steps on near-zero gradients amplify float rounding, which
        # no two implementations share
        return train(parse(["--updates", "5", "--batch", "3", "--trees", "6", "--lr", "0.3",
                            "--trainer", "sgd"]), fixed_weights)[2]
    finally:
        dy = saved


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--autobatch", action="store_true", help="batch the operations automatically")
    p.add_argument("--updates", type=int, default=20)
    p.add_argument("--batch", type=int, default=16, help="trees per update")
    p.add_argument("--trees", type=int, default=200)
    p.add_argument("--vocab", type=int, default=30)
    p.add_argument("--classes", type=int, default=3)
    p.add_argument("--embed", type=int, default=8)
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--min-len", type=int, default=2)
    p.add_argument("--max-len", type=int, default=10)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--trainer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    t0 = time.perf_counter()
    model, net, losses = train(args)
    seconds = time.perf_counter() - t0
    for u in range(0, len(losses), max(1, len(losses) // 10)):
        print(f"update {u:4d}  loss {losses[u]:.4f}")
    print(f"final loss {losses[-1]:.4f}; {args.updates * args.batch / seconds:.0f} trees/s "
          f"(autobatch {'on' if args.autobatch else 'off'})")
    if args.autobatch:
        print(dy.cg().autobatch_report())


if __name__ == "__main__":
    main()
