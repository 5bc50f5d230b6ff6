"""The intra-op threads (compgraph.parallel): every threaded kernel run with 1 and with 2
threads gives bitwise the same numbers, those numbers agree with PyTorch, the threaded
path is the one taken with 2 threads on these sizes, and with 1 thread the pool is never
touched."""
import numpy as np
import pytest
import torch

import compgraph as cg
from compgraph import parallel


@pytest.fixture(autouse=True)
def restore_threads():
    threads = cg.get_num_threads()
    blas = [(c, c.get_num_threads()) for c in parallel._blas_controllers()]
    yield
    cg.set_num_threads(threads)
    for c, n in blas:
        c.set_num_threads(n)


class _Spy:
    """Counts the kernels that were cut into more than one chunk."""

    def __init__(self, monkeypatch):
        self.split = 0
        real = parallel.run

        def run(fn, rows, n, pieces=None):
            self.split += n > 1
            return real(fn, rows, n, pieces)
        monkeypatch.setattr(parallel, "run", run)


def _both(fn, monkeypatch):
    """fn() on 1 thread (the pool forbidden) and on 2 threads (at least one kernel split):
    both results, as lists of NumPy arrays."""
    cg.set_num_threads(1)
    with monkeypatch.context() as m:
        m.setattr(parallel, "_executor", lambda: pytest.fail("the pool was used on 1 thread"))
        one = [np.array(a) for a in fn()]
    cg.set_num_threads(2)
    spy = _Spy(monkeypatch)
    two = [np.array(a) for a in fn()]
    assert spy.split, "no kernel was split over 2 threads: the test misses the threaded path"
    return one, two


def _assert_bitwise(one, two):
    assert len(one) == len(two)
    for a, b in zip(one, two):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True), np.nanmax(np.abs(a - b))


def _rand(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def _grads(out, g, *leaves):
    (out * cg.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


def _torch_grads(out, g, *leaves):
    (out * torch.tensor(g)).sum().backward()
    return [out.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]


def _close(cg_results, torch_results, tol):
    for a, b in zip(cg_results, torch_results):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


@pytest.mark.parametrize("x_shape,w_shape,kw", [
    ((64, 32, 26, 26), (64, 32, 3, 3), {}),                       # mnist-cnn's conv2
    ((128, 16, 40, 40), (16, 16, 3, 3), {"padding": 1, "stride": 2}),
    ((96, 6, 37, 39), (12, 3, 3, 2), {"padding": (2, 1), "dilation": 2, "groups": 2}),
])
def test_conv2d_threads_bitwise_and_torch(monkeypatch, x_shape, w_shape, kw):
    x, w = _rand(x_shape, 1), _rand(w_shape, 2, 0.2)
    b = _rand(w_shape[:1], 3)

    def run():
        xt, wt, bt = (cg.tensor(a, requires_grad=True) for a in (x, w, b))
        out = cg.nn.functional.conv2d(xt, wt, bt, **kw)
        return _grads(out, _rand(tuple(out.shape), 4), xt, wt, bt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.conv2d(xt, wt, bt, **kw)
    _close(two, _torch_grads(out, _rand(tuple(out.shape), 4), xt, wt, bt), 2e-4)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 3, "stride": 1}])
def test_max_pool2d_threads_bitwise_and_torch(monkeypatch, kw):
    x = _rand((64, 32, 24, 24), 5)
    x[3, 2, 5, 5] = x[40, 7, 0, 9] = np.nan       # the NaN path, in two chunks only

    def run():
        xt = cg.tensor(x, requires_grad=True)
        out = cg.nn.functional.max_pool2d(xt, **kw)
        return _grads(out, _rand(tuple(out.shape), 6), xt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.max_pool2d(xt, **kw)
    _close(two, _torch_grads(out, _rand(tuple(out.shape), 6), xt), 1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(700, 1000), (64, 6, 32, 33), (3, 65537)])
