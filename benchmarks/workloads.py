"""Shared workload definitions, data and initial weights.

Every implementation of a workload takes its data and its starting weights
from here, so all of them train the same network on the same examples in the
same order and should end with the same loss (see ``*_check`` below).

Weights are handed out as NumPy float32 arrays in one canonical layout; an
implementation copies them into whatever layout it prefers:

* a linear layer is ``W`` of shape (out, in) and ``b`` of shape (out,),
  computing ``W @ x + b`` (the layout of the lecture and of ``nn.Linear``);
* the LSTM is ``Wx`` (4H, E), ``Wh`` (4H, H) and one bias ``b`` (4H,), the
  four gate blocks in the order input, forget, cell candidate, output (the
  order of ``nn.LSTM``):  i, f, g, o = split(Wx @ x + Wh @ h + b);
  c' = sig(f) * c + sig(i) * tanh(g);  h' = sig(o) * tanh(c').
"""

import gzip
import os
import struct
from dataclasses import dataclass

import numpy as np

SEED = 20240611
DTYPE = np.float32


@dataclass(frozen=True)
class Workload:
    name: str
    unit: str          # what one unit of work is, for the table
    rtol: float        # how far check values may differ, relative
    description: str


WORKLOADS = {
    "xor": Workload(
        "xor", "updates", 1e-4,
        "2-2-1 sigmoid net of the lecture, squared error, per-example SGD "
        "lr 0.1, 1000 epochs x 4 examples"),
    "mlp-single": Workload(
        "mlp-single", "examples", 1e-3,
        "MLP 784-256(tanh)-10, softmax cross-entropy, batch 1, SGD lr 0.01, "
        "5000 Fashion-MNIST examples"),
    "mlp-batch": Workload(
        "mlp-batch", "examples", 1e-3,
        "the same MLP, batch 64, SGD lr 0.1, one epoch of Fashion-MNIST "
        "(937 batches, last partial batch dropped)"),
    "rnn-tagger": Workload(
        "rnn-tagger", "sentences", 1e-3,
        "embedding 64 -> LSTM 128 -> linear 10 tags, summed token "
        "cross-entropy, SGD lr 0.1, one epoch of 1000 synthetic sentences"),
    "cnn": Workload(
        "cnn", "examples", 1e-3,
        "the cnn model of compgraph train: conv 3x3 16 tanh, pool 2, conv 3x3 32 "
        "tanh, pool 2, dense 128 tanh, 10; batch 64, SGD lr 0.05, 300 batches"),
    # real model kinds, one program on both libraries: see models.py
    "gpt-nano": Workload(
        "gpt-nano", "steps", 1e-3,
        "minGPT nano (3 layers, 3 heads, 48 dims, block 32) on seeded characters, "
        "batch 16, AdamW, clip 1.0"),
    "gpt-small": Workload(
        "gpt-small", "steps", 1e-3,
        "minGPT 6 layers, 6 heads, 192 dims, block 32, batch 16, AdamW, clip 1.0"),
    "mnist-cnn": Workload(
        "mnist-cnn", "steps", 1e-3,
        "pytorch/examples mnist Net: conv 32, conv 64, relu, max-pool, dropout, "
        "fc 9216-128-10, nll_loss, Adadelta lr 1.0, batch 64"),
    "lstm-lm": Workload(
        "lstm-lm", "steps", 1e-3,
        "word_language_model: embedding 64, 2-layer LSTM 64, 10k vocabulary, "
        "bptt 35, batch 20, SGD lr 20, clip 0.25"),
}


def glorot_uniform(rng, shape):
    """Glorot/Xavier uniform for a (fan_out, fan_in) matrix."""
    fan_out, fan_in = shape
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(DTYPE)


def copy_params(params):
    return {name: value.copy() for name, value in params.items()}


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------- xor ----

XOR_LR = 0.1
XOR_EPOCHS = 1000
XOR_EPOCHS_QUICK = 100


def xor_epochs(quick):
    return XOR_EPOCHS_QUICK if quick else XOR_EPOCHS


