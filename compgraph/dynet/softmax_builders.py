"""DyNet's softmax builders (cfsm-builder.cc): StandardSoftmaxBuilder and the class-factored
ClassFactoredSoftmaxBuilder, p(w | h) = p(class(w) | h) * p(w | class(w), h)."""
import numpy as np

from .. import functional as F
from ..errors import ArgumentError, ArgumentValueError, BoundsError, DataError, MissingFileError
from ..random import generator
from . import expr as E
from .graph import BatchedExpression, cg
from .lstm_ops import affine, matvec
from .params import ConstInitializer, ParameterCollection


def _collection(pc, name):
    if not isinstance(pc, ParameterCollection):
        raise ArgumentError(f"{name}: expected the ParameterCollection to hold its parameters, "
                            f"got {type(pc).__name__}")


def _sample(probs):
    """DyNet's sampling: the first class where a uniform draw minus the cumulative mass < 0."""
    p = generator().random()
    for c, q in enumerate(probs):
        p -= q
        if p < 0.0:
            return c
    return len(probs) - 1


class SoftmaxBuilder:
    """Loads its parameters into each graph once (separately as constants, update=False)."""

    def _vars(self, update):
        g = cg()
        key = (g, bool(update))
        if self._cache[0] != key:
            self._cache = (key, self._new_graph(bool(update)))
        return self._cache[1]

    def neg_log_softmax(self, x, c, update=True):
        return self._nls(E._ex(x), c, update)

    def neg_log_softmax_batch(self, x, c, update=True):
        x = E._ex(x)
        bs = x.dim()[1]
        if len(c) != bs:
            raise ArgumentValueError(f"neg_log_softmax_batch: {len(c)} class ids for a batch "
                                     f"of {bs}")
        return self._nls_batch(x, list(c), update)

    def full_log_distribution(self, x, update=True):
        return E.log_softmax(self.full_logits(x, update))

    def param_collection(self):
        return self._pc


class StandardSoftmaxBuilder(SoftmaxBuilder):
    def __init__(self, input_dim, num_classes, pc, bias=True):
        _collection(pc, "StandardSoftmaxBuilder")
        self._pc = pc.add_subcollection("standard-softmax-builder")
        self.bias = bool(bias)
        self.p_w = self._pc.add_parameters((num_classes, input_dim))
        self.p_b = self._pc.add_parameters(num_classes, init=ConstInitializer(0.0)) if bias else None
        self._cache = (None, None)

    def _new_graph(self, update):
        return (self.p_w.expr(update), self.p_b.expr(update) if self.bias else None)

    def full_logits(self, x, update=True):
        w, b = self._vars(update)
        x = E._ex(x)
        return affine(b, [(w, x)]) if self.bias else matvec(w, x)

    def _nls(self, x, c, update):
        return E.pickneglogsoftmax(self.full_logits(x, update), c)

    def _nls_batch(self, x, cs, update):
        return E.pickneglogsoftmax_batch(self.full_logits(x, update), cs)

    def sample(self, x):
        w, b = self._vars(True)
        x = E._ex(x)
        # as cfsm-builder.cc: the softmax with a bias; without one, the raw scores
        dist = E.softmax(affine(b, [(w, x)])) if self.bias else matvec(w, x)
        return _sample(np.asarray(dist.npvalue()).reshape(-1))


