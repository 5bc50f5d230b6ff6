"""Intra-op threads: compgraph's heavy NumPy kernels run on several cores.

NumPy's ufuncs, copies and reductions run on the calling thread only, but they release
the GIL inside their loops, so a kernel over a large array can be cut into contiguous
pieces along its leading axis, each computed with ``out=`` slices on a Python thread.
Pieces are chosen so that every element is computed exactly as in the one-thread kernel
(row-wise work, whole rows per piece; a big product cut by output rows; an optimizer's
elementwise update cut anywhere): results are bitwise the same whatever the thread count.

``set_num_threads(n)`` sets the size of this pool and, where threadpoolctl is installed,
the BLAS library's threads, as ``torch.set_num_threads`` does for PyTorch.  With one
thread no kernel dispatches to the pool at all.  The default is OMP_NUM_THREADS where it
is set, otherwise the number of cores this process may run on.

Core-level: imports only compgraph.errors."""
import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .errors import ArgumentValueError

# Below this much work (elements times passes over them) a kernel runs in one piece: a
# hand-off to a sleeping thread costs 30-40 us each way on this 2-core VM (60-80 us round
# trip measured), a pass over 64k float32 elements ~10-30 us: a split pays from about
# half a million element-passes (one pass over 1M elements: 0.6 -> 0.4 ms on 2 threads).
MIN_ELEMENTS = 1 << 19


def _default_threads():
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# True: compgraph splits its large matrix products over its own threads and holds the BLAS
# library at one (see set_num_threads).  False: set_num_threads gives BLAS the n threads
# and leaves products to it (better for workloads of many mid-size products on an idle
# machine, where OpenBLAS's spinning threads answer in microseconds; worse for the rest:
# see benchmarks/RESULTS.md, branch par16).  Read when set_num_threads is called; the
# environment variable COMPGRAPH_SPLIT_PRODUCTS=0 sets it False at import.
SPLIT_PRODUCTS = os.environ.get("COMPGRAPH_SPLIT_PRODUCTS", "1").strip() != "0"

_threads = _default_threads()
_interop = _threads
_pool = None
_pool_lock = threading.Lock()
_local = threading.local()   # .inside: this thread is running a chunk already


def _check_count(name, n):
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        # a RuntimeError as well, as PyTorch raises
        raise ArgumentValueError(f"{name}: the number of threads must be a positive "
                                 f"integer, got {n!r}")
    return n


def get_num_threads():
    """The number of threads the intra-op kernels use."""
    return _threads


def set_num_threads(n):
    """Use n threads in compgraph's kernels, as torch.set_num_threads does for PyTorch.

    The matrix products are split over the same threads (large ones, by rows), so the
    BLAS library is set to one thread (where threadpoolctl is installed): OpenBLAS's own
    threads spin for a while after each product, and a spinning thread takes the core the
    next elementwise kernel's second chunk needs (measured: two-thread mnist-cnn steps
    no faster than one thread with OpenBLAS spinning beside the pool, and 2-7x slower
    whenever another process wanted a core).  This pool's threads block when idle."""
    global _threads, _pool
    _check_count("set_num_threads", n)
    with _pool_lock:
        if n != _threads and _pool is not None:
            _pool.shutdown(wait=True)
            _pool = None
        _threads = n
    for controller in _blas_controllers():
        controller.set_num_threads(1 if SPLIT_PRODUCTS else n)


def get_num_interop_threads():
    """Kept for PyTorch programs: compgraph runs ops one after another, so this only
    records the number set."""
    return _interop


def set_num_interop_threads(n):
    global _interop
    _interop = _check_count("set_num_interop_threads", n)