def xor_data():
    """The four XOR examples: inputs (4, 2) and targets (4, 1), float32."""
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=DTYPE)
    t = np.array([[0], [1], [1], [0]], dtype=DTYPE)
    return x, t


def xor_init():
    """The lecture's starting weights: h = sig(W x + b), y = sig(W2 h + b2)."""
    return {
        "W": np.array([[3, 4], [2, 3]], dtype=DTYPE),
        "b": np.array([-2, -4], dtype=DTYPE),
        "W2": np.array([[5, -5]], dtype=DTYPE),
        "b2": np.array([-2], dtype=DTYPE),
    }


def xor_check(params):
    """Total error sum 1/2 (t - y)^2 over the four examples (float64)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x, t = xor_data()
    h = _sigmoid(x @ p["W"].T + p["b"])
    y = _sigmoid(h @ p["W2"].T + p["b2"])
    return float(0.5 * ((t - y) ** 2).sum())


# -------------------------------------------------------- the two MLPs ----

MLP_SIZES = (784, 256, 10)
MLP_SINGLE_LR = 0.01
MLP_SINGLE_N = 5000
MLP_SINGLE_N_QUICK = 500
MLP_BATCH_LR = 0.1
MLP_BATCH_SIZE = 64
MLP_BATCH_N_QUICK = 100 * MLP_BATCH_SIZE
MLP_CHECK_N = 1000

FASHION_MNIST_DIR = os.environ.get("FASHION_MNIST_DIR",
                                   "/usr/share/datasets/fashion-mnist")

_mnist_cache = {}


def _read_idx(path):
    """Read an IDX file (optionally gzipped) into a NumPy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def _read_debian_files():
    found = {}
    for part in ("images-idx3", "labels-idx1"):
        for suffix in ("-ubyte.gz", "-ubyte"):
            path = os.path.join(FASHION_MNIST_DIR, f"train-{part}{suffix}")
            if os.path.exists(path):
                found[part] = path
                break
        else:
            raise FileNotFoundError(
                f"no train-{part}-ubyte[.gz] in {FASHION_MNIST_DIR}")
    return (_read_idx(found["images-idx3"]), _read_idx(found["labels-idx1"]),
            FASHION_MNIST_DIR)


def _load_fashion_mnist():
    """(uint8 images N x 28 x 28, labels N, source description)."""
    reasons = []
    try:
        from compgraph.data import load_dataset
        images, labels = load_dataset("fashion-mnist", "train")[:2]
        images, labels = np.asarray(images), np.asarray(labels)
        if images.shape[1:] != (28, 28) or labels.shape != images.shape[:1]:
            raise ValueError(f"unexpected shapes {images.shape}, {labels.shape}")
        return (images, labels,
                "compgraph.data.load_dataset('fashion-mnist', 'train')")
    except Exception as exc:  # not written yet, or no data: fall back
        reasons.append(f"compgraph.data: {type(exc).__name__}: {exc}")
    try:
        return _read_debian_files()
    except Exception as exc:
        reasons.append(f"IDX files: {type(exc).__name__}: {exc}")
    return None, None, "; ".join(reasons)


def mnist_train():
    """Fashion-MNIST train as float32 (N, 784) in [0, 1] and int64 labels,
    in one seeded shuffled order, plus a description of where it came from.

    Falls back to seeded random data of the same shape when the data set
    cannot be found.  Cached: loaded once per process."""
    if "train" not in _mnist_cache:
        images, labels, source = _load_fashion_mnist()
        if images is None:
            rng = np.random.default_rng(SEED + 1)
            x = rng.random((60000, 784), dtype=np.float32)
            y = rng.integers(0, 10, size=60000).astype(np.int64)
            source = f"seeded random data (no Fashion-MNIST: {source})"
        else:
            x = images.reshape(len(images), -1).astype(DTYPE) / DTYPE(255.0)
            y = labels.astype(np.int64)
        order = np.random.default_rng(SEED + 2).permutation(len(x))
        x = np.ascontiguousarray(x[order])
        y = np.ascontiguousarray(y[order])
        _mnist_cache["train"] = (x, y, source)
    return _mnist_cache["train"]


