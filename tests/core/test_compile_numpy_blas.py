"""The NumPy fast path's BLAS writes (executors/lower_numpy.py): an outer-product weight
gradient (batch 1) written by gemm with k = 1 straight into .grad, and the mean's scale
put on the output gradient before its product with the weight.  Each is checked against a hand derivation of the
same SGD steps in float64 NumPy (not against compgraph), against eager code in float32
and float64, and where it must not apply (small shapes, a Fortran-ordered weight, no
SciPy) the source shows the plain NumPy call and the numbers still agree."""
import subprocess
import sys

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from tests.core.steps import training_step

N_IN, N_HID, N_OUT = 96, 64, 7          # 64 x 96 = 6144 weight elements: above _SMALL


def _weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((N_HID, N_IN)) * 0.2, rng.standard_normal(N_HID) * 0.1,
            rng.standard_normal((N_OUT, N_HID)) * 0.2, rng.standard_normal(N_OUT) * 0.1]


def _model(weights, dtype, fortran=False):
    net = nn.Sequential(nn.Linear(N_IN, N_HID), nn.Tanh(), nn.Linear(N_HID, N_OUT))
    for p, w in zip(net.parameters(), weights):
        a = w.astype(dtype)
        p._value = np.asfortranarray(a) if fortran and a.ndim == 2 else np.ascontiguousarray(a)
    return net


def _hand(weights, batches, lr):
    """The same SGD steps derived by hand, float64: h = tanh(x W1^T + b1), z = h W2^T + b2,
    mean softmax cross-entropy; returns the losses and the final weights and gradients."""
    W1, b1, W2, b2 = [w.astype(np.float64).copy() for w in weights]
    losses, grads = [], None
    for x, t in batches:
        n = len(t)
        h = np.tanh(x @ W1.T + b1)
        z = h @ W2.T + b2
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        losses.append(np.mean(-np.log(p[np.arange(n), t])))
        dz = p.copy()
        dz[np.arange(n), t] -= 1.0
        dz /= n
        dh = (dz @ W2) * (1.0 - h * h)
        grads = [dh.T @ x, dh.sum(axis=0), dz.T @ h, dz.sum(axis=0)]
        W1, b1, W2, b2 = [w - lr * g for w, g in zip((W1, b1, W2, b2), grads)]
    return losses, [W1, b1, W2, b2], grads


def _step(model, lr):
    """A training step over the model's parameters that require grad, plain SGD."""
    return training_step(model, cg.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                             lr=lr))


def _train(model, batches, lr, compiled=True):
    step = _step(model, lr)
    fn = cg.compile(step) if compiled else step
    losses = [float(fn(cg.tensor(x.astype(model[0].weight.dtype)), cg.tensor(t)).item())
              for x, t in batches]
    return fn, losses


def _batches(batch, steps=4, seed=3):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((batch, N_IN)), rng.integers(0, N_OUT, batch))
            for _ in range(steps)]


def _source(fn):
    (plan,) = fn.plans.values()
    assert plan.fast is not None                 # the lowered step ran, not the writer
    return plan.fast_source


def _assert_scale_folded(src):
    """The mean's 1/64 is applied once, to the output gradient, and that scaled array is
    what multiplies the output weight (no pass over the hidden gradient for it)."""
    lines = [line.strip() for line in src.splitlines()]
    scaled = [line for line in lines if "0.015625" in line]
    assert len(scaled) == 1, scaled
    name = scaled[0].split(" = ")[0]
    # (a batch's hidden gradient in the hidden value's Fortran order: (W^T g^T)^T)
    assert any(line.startswith((f"{name}_x = {name} @ e2", f"{name}_x = (e2.T @ {name}.T).T"))
               for line in lines), src


@pytest.mark.parametrize("batch", [1, 64])
def test_blas_writes_match_a_hand_derivation_in_float64(batch):
    weights, batches, lr = _weights(batch), _batches(batch), 0.05
    model = _model(weights, np.float64)
    fn, losses = _train(model, batches, lr)
    src = _source(fn)
    if batch == 1:       # both weight gradients are outer products: gemm into .grad
        assert src.count("gemm_float64(1.0, ") == 2 and "c=G0.T" in src
    else:
        _assert_scale_folded(src)
    want_losses, want_params, want_grads = _hand(weights, batches, lr)
    np.testing.assert_allclose(losses, want_losses, rtol=1e-12)
    for p, w, g in zip(model.parameters(), want_params, want_grads):
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [1, 64])
def test_blas_writes_equal_eager_steps(dtype, batch):
    weights, batches = _weights(10 + batch), _batches(batch, steps=5, seed=batch)
    eager, compiled = _model(weights, dtype), _model(weights, dtype)
    _, le = _train(eager, batches, 0.1, compiled=False)
    fn, lc = _train(compiled, batches, 0.1)
    if batch == 1:
        assert "gemm_" in _source(fn)
    else:
        _assert_scale_folded(_source(fn))
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(lc, le, rtol=rtol)
    for p, q in zip(compiled.parameters(), eager.parameters()):
        assert p.grad.numpy().flags.c_contiguous
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=rtol, atol=rtol / 10)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=rtol / 10)


