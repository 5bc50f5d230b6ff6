"""The Numba step's Python side (executors/lower_numba.py, wrapper): a replay that passes the
guard calls the compiled entry point directly, with no type checks of its own, so every
guard that pins those types must trip where the types change -- an input of other strides,
a parameter array of another layout, another shape or dtype, a non-tensor -- and the step
must still agree with the eager one afterwards.  Temporaries live in one scratch buffer
reused by every call: results must not alias it, and .grad tensors someone holds must not
be overwritten."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn.functional as F
from compgraph.errors import BoundsError, DTypeError, TraceError

pytest.importorskip("numba")

from tests.core.test_compile_numba import _cache, _step_fn  # noqa: E402,F401 (_cache: a fixture)
from tests.core.test_compile_numba_kernels import _batches, _mlp  # noqa: E402

RTOL = 1e-5


def _pair(seed, loss_fn=F.cross_entropy):
    cg.manual_seed(seed)
    models = [_mlp() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    opts = [cg.optim.SGD(m.parameters(), lr=0.1) for m in models]
    return models, _step_fn(models[0], opts[0], loss_fn), \
        cg.compile(_step_fn(models[1], opts[1], loss_fn), backend="numba")


def _agree(models):
    for p, q in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=RTOL, atol=1e-7)
        np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=RTOL, atol=1e-6)


def _fast_globals(step):
    (plan,) = step.plans.values()
    return plan.fast.__globals__


def test_an_input_of_other_strides_is_read_by_its_strides():
    models, eager, native = _pair(10)
    batches = _batches(8, steps=6)
    for k, (x, t) in enumerate(batches):
        if k >= 3:   # the same shape and dtype, every other row of a bigger array: strided
            big = np.zeros((16, 30), np.float32)
            big[::2] = x.numpy()
            x = cg.tensor(big)[::2]
            assert not x.numpy().flags.c_contiguous
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=RTOL)
        _agree(models)


def test_a_parameter_replaced_by_a_fortran_array_is_read_as_one():
    models, eager, native = _pair(11)
    for k, (x, t) in enumerate(_batches(8, steps=7)):
        if k == 3:
            for m in models:
                m[0].weight.data = cg.tensor(np.asfortranarray(m[0].weight.detach().numpy() * 0.5))
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=RTOL)
        _agree(models)
    held = [v for k, v in _fast_globals(native).items() if k.startswith("V")]
    assert any(v is models[1][0].weight._value for v in held)   # the native path took it
    assert _fast_globals(native)["EXACT"] is False     # ... by the dispatcher, not the entry point


def test_a_replaced_contiguous_parameter_goes_back_to_the_entry_point():
    models, eager, native = _pair(12)
    for k, (x, t) in enumerate(_batches(8, steps=6)):
        if k == 3:
            for m in models:
                m[0].weight.data = cg.tensor(m[0].weight.detach().numpy() * 0.5)
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=RTOL)
    assert _fast_globals(native)["EXACT"] is True
    _agree(models)


def test_other_shapes_and_dtypes_trace_again():
    models, eager, native = _pair(13)
    for x, t in _batches(8, steps=3) + _batches(5, steps=3):      # another batch size
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=RTOL)
    assert len(native.plans) == 2
    _agree(models)
    x, t = _batches(8)[0]
    with pytest.raises(DTypeError, match="input is float64 but the weight is float32"):
        native(cg.tensor(x.numpy().astype(np.float64)), t)


def test_a_non_tensor_argument_is_refused_clearly():
    models, eager, native = _pair(14)
    x, t = _batches(8)[0]
    native(x, t), native(x, t)
    with pytest.raises(TraceError, match="neither a tensor nor hashable"):
        native(x.numpy(), t)


def test_a_bad_label_still_raises_on_the_entry_point():
    models, eager, native = _pair(15)
    x, t = _batches(8)[0]
    native(x, t), native(x, t)
    bad = t.numpy().copy()
    bad[5] = 4
    with pytest.raises(BoundsError, match="out of range for 4 classes"):
        native(x, cg.tensor(bad))
    bad[5] = -1
    with pytest.raises(BoundsError, match="out of range for 4 classes"):
        native(x, cg.tensor(bad))


def test_losses_and_held_grads_are_not_overwritten_by_later_calls():
    models, eager, native = _pair(16)
    losses, grads, arrays, want_losses, want_grads = [], [], [], [], []
    for x, t in _batches(8, steps=5):
        losses.append(native(x, t))
        want_losses.append(eager(x, t).item())
        grads.append(models[1][0].weight.grad)                    # the tensor held
        arrays.append(models[1][2].bias.grad.numpy())             # the array held
        want_grads.append((models[0][0].weight.grad.numpy().copy(),
                           models[0][2].bias.grad.numpy().copy()))
    np.testing.assert_allclose([l.item() for l in losses], want_losses, rtol=RTOL)
    for g, a, (wg, wa) in zip(grads, arrays, want_grads):
        np.testing.assert_allclose(g.numpy(), wg, rtol=RTOL, atol=1e-6)
        np.testing.assert_allclose(a, wa, rtol=RTOL, atol=1e-6)
    assert len({id(g) for g in grads}) == len(grads)


def test_the_guarded_call_is_the_entry_point_of_the_traced_signature():
    models, eager, native = _pair(17)
    for x, t in _batches(8, steps=2):
        native(x, t)
    env = _fast_globals(native)
    assert "run = ep" in env["__source__"] and ".strides == " in env["__source__"]
    assert env["ep"] is next(iter(env["kernel"].overloads.values())).entry_point


def test_a_grad_held_after_the_parameter_let_go_of_it_is_not_overwritten():
    """g = p.grad; p.grad = None: only the caller holds that .grad now, and the next step
    must not write into it (PyTorch's step makes a new one)."""
    models, eager, native = _pair(18)
    batches = _batches(8, steps=3)
    native(*batches[0])
    eager(*batches[0])
    g = models[1][0].weight.grad
    models[1][0].weight.grad = None
    kept = g.numpy().copy()
    native(*batches[1])
    np.testing.assert_array_equal(g.numpy(), kept)
    assert models[1][0].weight.grad is not g


def test_a_misaligned_input_goes_through_the_dispatcher():
    # same shape, strides and dtype as traced, but at an odd byte offset: Numba types it as
    # unaligned, so the entry point compiled for aligned data must not take it
    models, eager, native = _pair(12)
    batches = _batches(8, steps=6)
    for k, (x, t) in enumerate(batches):
        if k >= 3:
            a = x.numpy()
            raw = np.zeros(a.nbytes + 1, np.uint8)
            odd = np.frombuffer(raw[1:].data, np.float32).reshape(a.shape)
            odd[...] = a
            x = cg.from_numpy(odd)
            assert not x.numpy().flags.aligned and x.numpy().strides == a.strides
        np.testing.assert_allclose(native(x, t).item(), eager(x, t).item(), rtol=RTOL)
        _agree(models)