def data_source():
    return mnist_train()[2]


def mlp_init():
    """Glorot-uniform weights, zero biases, for the 784-256-10 MLP."""
    rng = np.random.default_rng(SEED + 3)
    n_in, n_hidden, n_out = MLP_SIZES
    return {
        "W1": glorot_uniform(rng, (n_hidden, n_in)),
        "b1": np.zeros(n_hidden, dtype=DTYPE),
        "W2": glorot_uniform(rng, (n_out, n_hidden)),
        "b2": np.zeros(n_out, dtype=DTYPE),
    }


def mlp_single_data(quick):
    """The first 5000 (quick: 500) examples, visited one at a time."""
    x, y, _ = mnist_train()
    n = MLP_SINGLE_N_QUICK if quick else MLP_SINGLE_N
    return x[:n], y[:n]


def mlp_batch_data(quick):
    """Whole batches of 64 from the epoch (quick: 100 batches); the last
    partial batch of the 60,000 is dropped (937 batches, 59,968 examples)."""
    x, y, _ = mnist_train()
    n = MLP_BATCH_N_QUICK if quick else len(x) // MLP_BATCH_SIZE * MLP_BATCH_SIZE
    return x[:n], y[:n]


def mlp_check(params):
    """Mean cross-entropy of the final MLP on the first 1000 examples."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x, y, _ = mnist_train()
    x, y = x[:MLP_CHECK_N].astype(np.float64), y[:MLP_CHECK_N]
    h = np.tanh(x @ p["W1"].T + p["b1"])
    logp = _log_softmax(h @ p["W2"].T + p["b2"])
    return float(-logp[np.arange(len(y)), y].mean())


# --------------------------------------------------------- rnn-tagger ----

RNN_VOCAB = 1000
RNN_TAGS = 10
RNN_EMBED = 64
RNN_HIDDEN = 128
RNN_LR = 0.1
RNN_SENTENCES = 1000
RNN_SENTENCES_QUICK = 100
RNN_MIN_LEN, RNN_MAX_LEN = 5, 40
RNN_BATCH = 32          # for the batched variants (check group "batch32")
RNN_CHECK_N = 100

_rnn_cache = {}


def rnn_data(quick):
    """A list of (words, tags), int64 arrays of the same length.

    Each word has a fixed tag, except that one token in ten gets the tag of
    the word before it instead, so the tagger has something to learn from
    context.  Seeded; the same for every implementation."""
    if "sentences" not in _rnn_cache:
        rng = np.random.default_rng(SEED + 4)
        tag_of_word = rng.integers(0, RNN_TAGS, size=RNN_VOCAB)
        sentences = []
        for _ in range(RNN_SENTENCES):
            length = int(rng.integers(RNN_MIN_LEN, RNN_MAX_LEN + 1))
            words = rng.integers(0, RNN_VOCAB, size=length).astype(np.int64)
            tags = tag_of_word[words].astype(np.int64)
            from_context = rng.random(length) < 0.1
            from_context[0] = False
            tags[from_context] = tag_of_word[words[np.flatnonzero(from_context) - 1]]
            sentences.append((words, tags))
        _rnn_cache["sentences"] = sentences
    n = RNN_SENTENCES_QUICK if quick else RNN_SENTENCES
    return _rnn_cache["sentences"][:n]


def rnn_init():
    """Glorot-uniform matrices (the embedding table too), zero biases."""
    rng = np.random.default_rng(SEED + 5)
    V, E, H, T = RNN_VOCAB, RNN_EMBED, RNN_HIDDEN, RNN_TAGS
    return {
        "E": glorot_uniform(rng, (V, E)),
        "Wx": glorot_uniform(rng, (4 * H, E)),
        "Wh": glorot_uniform(rng, (4 * H, H)),
        "b": np.zeros(4 * H, dtype=DTYPE),
        "Wo": glorot_uniform(rng, (T, H)),
        "bo": np.zeros(T, dtype=DTYPE),
    }


def rnn_check(params):
    """Mean over the first 100 sentences of the summed token cross-entropy
    of the final tagger (float64 forward pass)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    H = RNN_HIDDEN
    total = 0.0
    sentences = rnn_data(quick=False)[:RNN_CHECK_N]
    for words, tags in sentences:
        xs = p["E"][words] @ p["Wx"].T + p["b"]      # input part of all steps
        h, c = np.zeros(H), np.zeros(H)
        hs = []
        for x in xs:
            z = x + p["Wh"] @ h
            i, f = _sigmoid(z[:H]), _sigmoid(z[H:2 * H])
            g, o = np.tanh(z[2 * H:3 * H]), _sigmoid(z[3 * H:])
            c = f * c + i * g
            h = o * np.tanh(c)
            hs.append(h)
        logp = _log_softmax(np.array(hs) @ p["Wo"].T + p["bo"])
        total -= logp[np.arange(len(tags)), tags].sum()
    return float(total / len(sentences))


