"""One helper that runs a function on compgraph and on real PyTorch from the same inputs
and compares values, dtypes, shapes and gradients (tinygrad's helper_test_op, in spirit)."""
import numpy as np
import torch

import compgraph as cg

_DT = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
       np.dtype(np.int64): torch.int64, np.dtype(np.int32): torch.int32,
       np.dtype(np.bool_): torch.bool, np.dtype(np.uint8): torch.uint8,
       np.dtype(np.int16): torch.int16, np.dtype(np.int8): torch.int8,
       np.dtype(np.float16): torch.float16}


def torch_dtype(dt):
    return _DT[np.dtype(dt)]


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for x in out for o in _flat(x)]
    return [out]


def compare(fn_cg, fn_torch, *arrays, grad=True, rtol=1e-5, atol=1e-6, seed=0):
    """fn_cg(*compgraph tensors) against fn_torch(*torch tensors): every output's value, shape
    and dtype, and (grad=True) every float input's gradient of a random projection of the
    float outputs.  fn_torch defaults to fn_cg when that works on both."""
    fn_torch = fn_torch or fn_cg
    arrays = [np.asarray(a) for a in arrays]
    diff = [grad and a.dtype.kind == "f" for a in arrays]
    cx = [cg.tensor(a.copy(), requires_grad=d) for a, d in zip(arrays, diff)]
    tx = [torch.tensor(a.copy(), requires_grad=d) for a, d in zip(arrays, diff)]
    co, to = _flat(fn_cg(*cx)), _flat(fn_torch(*tx))
    assert len(co) == len(to)
    for c, t in zip(co, to):
        assert tuple(c.shape) == tuple(t.shape), (c.shape, t.shape)
        assert torch_dtype(c.dtype) == t.dtype, (c.dtype, t.dtype)
        np.testing.assert_allclose(c.detach().numpy().astype(np.float64) if c.dtype.kind != "b" else c.detach().numpy(),
                                   t.detach().numpy().astype(np.float64) if t.dtype != torch.bool else t.detach().numpy(),
                                   rtol=rtol, atol=atol, equal_nan=True)
    if not any(diff):
        return co
    rng = np.random.default_rng(seed)
    pairs = [(c, t) for c, t in zip(co, to) if t.requires_grad]
    assert [c.requires_grad for c in co] == [t.requires_grad for t in to]
    if not pairs:
        return co
    ws = [rng.standard_normal(tuple(t.shape)) for _, t in pairs]
    closs = sum((c * cg.tensor(w.astype(c.dtype))).sum() for (c, _), w in zip(pairs, ws))
    tloss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for (_, t), w in zip(pairs, ws))
    closs.backward()
    tloss.backward()
    for c, t, d in zip(cx, tx, diff):
        if not d:
            continue
        if t.grad is None:
            assert c.grad is None or not np.any(c.grad.numpy())
            continue
        assert c.grad is not None, "compgraph gave no gradient where PyTorch gave one"
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol,
                                   equal_nan=True)
    return co