def test_outer_product_gradient_is_written_into_the_grad_buffer_each_step():
    """The .grad tensor a step leaves is the one the gemm wrote (not a copy it made), and
    a gradient the caller keeps is not overwritten by the next step."""
    weights, batches = _weights(5), _batches(1, steps=3)
    model = _model(weights, np.float32)
    kept = []
    fn = cg.compile(_step(model, 0.1))
    for x, t in batches:
        fn(cg.tensor(x.astype(np.float32)), cg.tensor(t))
        g = model[0].weight.grad.numpy()
        kept.append((g, g.copy()))
        assert np.abs(g).sum() > 0
    for g, snapshot in kept:                     # each kept .grad still holds its step's
        np.testing.assert_array_equal(g, snapshot)
    assert not np.array_equal(kept[0][1], kept[1][1])
    assert "c=G0.T" in _source(fn)


@pytest.mark.parametrize("batch", [1, 64])
def test_fortran_ordered_weight_keeps_numpys_calls(batch):
    """A weight stored Fortran-ordered has a Fortran-ordered .grad buffer, whose transpose
    is not the array gemm writes: the broadcast multiply stays (batch 1); the numbers
    agree."""
    weights, batches = _weights(7), _batches(batch, steps=3)
    eager, compiled = _model(weights, np.float64, fortran=True), _model(weights, np.float64, fortran=True)
    assert compiled[0].weight.detach().numpy().flags.f_contiguous
    _, le = _train(eager, batches, 0.1, compiled=False)
    fn, lc = _train(compiled, batches, 0.1)
    src = _source(fn)
    assert "c=G0.T" not in src
    assert "np.multiply(" in src if batch == 1 else "(e0 @ a0.T).T" in src
    np.testing.assert_allclose(lc, le, rtol=1e-13)
    for p, q in zip(compiled.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-13)


def test_batches_keep_numpys_matmul():
    """A batch's forward is NumPy's (W @ X^T)^T and its weight gradient a matmul, not an
    outer product (SciPy's gemm for the forward measured slower in sequence: SciPy and
    NumPy load different OpenBLAS builds)."""
    weights, batches = _weights(8), _batches(8, steps=2)
    model = _model(weights, np.float32)
    fn, _ = _train(model, batches, 0.1)
    src = _source(fn)
    assert "gemm_" not in src and "(e0 @ a0.T).T" in src and "np.matmul(" in src


def test_scale_stays_pending_when_the_weight_is_frozen():
    """With the output weight frozen there is no scaled copy to reuse: the scale travels
    on as before, and the step still equals eager's."""
    weights, batches = _weights(12), _batches(64, steps=3)
    models = [_model(weights, np.float32) for _ in range(2)]
    for m in models:
        m[2].weight.requires_grad = False
    fns = [cg.compile(_step(models[1], 0.1)), _step(models[0], 0.1)]
    losses = [[float(fn(cg.tensor(x.astype(np.float32)), cg.tensor(t)).item()) for x, t in batches]
              for fn in fns]
    lines = [line.strip() for line in _source(fns[0]).splitlines()]
    product, = [line for line in lines if "_x = " in line and "e2" in line]
    operand = product.split(" = ")[0][:-2]                     # the unscaled gradient
    assert operand in product.split(" = ")[1]
    assert not any("0.015625" in line and line.startswith(operand + " =") for line in lines)
    assert any("0.015625" in line for line in lines)           # applied later, once
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-6)
    for p, q in zip(models[1].parameters(), models[0].parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_mlp_single_without_scipy_matches_with_it():
    """Without SciPy the lowering uses NumPy's broadcast multiply for the outer products,
    and two NumPy passes for SGD's update where SciPy's
    ger and axpy round once (FMA): the same numbers within float32 rounding."""
    code = ("import sys\n"
            "for m in ('scipy', 'scipy.special', 'scipy.linalg', 'scipy.linalg.blas'):\n"
            "    sys.modules[m] = None\n"
            "import numpy as np\n"
            "import tests.core.test_compile_numpy_blas as T\n"
            "w, b = T._weights(9), T._batches(1, steps=3)\n"
            "m = T._model(w, np.float32)\n"
            "fn, losses = T._train(m, b, 0.1)\n"
            "assert 'gemm_' not in T._source(fn)\n"
            "print(repr(losses))\n"
            "print(repr([p.detach().numpy().tolist() for p in m.parameters()]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    losses_line, params_line = out.stdout.strip().splitlines()[-2:]
    model = _model(_weights(9), np.float32)
    _, losses = _train(model, _batches(1, steps=3), 0.1)
    np.testing.assert_allclose(eval(losses_line), losses, rtol=1e-6)
    got = eval(params_line)
    for p, q in zip(model.parameters(), got):
        np.testing.assert_allclose(p.detach().numpy(), np.array(q, np.float32), rtol=1e-5, atol=1e-7)
