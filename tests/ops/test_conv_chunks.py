"""conv2d builds its im2col columns a few images at a time (compgraph.ops.conv._CHUNK_BYTES);
results and gradients must not depend on the chunking.  Forced small chunks here, compared
with real PyTorch and with the one-chunk path."""
import numpy as np
import pytest
import torch

import compgraph as cg
import compgraph.nn.functional as F
from compgraph.ops import conv


@pytest.mark.parametrize("stride,padding", [(1, 0), (1, 1), (2, 1)])
def test_chunked_conv2d_equals_pytorch(monkeypatch, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 3, 9, 8)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    g = rng.standard_normal((7, 4) + tuple(
        (n + 2 * padding - 3) // stride + 1 for n in (9, 8))).astype(np.float32)
    results = []
    for chunk_bytes in (1 << 30, 1):          # one chunk; one image per chunk
        monkeypatch.setattr(conv, "_CHUNK_BYTES", chunk_bytes)
        cx, cw = cg.tensor(x, requires_grad=True), cg.tensor(w, requires_grad=True)
        y = F.conv2d(cx, cw, stride=stride, padding=padding)
        y.backward(cg.tensor(g))
        results.append((y.detach().numpy(), cx.grad.numpy(), cw.grad.numpy()))
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tw, stride=stride, padding=padding)
    ty.backward(torch.tensor(g))
    expected = (ty.detach().numpy(), tx.grad.numpy(), tw.grad.numpy())
    for got in results:
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
    # the chunked path actually ran in pieces
    geo = conv._ConvGeometry(x.shape, w.shape, (stride, stride), ((padding,) * 2,) * 2, (1, 1), 1)
    assert len(conv._image_chunks(geo, 4)) == 7


def test_chunked_conv2d_gradcheck(monkeypatch):
    monkeypatch.setattr(conv, "_CHUNK_BYTES", 1)
    rng = np.random.default_rng(1)
    x = cg.tensor(rng.standard_normal((3, 2, 5, 5)), requires_grad=True)
    w = cg.tensor(rng.standard_normal((2, 2, 3, 3)), requires_grad=True)
    assert cg.gradcheck(lambda a, b: F.conv2d(a, b, padding=1), (x, w))