# ---------------------------------------------------------------- cnn ----

# The `cnn` model of compgraph/train/models.py: two "same" 3x3 conv + tanh + 2x2 max-pool
# stages (16 and 32 channels, 28 -> 14 -> 7), dense 128 tanh, linear 10.
CNN_CHANNELS = (1, 16, 32)
CNN_KERNEL = 3
CNN_DENSE = 128
CNN_LR = 0.05
CNN_BATCH = 64
CNN_BATCHES = 300
CNN_BATCHES_QUICK = 20
CNN_CHECK_N = 1000


def cnn_init():
    """Glorot-uniform kernels (fan = channels x kernel area) and matrices, zero biases.
    Kernels are (out, in, kh, kw), as nn.Conv2d's weight."""
    rng = np.random.default_rng(SEED + 6)
    c0, c1, c2 = CNN_CHANNELS
    k = CNN_KERNEL

    def kernel(c_out, c_in):
        limit = np.sqrt(6.0 / ((c_in + c_out) * k * k))
        return rng.uniform(-limit, limit, size=(c_out, c_in, k, k)).astype(DTYPE)

    return {
        "K1": kernel(c1, c0), "c1": np.zeros(c1, dtype=DTYPE),
        "K2": kernel(c2, c1), "c2": np.zeros(c2, dtype=DTYPE),
        "W1": glorot_uniform(rng, (CNN_DENSE, c2 * 7 * 7)), "b1": np.zeros(CNN_DENSE, dtype=DTYPE),
        "W2": glorot_uniform(rng, (10, CNN_DENSE)), "b2": np.zeros(10, dtype=DTYPE),
    }


def cnn_data(quick):
    """Images (N, 1, 28, 28) in batch order: 300 (quick: 20) batches of 64."""
    x, y, _ = mnist_train()
    n = (CNN_BATCHES_QUICK if quick else CNN_BATCHES) * CNN_BATCH
    return x[:n].reshape(n, 1, 28, 28), y[:n]


def _conv_same_ref(x, k, b):
    """3x3 'same' cross-correlation by an im2col product (float64, check only)."""
    kh, kw = k.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", win, k, optimize=True) + b[:, None, None]


def _pool2_ref(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def cnn_check(params):
    """Mean cross-entropy of the final cnn on the first 1000 examples (float64)."""
    p = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    x, y, _ = mnist_train()
    x = x[:CNN_CHECK_N].astype(np.float64).reshape(-1, 1, 28, 28)
    y = y[:CNN_CHECK_N]
    h = _pool2_ref(np.tanh(_conv_same_ref(x, p["K1"], p["c1"])))
    h = _pool2_ref(np.tanh(_conv_same_ref(h, p["K2"], p["c2"])))
    h = np.tanh(h.reshape(len(h), -1) @ p["W1"].T + p["b1"])
    logp = _log_softmax(h @ p["W2"].T + p["b2"])
    return float(-logp[np.arange(len(y)), y].mean())