def test_softmax_threads_bitwise_and_torch(monkeypatch, name, shape):
    a = _rand(shape, 7, 3)

    def run():
        xt = cg.tensor(a, requires_grad=True)
        return _grads(getattr(cg, name)(xt, dim=-1), _rand(shape, 8), xt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    xt = torch.tensor(a, requires_grad=True)
    _close(two, _torch_grads(getattr(torch, name)(xt, dim=-1), _rand(shape, 8), xt), 1e-4)


@pytest.mark.parametrize("shape,normalized", [((64, 32, 192), (192,)), ((200, 40, 7, 5), (7, 5))])
def test_layer_norm_threads_bitwise_and_torch(monkeypatch, shape, normalized):
    x = _rand(shape, 9, 2) + 1
    w, b = _rand(normalized, 10), _rand(normalized, 11)

    def run():
        xt, wt, bt = (cg.tensor(a, requires_grad=True) for a in (x, w, b))
        out = cg.nn.functional.layer_norm(xt, normalized, wt, bt)
        return _grads(out, _rand(shape, 12), xt, wt, bt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    out = torch.nn.functional.layer_norm(xt, normalized, wt, bt)
    _close(two, _torch_grads(out, _rand(shape, 12), xt, wt, bt), 1e-4)


@pytest.mark.parametrize("x_shape,w_shape", [((512, 192), (576, 192)), ((16, 32, 768), (192, 768)),
                                             ((700, 64), (10000, 64))])
def test_linear_threads_bitwise_and_torch(monkeypatch, x_shape, w_shape):
    x, w, b = _rand(x_shape, 13), _rand(w_shape, 14, 0.1), _rand(w_shape[:1], 15)
    out_shape = x_shape[:-1] + w_shape[:1]

    def run():
        xt, wt, bt = (cg.tensor(a, requires_grad=True) for a in (x, w, b))
        return _grads(cg.nn.functional.linear(xt, wt, bt), _rand(out_shape, 16), xt, wt, bt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    _close(two, _torch_grads(torch.nn.functional.linear(xt, wt, bt), _rand(out_shape, 16),
                             xt, wt, bt), 1e-4)


def test_matmul_threads_bitwise_and_torch(monkeypatch):
    a, b = _rand((300, 400), 17), _rand((400, 500), 18)

    def run():
        at, bt = cg.tensor(a, requires_grad=True), cg.tensor(b, requires_grad=True)
        return _grads(at @ bt, _rand((300, 500), 19), at, bt)
    one, two = _both(run, monkeypatch)
    _assert_bitwise(one, two)
    at, bt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    _close(two, _torch_grads(at @ bt, _rand((300, 500), 19), at, bt), 1e-4)


def test_thread_count_calls_match_torch_and_reject_bad_counts():
    cg.set_num_threads(3)
    assert cg.get_num_threads() == 3
    cg.set_num_interop_threads(2)
    assert cg.get_num_interop_threads() == 2
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(RuntimeError, match="set_num_threads: the number of threads"):
            cg.set_num_threads(bad)
    assert cg.get_num_threads() == 3
    # compgraph splits its products itself: the BLAS library is held at one thread
    assert all(c.get_num_threads() == 1 for c in parallel._blas_controllers())


def test_small_arrays_and_one_thread_run_inline():
    cg.set_num_threads(2)
    assert parallel.parts(100, 1000) == 1                    # too little work
    assert parallel.parts(1, 10 ** 7) == 1                   # one row cannot be cut
    assert parallel.parts(1000, 10 ** 7) == 2
    cg.set_num_threads(1)
    assert parallel.parts(1000, 10 ** 7) == 1


def test_an_error_in_a_chunk_is_raised_after_every_chunk_finished():
    import threading
    import time
    cg.set_num_threads(2)
    lock, started, finished = threading.Lock(), [], []

    def chunk(i, j):
        with lock:
            started.append(i)
        time.sleep(0.002)
        with lock:
            finished.append(i)
        if i == 0:
            raise KeyError("first chunk")
    with pytest.raises(KeyError, match="first chunk"):
        parallel.run(chunk, 16, 2)
    with lock:                       # nothing still running once the error is raised
        assert sorted(started) == sorted(finished) and 0 in started


def test_every_piece_runs_once_whoever_takes_it():
    cg.set_num_threads(2)
    seen = parallel.run(lambda i, j: list(range(i, j)), 1000, 2, pieces=37)
    assert [k for piece in seen for k in piece] == list(range(1000))
    assert len(seen) == 37


def test_ranges_cover_rows_contiguously():
    for rows in (1, 7, 64):
        for n in (1, 2, 3):
            spans = parallel.ranges(rows, n)
            assert spans[0][0] == 0 and spans[-1][1] == rows
            assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
            assert max(b - a for a, b in spans) - min(b - a for a, b in spans) <= 1


@pytest.mark.parametrize("make", [
    lambda torch_, ps: torch_.optim.Adam(ps, lr=1e-2, weight_decay=0.1),
    lambda torch_, ps: torch_.optim.Adam(ps, lr=1e-2, amsgrad=True, maximize=True),
    lambda torch_, ps: torch_.optim.AdamW(ps, lr=1e-2),
    lambda torch_, ps: torch_.optim.Adadelta(ps, lr=1.0, weight_decay=0.01),
])
def test_optimizer_updates_threads_bitwise_and_torch(monkeypatch, make):
    shapes = [(600, 300), (7,), (300,), (64, 3, 3, 3), ()]     # one big, cut across threads
    values = [_rand(s, 20 + k) for k, s in enumerate(shapes)]
    grads = [[_rand(s, 40 + 10 * step + k) for k, s in enumerate(shapes)] for step in range(3)]

    def train(lib):
        params = [lib.tensor(v.copy(), requires_grad=True) for v in values]
        opt = make(lib, params)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = lib.tensor(g)
            opt.step()
        return [p.detach().numpy() for p in params]
    one, two = _both(lambda: train(cg), monkeypatch)
    _assert_bitwise(one, two)
    _close(two, train(torch), 1e-5)
