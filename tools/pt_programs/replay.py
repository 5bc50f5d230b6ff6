"""Run a PyTorch program on real torch (record) or on compgraph (replay) with the same random
draws, so that the losses it prints can be compared number by number.

    python replay.py record LOG program.py [args...]     # under real torch
    python replay.py replay LOG program.py [args...]     # under compgraph (import changed)

compgraph's random streams differ from PyTorch's by design (NumPy's generator, not the
Mersenne Twister), so a program seeded the same way starts from other weights.  This
launcher changes nothing in the program: before running it (runpy, as `python program.py`
would), it wraps the library's random entry points.  On torch it records what they drew;
on compgraph it hands back the recorded values instead of drawing:
  - nn.init's random initialisers (uniform_, normal_, kaiming_*, xavier_*, trunc_normal_)
    and Tensor.uniform_/normal_ (the outermost call records; the nested ones of an
    initialiser are its own business);
  - the indices RandomSampler yields (DataLoader(shuffle=True), minGPT's sampler);
  - dropout masks (F.dropout and nn.Dropout: on torch the mask is drawn with bernoulli_
    and applied as PyTorch's dropout does, input * mask / (1 - p)), also attention's
    (torch's F.scaled_dot_product_attention, as nn.MultiheadAttention calls it, is run
    as its formula so that its dropout mask is drawn in Python);
  - torch.multinomial's samples and torch.randperm's permutations (minGPT's adder splits
    its data with randperm and its own Generator).
Each kind is its own queue; a replayed draw of another shape than the recorded one stops
the run with an error (the two libraries made different random calls).  Dropout inside
C++ kernels (nn.LSTM's between layers) cannot be seen: run such programs with dropout 0.
"""
import os
import runpy
import sys

import numpy as np

_INITS = ("uniform_", "normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
          "xavier_normal_", "trunc_normal_")


class Tape:
    def __init__(self, mode, path):
        self.mode, self.path, self.depth = mode, path, 0
        self.queues = {}
        if mode == "replay":
            # an .npz of plain arrays, read without pickle: a tape runs no code when loaded
            with np.load(path, allow_pickle=False) as z:
                for key in sorted(z.files):
                    kind, _ = key.rsplit("__", 1)
                    self.queues.setdefault(kind, []).append(z[key])
        self.used = {k: 0 for k in self.queues}

    def put(self, kind, value):
        self.queues.setdefault(kind, []).append(np.array(value))

    def take(self, kind, shape=None):
        q, i = self.queues.get(kind, []), self.used.get(kind, 0)
        if i >= len(q):
            raise RuntimeError(f"replay: compgraph made more {kind} draws than torch did ({len(q)})")
        self.used[kind] = i + 1
        v = q[i]
        if shape is not None and tuple(v.shape) != tuple(shape):
            raise RuntimeError(f"replay: {kind} draw {i} has shape {tuple(shape)} on compgraph, "
                               f"{tuple(v.shape)} on torch: the programs' random calls differ")
        return v

    def save(self):
        if self.mode == "record":
            arrays = {f"{kind}__{i:07d}": v for kind, q in self.queues.items()
                      for i, v in enumerate(q)}
            tmp = self.path + ".part"
            with open(tmp, "wb") as f:       # written whole, then renamed: never half a tape
                np.savez(f, **arrays)
            os.replace(tmp, self.path)


def _numpy(t):
    return t.detach().cpu().numpy().copy()


def _wrap_init(tape, owner, name, lib, fill):
    orig = getattr(owner, name, None)
    if orig is None:
        return

    def wrapped(tensor, *a, **k):
        if tape.depth:                        # nested inside another initialiser
            return orig(tensor, *a, **k)
        tape.depth += 1
        try:
            if tape.mode == "record":
                out = orig(tensor, *a, **k)
                tape.put("init", _numpy(tensor))
                return out
            fill(tensor, tape.take("init", tuple(tensor.shape)))
            return tensor
        finally:
            tape.depth -= 1
    setattr(owner, name, wrapped)


_DRAWS = ("multinomial", "randperm")      # torch.<name> calls whose results are replayed


def _record_draw(tape, torch, name):
    orig = getattr(torch, name)

    def wrapped(*a, **k):
        out = orig(*a, **k)
        tape.put(name, _numpy(out))
        return out
    setattr(torch, name, wrapped)


def _wrap_sampler(tape, cls):
    orig = cls.__iter__

    def record(self):
        for i in orig(self):
            tape.put("sampler", i)
            yield i

    def replay(self):
        for _ in range(len(self)):
            yield int(tape.take("sampler"))
    cls.__iter__ = record if tape.mode == "record" else replay


def setup_torch(tape):
    import torch
    import torch.nn.functional as F
    import torch.utils.data as data

    for name in _INITS:
        _wrap_init(tape, torch.nn.init, name, torch, None)
        if name in ("uniform_", "normal_"):
            _wrap_init(tape, torch.Tensor, name, torch, None)
    _wrap_sampler(tape, data.RandomSampler)

    def dropout(input, p=0.5, training=True, inplace=False, **_):
        if not training or p == 0:
            return input
        mask = torch.empty_like(input).bernoulli_(1 - p)
        tape.put("dropout", _numpy(mask))
        out = input * mask / (1 - p) if p < 1 else input * 0
        return input.copy_(out) if inplace else out
    F.dropout = dropout

    def attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                  enable_gqa=False):
        # torch's fused kernel drops attention weights in C++; this is its formula with the
        # mask drawn (and recorded) here
        w = q @ k.transpose(-2, -1) * (scale if scale is not None else q.shape[-1] ** -0.5)
        if is_causal:
            attn_mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        if attn_mask is not None:
            w = w.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else w + attn_mask
        return dropout(torch.softmax(w, -1), dropout_p) @ v
    F.scaled_dot_product_attention = attention
    for name in _DRAWS:
        _record_draw(tape, torch, name)


def setup_compgraph(tape):
    import compgraph as cg
    import compgraph.functional as CF
    import compgraph.nn.functional as F
    from compgraph.data import samplers

    def fill(tensor, values):
        with cg.no_grad():
            tensor.copy_(cg.tensor(values.astype(tensor.detach().numpy().dtype)))
    for name in _INITS:
        _wrap_init(tape, cg.nn.init, name, cg, fill)
        if name in ("uniform_", "normal_"):
            _wrap_init(tape, cg.Tensor, name, cg, fill)
    _wrap_sampler(tape, samplers.RandomSampler)

    def dropout(input, p=0.5, training=True, inplace=False, **_):
        if not training or p == 0:
            return input
        mask = cg.tensor(tape.take("dropout", tuple(input.shape)))
        out = input * mask / (1 - p) if p < 1 else input * 0
        return input.copy_(out) if inplace else out
    CF.dropout = F.dropout = dropout

    for name in _DRAWS:
        setattr(cg, name, lambda *a, _name=name, **k: cg.tensor(tape.take(_name)))


def main():
    mode, log, program, *args = sys.argv[1:]
    tape = Tape(mode, log)
    (setup_torch if mode == "record" else setup_compgraph)(tape)
    sys.argv = [program] + args
    sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(program)))
    try:
        runpy.run_path(program, run_name="__main__")
    finally:
        tape.save()


if __name__ == "__main__":
    main()
