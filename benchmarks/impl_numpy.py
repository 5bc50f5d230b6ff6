"""Hand-written NumPy with manual backpropagation: the floor any NumPy-based
toolkit can reach on these workloads.  Plain float32 code, gradients derived
by hand, in-place SGD updates; the learning rate is folded into the output
gradient once so that the updates are a single in-place subtraction."""

import time

import numpy as np

import workloads as W
from registry import workload_impl


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- xor ----

@workload_impl("xor", "numpy")
def xor(quick):
    p = W.copy_params(W.xor_init())
    Wh, bh, Wo, bo = p["W"], p["b"], p["W2"], p["b2"]
    x_all, t_all = W.xor_data()
    examples = [(x_all[i], t_all[i]) for i in range(4)]
    lr = W.XOR_LR
    epochs = W.xor_epochs(quick)

    start = time.perf_counter()
    for _ in range(epochs):
        for x, t in examples:
            h = _sigmoid(Wh @ x + bh)                 # (2,)
            y = _sigmoid(Wo @ h + bo)                 # (1,)
            dz2 = lr * (y - t) * y * (1 - y)          # lr * dE/d(pre-activation)
            dz1 = (Wo[0] * dz2) * h * (1 - h)         # uses Wo before its update
            Wo -= np.outer(dz2, h)
            bo -= dz2
            Wh -= np.outer(dz1, x)
            bh -= dz1
    seconds = time.perf_counter() - start

    return epochs * 4, seconds, W.xor_check(p)


# ---------------------------------------------------------------- mlp ----

@workload_impl("mlp-single", "numpy")
def mlp_single(quick):
    """One example at a time, weights in the (out, in) layout: W1 @ x is a
    matrix-vector product and the weight gradient an outer product."""
    p = W.copy_params(W.mlp_init())
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
    grad_W1, grad_W2 = np.empty_like(W1), np.empty_like(W2)
    inputs, labels = W.mlp_single_data(quick)
    lr = W.MLP_SINGLE_LR

    start = time.perf_counter()
    for x, label in zip(inputs, labels):
        h = np.tanh(W1 @ x + b1)
        z = W2 @ h + b2
        dz = np.exp(z - z.max())
        dz /= dz.sum()                                # softmax
        dz[label] -= 1.0                              # d loss / d z
        dh = (W2.T @ dz) * (1.0 - h * h)
        dz *= lr
        dh *= lr
        W2 -= np.outer(dz, h, out=grad_W2)
        b2 -= dz
        W1 -= np.outer(dh, x, out=grad_W1)
        b1 -= dh
    seconds = time.perf_counter() - start

    return len(inputs), seconds, W.mlp_check(p)


@workload_impl("mlp-batch", "numpy")
def mlp_batch(quick):
    """Batches of 64, weights in the (in, out) layout so that the forward
    pass is X @ W1 without transposes."""
    init = W.mlp_init()
    W1, W2 = init["W1"].T.copy(), init["W2"].T.copy()
    b1, b2 = init["b1"].copy(), init["b2"].copy()
    inputs, labels = W.mlp_batch_data(quick)
    B = W.MLP_BATCH_SIZE
    rows = np.arange(B)
    scale = W.MLP_BATCH_LR / B                        # lr and the batch mean

    start = time.perf_counter()
    for s in range(0, len(inputs), B):
        x, y = inputs[s:s + B], labels[s:s + B]
        h = x @ W1
        h += b1
        np.tanh(h, out=h)
        z = h @ W2
        z += b2
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)             # softmax
        z[rows, y] -= 1.0
        z *= scale                                    # lr * d mean loss / d z
        dh = z @ W2.T
        dh *= 1.0 - h * h
        W2 -= h.T @ z
        b2 -= z.sum(axis=0)
        W1 -= x.T @ dh
        b1 -= dh.sum(axis=0)
    seconds = time.perf_counter() - start

    final = {"W1": W1.T, "b1": b1, "W2": W2.T, "b2": b2}
    return len(inputs), seconds, W.mlp_check(final)


# --------------------------------------------------------- rnn-tagger ----

@workload_impl("rnn-tagger", "numpy")
def rnn_tagger(quick):
    """One sentence at a time: LSTM forward step by step, storing the gates,
    then backpropagation through time by hand."""
    p = W.copy_params(W.rnn_init())
    E, Wx, Wh, b, Wo, bo = p["E"], p["Wx"], p["Wh"], p["b"], p["Wo"], p["bo"]
    H = W.RNN_HIDDEN
    lr = W.RNN_LR
    sentences = W.rnn_data(quick)
    longest = max(len(words) for words, _ in sentences)
    # per-step storage, reused: gate activations i|f|g|o, cells, states
    gates = np.empty((longest, 4 * H), dtype=W.DTYPE)
    cells = np.empty((longest + 1, H), dtype=W.DTYPE)    # row 0: c_{-1} = 0
    states = np.empty((longest + 1, H), dtype=W.DTYPE)   # row 0: h_{-1} = 0
    dz = np.empty((longest, 4 * H), dtype=W.DTYPE)

    start = time.perf_counter()
    for words, tags in sentences:
        L = len(words)
        xs = E[words]                                     # (L, E)
        zx = xs @ Wx.T
        zx += b
        cells[0] = 0.0
        states[0] = 0.0
        for t in range(L):
            z = zx[t] + Wh @ states[t]
            a = gates[t]
            a[:] = _sigmoid(z)                            # i, f, o ...
            a[2 * H:3 * H] = np.tanh(z[2 * H:3 * H])      # ... and g
            cells[t + 1] = a[H:2 * H] * cells[t] + a[:H] * a[2 * H:3 * H]
            states[t + 1] = a[3 * H:] * np.tanh(cells[t + 1])
        hs = states[1:L + 1]
        scores = hs @ Wo.T + bo
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        scores[np.arange(L), tags] -= 1.0                 # d summed loss / d scores
        dhs = scores @ Wo                                 # (L, H)

        dh_next = np.zeros(H, dtype=W.DTYPE)
        dc_next = np.zeros(H, dtype=W.DTYPE)
        for t in range(L - 1, -1, -1):
            a = gates[t]
            i, f, g, o = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
            dh = dhs[t] + dh_next
            tanh_c = np.tanh(cells[t + 1])
            dc = dh * o * (1.0 - tanh_c * tanh_c) + dc_next
            d = dz[t]
            d[:H] = dc * g * i * (1.0 - i)
            d[H:2 * H] = dc * cells[t] * f * (1.0 - f)
            d[2 * H:3 * H] = dc * i * (1.0 - g * g)
            d[3 * H:] = dh * tanh_c * o * (1.0 - o)
            dc_next = dc * f
            dh_next = d @ Wh
        d = dz[:L]
        dxs = d @ Wx                                      # (L, E), before updates
        d *= lr
        scores *= lr
        Wo -= scores.T @ hs
        bo -= scores.sum(axis=0)
        Wh -= d.T @ states[:L]
        Wx -= d.T @ xs
        b -= d.sum(axis=0)
        np.subtract.at(E, words, lr * dxs)
    seconds = time.perf_counter() - start

    return len(sentences), seconds, W.rnn_check(p)