def _forget_pool():
    """In a forked child the pool's threads do not exist: make a new pool on first use."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _executor():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=max(1, _threads - 1),
                                       thread_name_prefix="compgraph-intra-op")
        return _pool


def parts(rows, elements, min_elements=MIN_ELEMENTS):
    """How many threads a kernel over `rows` rows should use, `elements` being its work
    (elements times the passes it makes over them): 1 (run it inline) unless several
    threads are set and the work is large."""
    if _threads == 1 or elements < min_elements or rows < 2 or getattr(_local, "inside", False):
        return 1
    return min(_threads, rows, elements // (min_elements // 2) or 1)


def ranges(rows, n):
    """rows cut into n contiguous (start, stop) ranges of nearly equal size."""
    q, r = divmod(rows, n)
    out, start = [], 0
    for i in range(n):
        stop = start + q + (1 if i < r else 0)
        out.append((start, stop))
        start = stop
    return out


class _Job:
    """The pieces of one kernel, taken one at a time by whichever thread is free: the
    calling thread works through them itself and the pool's threads join when they get a
    core.  On a busy machine a helper that starts late finds nothing left and the kernel
    costs what it costs on one thread, instead of waiting for a helper's turn on a core."""
    __slots__ = ("fn", "spans", "results", "take", "left", "lock", "done", "error")

    def __init__(self, fn, spans):
        self.fn, self.spans = fn, spans
        self.results = [None] * len(spans)
        self.take = itertools.count().__next__     # atomic: one piece to one thread
        self.left = len(spans)
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.error = None

    def work(self):
        inside, _local.inside = getattr(_local, "inside", False), True
        try:
            while True:
                k = self.take()
                if k >= len(self.spans):
                    return
                try:
                    if self.error is None:
                        self.results[k] = self.fn(*self.spans[k])
                except BaseException as exc:   # noqa: B902 - raised by the caller
                    with self.lock:
                        self.error = self.error or exc
                finally:
                    with self.lock:
                        self.left -= 1
                        if not self.left:
                            self.done.set()
        finally:
            _local.inside = inside


def run(fn, rows, n, pieces=None):
    """fn(start, stop) over `rows` cut into `pieces` contiguous ranges (default 4 per
    thread), run by this thread and up to n - 1 of the pool's; returns the results in
    range order.  Only the ranges depend on `pieces`, never on who runs them.  An
    exception in any range is raised here once no range is running any more."""
    if n == 1:
        return [fn(0, rows)]
    job = _Job(fn, ranges(rows, min(rows, pieces or 4 * n)))
    pool = _executor()
    for _ in range(n - 1):
        pool.submit(job.work)
    job.work()
    job.done.wait()
    if job.error is not None:
        raise job.error
    return job.results


# BLAS products inside chunks: two chunks on two threads, each asking OpenBLAS for two
# threads, oversubscribe the cores (OpenBLAS's threads spin while they wait), so while
# the chunks of one kernel run, the BLAS library is held at one thread.  Setting it is a
# C call of under a microsecond through threadpoolctl's controllers, made once per kernel.
_blas = None                 # threadpoolctl's BLAS controllers, found on first use


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            found = ThreadpoolController().select(user_api="blas").lib_controllers
            # NumPy's (and SciPy's) BLAS, not one that PyTorch bundles in the same process
            _blas = [c for c in found if "/torch/" not in c.filepath.replace(os.sep, "/")]
        except Exception:    # not installed, or no BLAS it knows: nothing to hold
            _blas = []
    return _blas


class _BlasSingle:
    __slots__ = ("saved",)

    def __enter__(self):
        self.saved = [(c, c.get_num_threads()) for c in _blas_controllers()]
        for c, n in self.saved:
            if n != 1:
                c.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        for c, n in self.saved:
            if n != 1:
                c.set_num_threads(n)
        return False


def run_blas(fn, rows, n, pieces=None):
    """run(), with the BLAS library held at one thread while several chunks run."""
    if n == 1:
        return run(fn, rows, 1)
    with _BlasSingle():
        return run(fn, rows, n, pieces)


# --- matrix products ----------------------------------------------------------------------

# A product is split when it has at least this many multiply-adds (~0.4 ms on one core at
# the ~40 GMAC/s OpenBLAS reaches here): below that the pool's hand-off eats the gain.
MIN_GEMM_MACS = 1 << 24


