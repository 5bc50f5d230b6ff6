"""Real model kinds, written once in PyTorch style and run on both libraries.

Every builder takes the ``torch`` module it runs on (real PyTorch or
``compgraph``) and returns ``(step, model, data)`` pieces: the program is the
same text on both, as a user's script would be after ``import compgraph as
torch``.  The models follow public PyTorch programs:

* ``gpt``: minGPT's GPT (Karpathy), hand-written causal self-attention with
  ``masked_fill`` + softmax, minGPT's tanh GELU with ``torch.pow(x, 3.0)``,
  pre-norm blocks, AdamW with weight decay on the Linear weights only (two
  parameter groups, as minGPT's ``configure_optimizers``), gradient clipping
  at 1.0.  Dropout 0 so that both libraries compute the same numbers.
* ``mnist_cnn``: pytorch/examples mnist ``Net``: conv 32 3x3, conv 64 3x3,
  relu, max-pool 2, dropout 0.25 / 0.5, fc 9216-128-10, log_softmax,
  nll_loss, Adadelta lr 1.0.
* ``lstm_lm``: pytorch/examples word_language_model ``RNNModel`` (LSTM):
  embedding, 2-layer ``nn.LSTM``, decoder, log_softmax + nll_loss,
  truncated BPTT with the hidden state detached between batches, SGD and
  ``clip_grad_norm_`` 0.25.  Dropout 0 (deterministic, see above).

Initial weights come from NumPy (seeded by parameter name, see
``init_weights``) and are copied into each library's parameters, so both
start from the same point; the data is NumPy too.
"""

import math
import zlib

import numpy as np

SEED = 20240611


# ------------------------------------------------------------ weights ----

def _name_rng(name):
    return np.random.default_rng(SEED + zlib.crc32(name.encode()))


def gpt_init(name, shape):
    """minGPT's _init_weights: N(0, 0.02) for Linear and Embedding weights,
    N(0, 0.02/sqrt(2 n_layer)) for the residual projections (scaled by the
    caller through ``name``), zero biases, LayerNorm weight 1."""
    if name.endswith("bias"):
        return np.zeros(shape, np.float32)
    if ".ln" in name or name.startswith("ln_f"):
        return np.ones(shape, np.float32)
    return (_name_rng(name).standard_normal(shape) * 0.02).astype(np.float32)


def fan_in_init(name, shape):
    """PyTorch's default ranges, roughly: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for weights and biases (the bias's fan-in is its layer's, approximated by
    its length), U(-0.1, 0.1) for the word embedding and decoder."""
    rng = _name_rng(name)
    if name.startswith(("encoder", "decoder.weight")):
        bound = 0.1
    elif len(shape) >= 2:
        bound = 1.0 / math.sqrt(int(np.prod(shape[1:])))
    else:
        bound = 1.0 / math.sqrt(shape[0])
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def init_weights(torch, model, rule):
    """Set every parameter of ``model`` from ``rule(name, shape)``."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            value = rule(name, tuple(param.shape))
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))


# ---------------------------------------------------------------- GPT ----

GPT_CONFIGS = {
    # n_layer, n_head, n_embd, block_size, vocab, batch, steps (quick steps)
    "gpt-nano": dict(n_layer=3, n_head=3, n_embd=48, block_size=32, vocab=65,
                     batch=16, steps=60, quick_steps=5),
    "gpt-small": dict(n_layer=6, n_head=6, n_embd=192, block_size=32, vocab=65,
                      batch=16, steps=15, quick_steps=3),
}


def char_data(vocab, n_chars=20000):
    """Seeded character 'text': a first-order Markov chain over ``vocab``
    characters with a few likely successors each (learnable structure)."""
    rng = np.random.default_rng(SEED + 11)
    successors = rng.integers(0, vocab, size=(vocab, 4))
    text = np.empty(n_chars, np.int64)
    text[0] = 0
    choices = rng.integers(0, 4, size=n_chars)
    noise = rng.random(n_chars) < 0.1
    random_chars = rng.integers(0, vocab, size=n_chars)
    for i in range(1, n_chars):
        text[i] = random_chars[i] if noise[i] else successors[text[i - 1], choices[i]]
    return text


def gpt_batches(cfg, steps):
    text = char_data(cfg["vocab"])
    rng = np.random.default_rng(SEED + 12)
    t, b = cfg["block_size"], cfg["batch"]
    out = []
    for _ in range(steps):
        starts = rng.integers(0, len(text) - t - 1, size=b)
        x = np.stack([text[s:s + t] for s in starts])
        y = np.stack([text[s + 1:s + t + 1] for s in starts])
        out.append((x, y))
    return out


def build_gpt(torch, cfg):
    nn, F = torch.nn, torch.nn.functional

    class NewGELU(nn.Module):
        def forward(self, x):
            return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                               * (x + 0.044715 * torch.pow(x, 3.0))))

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            c, bs = cfg["n_embd"], cfg["block_size"]
            self.c_attn = nn.Linear(c, 3 * c)
            self.c_proj = nn.Linear(c, c)
            self.register_buffer("bias", torch.tril(torch.ones(bs, bs)).view(1, 1, bs, bs))
            self.n_head, self.n_embd = cfg["n_head"], c

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
            k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = att @ v
            y = y.transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            c = cfg["n_embd"]
            self.ln_1 = nn.LayerNorm(c)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(c)
            self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(c, 4 * c), c_proj=nn.Linear(4 * c, c),
                                          act=NewGELU()))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            m = self.mlp
            return x + m.c_proj(m.act(m.c_fc(self.ln_2(x))))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            c = cfg["n_embd"]
            self.wte = nn.Embedding(cfg["vocab"], c)
            self.wpe = nn.Embedding(cfg["block_size"], c)
            self.h = nn.ModuleList([Block() for _ in range(cfg["n_layer"])])
            self.ln_f = nn.LayerNorm(c)
            self.lm_head = nn.Linear(c, cfg["vocab"], bias=False)

        def forward(self, idx, targets):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)

    model = GPT()
    init_weights(torch, model, gpt_init)
    # minGPT's configure_optimizers: weight decay on Linear weights only
    decay = [p for n, p in model.named_parameters()
             if n.endswith("weight") and "ln" not in n and "wte" not in n and "wpe" not in n]
    ids = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in ids]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=5e-4, betas=(0.9, 0.95))

    def step(x, y):
        loss = model(x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss

    return model, step


# ----------------------------------------------------------- MNIST CNN ----

CNN_BATCH, CNN_STEPS, CNN_QUICK_STEPS, CNN_CHECK_STEPS = 64, 12, 2, 3


def cnn_batches(steps):
    import workloads as W
    x, y, _ = W.mnist_train()
    n = steps * CNN_BATCH
    images = x[:n].reshape(steps, CNN_BATCH, 1, 28, 28)
    return [(images[i], y[i * CNN_BATCH:(i + 1) * CNN_BATCH]) for i in range(steps)]


def build_mnist_cnn(torch):
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.dropout1 = nn.Dropout(0.25)
            self.dropout2 = nn.Dropout(0.5)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = self.dropout1(x)
            x = torch.flatten(x, 1)
            x = F.relu(self.fc1(x))
            x = self.dropout2(x)
            return F.log_softmax(self.fc2(x), dim=1)

    model = Net()
    init_weights(torch, model, fan_in_init)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0)

    def step(x, y):
        optimizer.zero_grad()
        loss = F.nll_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return model, step


# ------------------------------------------------------- LSTM language ----

LM = dict(vocab=10000, emb=64, hidden=64, layers=2, bptt=35, batch=20, lr=20.0, clip=0.25,
          steps=12, quick_steps=2)


def word_data(steps):
    """Seeded word ids with a Zipf-like frequency (as real text) laid out as
    word_language_model's batchify does: (tokens, batch) columns."""
    rng = np.random.default_rng(SEED + 21)
    n = (steps * LM["bptt"] + 1) * LM["batch"]
    ranks = np.arange(1, LM["vocab"] + 1)
    p = 1.0 / ranks
    words = rng.choice(LM["vocab"], size=n, p=p / p.sum())
    columns = words.reshape(LM["batch"], -1).T.copy()        # (tokens, batch)
    return [(columns[i * LM["bptt"]:(i + 1) * LM["bptt"]],
             columns[i * LM["bptt"] + 1:(i + 1) * LM["bptt"] + 1].reshape(-1))
            for i in range(steps)]