class ClassFactoredSoftmaxBuilder(SoftmaxBuilder):
    """Words in clusters read from cluster_file (lines "CLASS word [freq]"); dic maps each
    word to its id 0..V-1.  Clusters get ids in order of first appearance; a cluster of one
    word has no word-level parameters."""

    def __init__(self, input_dim, cluster_file, dic, pc, bias=True):
        _collection(pc, "ClassFactoredSoftmaxBuilder")
        if not isinstance(dic, dict):
            raise ArgumentError(f"ClassFactoredSoftmaxBuilder: dic must be a dict word -> id, "
                                f"got {type(dic).__name__}")
        ids = sorted(dic.values())
        if ids != list(range(len(ids))):
            raise ArgumentValueError("ClassFactoredSoftmaxBuilder: dictionary should have unique "
                                     "ids from 0 to num_classes")
        self.bias = bool(bias)
        self._read_clusters(cluster_file, dic)
        m = self._pc = pc.add_subcollection("class-factored-softmax-builder")
        n = len(self.cidx2words)
        self.p_r2c = m.add_parameters((n, input_dim))
        self.p_cbias = m.add_parameters(n, init=ConstInitializer(0.0)) if bias else None
        self.p_rc2ws, self.p_rcwbiases = [None] * n, [None] * n
        for c, words in enumerate(self.cidx2words):
            if len(words) > 1:
                self.p_rc2ws[c] = m.add_parameters((len(words), input_dim))
                if bias:
                    self.p_rcwbiases[c] = m.add_parameters(len(words), init=ConstInitializer(0.0))
        self._cache = (None, None)

    def _read_clusters(self, fname, dic):
        try:
            with open(fname) as fh:
                lines = fh.read().splitlines()
        except FileNotFoundError:
            raise MissingFileError(f"ClassFactoredSoftmaxBuilder: could not find cluster file "
                                   f"{fname}") from None
        clusters = {}
        self.cidx2words, self.widx2cidx, self.widx2cwidx = [], {}, {}
        for k, line in enumerate(lines, 1):
            parts = line.replace("\t", " ").split()
            if len(parts) < 2:
                raise DataError(f"ClassFactoredSoftmaxBuilder: invalid format in cluster file "
                                f"{fname}, line {k}: {line!r} (want 'CLASS word [freq]')")
            cname, word = parts[0], parts[1]
            if word not in dic:
                raise DataError(f"ClassFactoredSoftmaxBuilder: word {word!r} of {fname} (line "
                                f"{k}) is not in the dictionary")
            c = clusters.setdefault(cname, len(clusters))
            if c == len(self.cidx2words):
                self.cidx2words.append([])
            w = dic[word]
            self.widx2cidx[w] = c
            self.widx2cwidx[w] = len(self.cidx2words[c])
            self.cidx2words[c].append(w)

    def _new_graph(self, update):
        self._words = {}
        return (self.p_r2c.expr(update), self.p_cbias.expr(update) if self.bias else None)

    def _cluster(self, c, update):
        r2c, _ = self._vars(update)
        if c not in self._words:
            w = self.p_rc2ws[c]
            b = self.p_rcwbiases[c]
            self._words[c] = (w.expr(update), b.expr(update) if b is not None else None)
        return self._words[c]

    def class_logits(self, x, update=True):
        r2c, cbias = self._vars(update)
        x = E._ex(x)
        return affine(cbias, [(r2c, x)]) if self.bias else matvec(r2c, x)

    def class_log_distribution(self, x, update=True):
        return E.log_softmax(self.class_logits(x, update))

    def _check_class(self, c, fn):
        n = len(self.cidx2words)
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < n:
            raise BoundsError(f"{fn}: class id {c!r} is out of range ({n} classes)")
        if len(self.cidx2words[c]) < 2:
            raise ArgumentValueError(f"{fn}: class {c} holds one word and so has no subclass "
                                     f"scores")
        return int(c)

    def subclass_logits(self, x, classid, update=True):
        c = self._check_class(classid, "subclass_logits")
        w, b = self._cluster(c, update)
        x = E._ex(x)
        return affine(b, [(w, x)]) if self.bias else matvec(w, x)

    def subclass_log_distribution(self, x, classid, update=True):
        return E.log_softmax(self.subclass_logits(x, classid, update))

    def _nls(self, x, word, update):
        if word not in self.widx2cidx:
            raise BoundsError(f"neg_log_softmax: word id {word!r} is missing from the clusters")
        c = self.widx2cidx[word]
        loss = E.pickneglogsoftmax(self.class_logits(x, update), c)
        if len(self.cidx2words[c]) < 2:
            return loss
        return loss + E.pickneglogsoftmax(self.subclass_logits(x, c, update), self.widx2cwidx[word])

    def _nls_batch(self, x, words, update):
        def elem(i):
            return E._unbatch(F.getitem(x, i)) if x.__class__ is BatchedExpression else x
        return E.concatenate_to_batch([self._nls(elem(i), w, update) for i, w in enumerate(words)])

    def full_logits(self, x, update=True):
        x = E._ex(x)
        cscores = self.class_log_distribution(x, update)
        n = max(self.widx2cidx) + 1 if self.widx2cidx else 0
        full = [None] * n
        for c, words in enumerate(self.cidx2words):
            cs = E.pick(cscores, c)
            if len(words) < 2:
                for w in words:
                    full[w] = cs
                continue
            wdist = E.softmax(self.subclass_logits(x, c, update))
            for i, w in enumerate(words):
                full[w] = E.pick(wdist, i) + cs
        for w in range(n):
            if full[w] is None:
                full[w] = E.scalarInput(-10000.0)      # DyNet's stand-in for -inf
        return F.stack(full, axis=0)

    def sample(self, x):
        x = E._ex(x)
        c = _sample(np.asarray(E.softmax(self.class_logits(x)).npvalue()).reshape(-1))
        w = 0
        if len(self.cidx2words[c]) > 1:
            w = _sample(np.asarray(E.softmax(self.subclass_logits(x, c)).npvalue()).reshape(-1))
        return self.cidx2words[c][w]