def _gemm_parts(m, k, n, split):
    if (_threads == 1 or not SPLIT_PRODUCTS or m * k * n < MIN_GEMM_MACS or split < 2
            or getattr(_local, "inside", False)):
        return 1
    return min(_threads, split)


def _gemm_split(a, b, by_columns):
    """a (M, K) @ b (K, N), NumPy 2-D arrays, its output cut by rows (or columns) over the
    pool's threads when the product is large (BLAS held at one thread meanwhile)."""
    if _threads == 1:
        return a @ b
    m, k = a.shape
    n = b.shape[1]
    parts_ = _gemm_parts(m, k, n, n if by_columns else m)
    if parts_ == 1:
        return a @ b
    import numpy as np
    out = np.empty((m, n), dtype=np.result_type(a.dtype, b.dtype))
    if by_columns:
        run_blas(lambda i, j: np.matmul(a, b[:, i:j], out=out[:, i:j]), n, parts_, parts_)
    else:
        run_blas(lambda i, j: np.matmul(a[i:j], b, out=out[i:j]), m, parts_, parts_)
    return out


def gemm_rows(a, b):
    """a @ b with its output rows computed on the pool's threads when the product is large."""
    return _gemm_split(a, b, False)


def gemm_cols(a, b):
    """a @ b split by output columns instead (for a product whose rows are few and columns
    many: W @ X^T over a batch)."""
    return _gemm_split(a, b, True)


def run_each(tasks, elements, min_elements=MIN_ELEMENTS):
    """[task() for task in tasks], the tasks side by side on the pool's threads when the
    work (`elements` in all) is large; each task is computed whole, as on one thread."""
    n = parts(len(tasks), elements, min_elements)
    runs = run(lambda a, b: [task() for task in tasks[a:b]], len(tasks), n)
    return [r for part in runs for r in part]


# --- optimizer updates: many same-shaped arrays, elementwise --------------------------------

def foreach(tasks, passes, min_elements=MIN_ELEMENTS):
    """Run fn(*arrays) for each (fn, arrays) of `tasks`, where fn is an elementwise update
    (in place) of same-shaped arrays: an optimizer's step over its parameters.

    On one thread, or with little work, each fn gets its whole arrays, in order.  Otherwise
    the elements of all the tasks are cut into one contiguous share per thread (a big
    parameter cut across shares, small ones grouped) and each share runs on its thread:
    one hand-off per step, and every element is computed by the same arithmetic as whole.
    A task with a non-contiguous array runs whole.  `passes`: how many passes over its
    elements an update makes (its work, for the pool)."""
    total = sum(arrays[0].size for _, arrays in tasks)
    n = 1 if _threads == 1 else parts(max(total, 1), passes * total, min_elements)
    if n == 1:
        for fn, arrays in tasks:
            fn(*arrays)
        return
    flat, whole = [], []
    for fn, arrays in tasks:
        if all(a.flags.c_contiguous for a in arrays):
            flat.append((fn, [a.reshape(-1) for a in arrays]))
        else:
            whole.append((fn, arrays))
    share = -(-sum(a[0].size for _, a in flat) // (4 * n))     # 4 shares per thread
    shares, current, room = [], [], share
    for fn, arrays in flat:
        start, size = 0, arrays[0].size
        while start < size:
            take = min(room, size - start)
            current.append((fn, arrays, start, start + take))
            start += take
            room -= take
            if room == 0:
                shares.append(current)
                current, room = [], share
    if current:
        shares.append(current)
    if len(shares) < 2:
        for fn, arrays in tasks:
            fn(*arrays)
        return

    def run_share(a, b):
        for items in shares[a:b]:
            for fn, arrays, i, j in items:
                fn(*(x[i:j] for x in arrays))
        if a == 0:                    # the first share also takes the odd layouts
            for fn, arrays in whole:
                fn(*arrays)
    run(run_share, len(shares), n, len(shares))
