"""A minGPT-style GPT (our own program, in minGPT's style) trained 20 steps on both
libraries from the same initial weights: hand-written causal self-attention (masked_fill
with -inf, softmax), GELU written with minGPT's tanh formula and torch.pow(x, 3.0),
LayerNorm, AdamW with weight-decay groups, clip_grad_norm_. Float32 throughout; losses
agree within 1e-4 at every step."""
import math

import numpy as np

from tests.programs.lockstep import lockstep

VOCAB, BLOCK, EMBD, HEADS, LAYERS, BATCH = 11, 8, 16, 2, 2, 6


def build(torch):
    nn = torch.nn
    F = torch.nn.functional

    class TanhGELU(nn.Module):
        def forward(self, x):
            inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))
            return 0.5 * x * (1.0 + torch.tanh(inner))

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(EMBD, 3 * EMBD)
            self.out = nn.Linear(EMBD, EMBD)
            self.register_buffer("causal", torch.tril(torch.ones(BLOCK, BLOCK))
                                 .view(1, 1, BLOCK, BLOCK))

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.qkv(x).split(EMBD, dim=2)
            q = q.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            k = k.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            v = v.view(B, T, HEADS, C // HEADS).transpose(1, 2)
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            scores = scores.masked_fill(self.causal[:, :, :T, :T] == 0, float("-inf"))
            weights = F.softmax(scores, dim=-1)
            y = (weights @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.out(y)

    class Layer(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1 = nn.LayerNorm(EMBD)
            self.attn = SelfAttention()
            self.norm2 = nn.LayerNorm(EMBD)
            self.mlp = nn.Sequential(nn.Linear(EMBD, 4 * EMBD), TanhGELU(),
                                     nn.Linear(4 * EMBD, EMBD))

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class TinyGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, EMBD)
            self.positions = nn.Embedding(BLOCK, EMBD)
            self.layers = nn.ModuleList([Layer() for _ in range(LAYERS)])
            self.norm = nn.LayerNorm(EMBD)
            self.head = nn.Linear(EMBD, VOCAB, bias=False)

        def forward(self, idx, targets=None):
            b, t = idx.size()
            pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
            x = self.tokens(idx) + self.positions(pos)
            for layer in self.layers:
                x = layer(x)
            logits = self.head(self.norm(x))
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                       ignore_index=-1)
            return logits, loss

        def optimizer(self, lr, weight_decay):
            # Linear weights decay; biases, LayerNorm and Embedding weights do not
            decay, no_decay = set(), set()
            for mn, m in self.named_modules():
                for pn, p in m.named_parameters():
                    name = f"{mn}.{pn}" if mn else pn
                    if pn.endswith("bias"):
                        no_decay.add(name)
                    elif pn.endswith("weight") and isinstance(m, nn.Linear):
                        decay.add(name)
                    elif pn.endswith("weight") and isinstance(m, (nn.LayerNorm, nn.Embedding)):
                        no_decay.add(name)
            params = dict(self.named_parameters())
            assert decay | no_decay == set(params) and not decay & no_decay
            groups = [{"params": [params[n] for n in sorted(decay)], "weight_decay": weight_decay},
                      {"params": [params[n] for n in sorted(no_decay)], "weight_decay": 0.0}]
            return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))

    return TinyGPT()


def batches(steps):
    """Copy-the-sequence-reversed task, with the prompt half masked out by -1 targets."""
    rng = np.random.default_rng(7)
    for _ in range(steps):
        half = rng.integers(1, VOCAB, (BATCH, BLOCK // 2 + 1))
        seq = np.concatenate([half, half[:, ::-1][:, 1:]], axis=1)
        x, y = seq[:, :BLOCK].copy(), seq[:, 1:BLOCK + 1].copy()
        y[:, :BLOCK // 2 - 1] = -1
        yield x, y


def train(torch, model, steps):
    opt = model.optimizer(lr=3e-3, weight_decay=0.1)
    model.train()
    losses = []
    for x, y in batches(steps):
        x, y = torch.tensor(x, dtype=torch.long), torch.tensor(y, dtype=torch.long)
        _, loss = model(x, y)
        model.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    return losses


def test_gpt_block_trains_as_in_pytorch():
    lockstep(build, train, tol=1e-4)