def build_lstm_lm(torch):
    nn, F = torch.nn, torch.nn.functional

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(LM["vocab"], LM["emb"])
            self.rnn = nn.LSTM(LM["emb"], LM["hidden"], LM["layers"])
            self.decoder = nn.Linear(LM["hidden"], LM["vocab"])

        def forward(self, data, hidden):
            output, hidden = self.rnn(self.encoder(data), hidden)
            decoded = self.decoder(output).view(-1, LM["vocab"])
            return F.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            zeros = torch.zeros(LM["layers"], bsz, LM["hidden"])
            return (zeros, zeros.clone())

    model = RNNModel()
    init_weights(torch, model, fan_in_init)
    optimizer = torch.optim.SGD(model.parameters(), lr=LM["lr"])
    state = {"hidden": model.init_hidden(LM["batch"])}

    def step(x, y):
        hidden = tuple(h.detach() for h in state["hidden"])     # repackage_hidden
        model.zero_grad()
        output, state["hidden"] = model(x, hidden)
        loss = F.nll_loss(output, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), LM["clip"])
        optimizer.step()
        return loss

    return model, step


# ------------------------------------------------------------- runner ----

def _steps(workload, quick):
    if workload in GPT_CONFIGS:
        cfg = GPT_CONFIGS[workload]
        return cfg["quick_steps"] if quick else cfg["steps"]
    if workload == "mnist-cnn":
        return CNN_QUICK_STEPS if quick else CNN_STEPS
    return LM["quick_steps"] if quick else LM["steps"]


def prepare(torch, workload, quick):
    """(model, step, batches as the library's tensors, units per step)."""
    steps = _steps(workload, quick)
    if workload in GPT_CONFIGS:
        cfg = GPT_CONFIGS[workload]
        model, step = build_gpt(torch, cfg)
        batches = gpt_batches(cfg, steps)
    elif workload == "mnist-cnn":
        model, step = build_mnist_cnn(torch)
        batches = cnn_batches(steps)
    elif workload == "lstm-lm":
        model, step = build_lstm_lm(torch)
        batches = word_data(steps)
    else:
        raise KeyError(workload)
    tensors = [(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)))
               for x, y in batches]
    return model, step, tensors


def train(torch, workload, quick, seed=0):
    """Train ``workload`` on ``torch``; returns (steps, seconds, check).

    The check is the last step's loss.  mnist-cnn draws dropout masks, which
    no two libraries draw alike, so its check comes from a second, short run
    of the same program in eval mode (dropout off) from the same weights."""
    import time
    torch.manual_seed(seed)
    model, step, batches = prepare(torch, workload, quick)
    model.train()
    start = time.perf_counter()
    for x, y in batches:
        loss = step(x, y)
    last = loss.item()
    seconds = time.perf_counter() - start
    steps = len(batches)
    if workload == "mnist-cnn":
        model, step, batches = prepare(torch, workload, quick=True)
        model.eval()
        for x, y in batches[:CNN_CHECK_STEPS]:
            last = step(x, y).item()
    return steps, seconds, last
