"""MPI plumbing for data-parallel training: start-up, rank, collectives with deadlines.

Every collective here is non-blocking underneath (``Iallreduce``, ``Ibcast``,
``Ibarrier``) and is waited for by polling ``Test`` against a deadline.  A
blocking MPI call cannot be interrupted, so if one rank dies or stalls the
others would wait forever; with a deadline the waiting rank instead prints
which collective did not finish and calls ``Abort``, and ``mpirun`` then ends
the whole job with a non-zero status.  A rank that raises aborts the job at
once through the excepthook that ``init`` installs, so the usual failure is
reported in about a second, not after the timeout.

mpi4py is imported on first use only: ``import compgraph`` and
``import compgraph.distributed`` never need it.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from compgraph.errors import CompgraphError

__all__ = ["MPIUnavailableError", "INSTALL_HINT", "DEFAULT_TIMEOUT", "launched_by_mpirun",
           "init", "is_initialized", "rank", "world_size", "is_main", "barrier",
           "broadcast_arrays", "broadcast_parameters", "allreduce_", "all_reduce_mean",
           "all_reduce_sum", "wait", "abort", "install_excepthook", "default_timeout"]

INSTALL_HINT = ("compgraph.distributed needs an MPI library and mpi4py. On Debian/Ubuntu: "
                "`apt-get install -y openmpi-bin libopenmpi-dev` then "
                "`pip install 'compgraph[mpi]'` (or `pip install mpi4py`); "
                "run with `mpirun -np N python ...`")

# Seconds a collective may take before the job is aborted.  Generous: the
# slowest rank may still be computing (a long epoch, evaluation, saving a
# checkpoint) while the others already wait at the next collective.
DEFAULT_TIMEOUT = 600.0
TIMEOUT_ENV = "COMPGRAPH_DIST_TIMEOUT"
SPIN_SECONDS = 0.05   # busy-poll this long before polling once a millisecond (see wait)

_MPI = None          # the mpi4py.MPI module once init() ran
_COMM = None         # the communicator every helper uses (COMM_WORLD)
_PREVIOUS_HOOK = None


class MPIUnavailableError(CompgraphError, ImportError):
    """mpi4py or the MPI library it needs is missing: the message says what to install."""


def launched_by_mpirun() -> bool:
    """True inside a process that mpirun/mpiexec (Open MPI, MPICH, Slurm's PMI) started."""
    return any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"))


def default_timeout() -> float:
    """$COMPGRAPH_DIST_TIMEOUT seconds if set (tests use a few seconds), else DEFAULT_TIMEOUT."""
    text = os.environ.get(TIMEOUT_ENV)
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"${TIMEOUT_ENV} must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"${TIMEOUT_ENV} must be positive, got {text!r}")
    return value


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        # also covers mpi4py present but libmpi.so missing (its import fails then)
        raise MPIUnavailableError(f"{INSTALL_HINT} (import failed: {exc})") from exc
    except RuntimeError as exc:   # mpi4py found no usable MPI library at run time
        raise MPIUnavailableError(f"{INSTALL_HINT} (MPI could not start: {exc})") from exc
    return MPI


def init(excepthook: bool = True):
    """Start MPI (once) and return the communicator; install the abort-on-raise hook.

    Outside mpirun this is a job of one rank (MPI's singleton start), so code
    written for N ranks also runs as a plain ``python`` process.
    """
    global _MPI, _COMM
    if _COMM is None:
        MPI = _import_mpi()
        if not MPI.Is_initialized():
            MPI.Init()
        _MPI, _COMM = MPI, MPI.COMM_WORLD
    if excepthook:
        install_excepthook()
    return _COMM


def is_initialized() -> bool:
    return _COMM is not None


def _comm():
    return _COMM if _COMM is not None else init()


def rank() -> int:
    return _comm().Get_rank()


def world_size() -> int:
    return _comm().Get_size()


def is_main() -> bool:
    """Rank 0: the one rank that writes checkpoints, metrics and log lines.

    Without MPI started this is True, so single-process code needs no MPI.
    """
    return _COMM is None or _COMM.Get_rank() == 0


# --- failure handling -----------------------------------------------------------------------

def abort(message: str, code: int = 1):
    """Print ``message`` (prefixed with this rank) to stderr and end every rank of the job."""
    who = f"rank {_COMM.Get_rank()} of {_COMM.Get_size()}" if _COMM is not None else "rank ?"
    print(f"compgraph.distributed: {who}: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    if _COMM is not None:
        _COMM.Abort(code)
    os._exit(code)   # no MPI: still never return into a job that cannot continue


def install_excepthook() -> None:
    """Make an uncaught exception on any rank abort the job instead of leaving the
    other ranks waiting in a collective: the traceback is printed first, then Abort."""
    global _PREVIOUS_HOOK
    if _PREVIOUS_HOOK is not None:
        return
    _PREVIOUS_HOOK = sys.excepthook

    def hook(exc_type, exc, tb):
        _PREVIOUS_HOOK(exc_type, exc, tb)
        if issubclass(exc_type, KeyboardInterrupt):
            reason = "interrupted"
        else:
            reason = f"raised {exc_type.__name__}: {exc}"
        abort(f"{reason}; aborting the job so that the other ranks do not wait for it")

    sys.excepthook = hook


def wait(requests, what: str, timeout: float | None = None) -> float:
    """Wait for MPI requests, aborting the job if they are not done within ``timeout``.

    Returns the seconds spent waiting.  MPI moves a transfer along only
    inside MPI calls (Open MPI has no progress thread for TCP), so the first
    SPIN_SECONDS poll ``Testall`` back to back: a large message needs many
    rounds, and sleeping between them made an 800 KB allreduce 5x slower
    here.  After that, a rank that is waiting for a slower one polls every
    millisecond and leaves the core to it.
    """
    MPI = _MPI
    if not isinstance(requests, (list, tuple)):
        requests = [requests]
    testall = MPI.Request.Testall
    start = time.perf_counter()
    if testall(requests):
        return time.perf_counter() - start
    deadline = start + (default_timeout() if timeout is None else timeout)
    spin_until = start + SPIN_SECONDS
    while not testall(requests):
        now = time.perf_counter()
        if now > spin_until:
            if now > deadline:
                abort(f"{what} did not complete within {now - start:.0f} s: another rank "
                      f"has probably failed or stalled (set ${TIMEOUT_ENV} to wait longer)")
            time.sleep(1e-3)
    return time.perf_counter() - start


# --- collectives ------------------------------------------------------------------------------

def barrier(what: str = "barrier", timeout: float | None = None) -> None:
    comm = _comm()
    wait(comm.Ibarrier(), what, timeout)


def _op(name):
    ops = {"sum": _MPI.SUM, "max": _MPI.MAX, "min": _MPI.MIN}
    if name not in ops:
        raise ValueError(f"reduction op must be one of {', '.join(ops)}, got {name!r}")
    return ops[name]


def allreduce_(array: np.ndarray, op: str = "sum", what: str = "allreduce",
               timeout: float | None = None) -> np.ndarray:
    """Reduce a contiguous NumPy array across ranks, in place; returns it."""
    comm = _comm()
    if not (isinstance(array, np.ndarray) and array.flags.c_contiguous and array.flags.writeable):
        raise ValueError("allreduce_: needs a writeable, C-contiguous NumPy array")
    if comm.Get_size() > 1:
        wait(comm.Iallreduce(_MPI.IN_PLACE, array, op=_op(op)), what, timeout)
    return array


def all_reduce_sum(value, what: str = "all_reduce_sum"):
    """Sum of a number (or array) over the ranks; a float for a number."""
    arr = np.array(value, dtype=np.float64)   # float64: sums of losses keep their digits
    flat = np.ascontiguousarray(arr.reshape(-1))
    allreduce_(flat, "sum", what)
    out = flat.reshape(arr.shape)
    return float(out) if out.ndim == 0 else out


def all_reduce_mean(value, weight=None, what: str = "all_reduce_mean"):
    """The mean of a metric over the ranks.

    With ``weight`` (e.g. how many examples this rank's value averages over)
    the mean is weighted: sum(value * weight) / sum(weight), which is the
    dataset mean even when ranks hold different numbers of examples.
    """
    if weight is None:
        return all_reduce_sum(value, what) / world_size()
    v = np.asarray(value, dtype=np.float64)
    both = np.concatenate([(v * weight).reshape(-1), [float(weight)]])
    total = all_reduce_sum(both, what)
    mean = total[:-1] / total[-1] if total[-1] else total[:-1] * np.nan
    return float(mean[0]) if v.ndim == 0 else mean.reshape(v.shape)


def broadcast_arrays(arrays, root: int = 0, what: str = "broadcast") -> None:
    """Overwrite ``arrays`` (NumPy, any dtypes) on every rank with root's, in place.

    Arrays of one dtype travel as one flat message (one Ibcast per dtype).
    """
    comm = _comm()
    if comm.Get_size() == 1:
        return
    by_dtype = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype.str, []).append(a)
    for group in by_dtype.values():
        flat = np.concatenate([a.reshape(-1) for a in group]) if group else None
        wait(comm.Ibcast(flat, root=root), f"{what} ({flat.size} values of {flat.dtype})")
        offset = 0
        for a in group:
            a.reshape(-1)[...] = flat[offset:offset + a.size]
            offset += a.size


def broadcast_parameters(module_or_tensors, root: int = 0) -> None:
    """Make every rank's parameters (and a module's buffers) equal to rank ``root``'s.

    Call it once after building the model and before the first step (the
    DistributedDataParallel wrapper does), so ranks start from one point even
    if they were initialised with different seeds.
    """
    if hasattr(module_or_tensors, "parameters") and hasattr(module_or_tensors, "buffers"):
        tensors = list(module_or_tensors.parameters()) + list(module_or_tensors.buffers())
    else:
        tensors = list(module_or_tensors)
    arrays = []
    for t in tensors:
        v = t._value
        if not isinstance(v, np.ndarray):
            raise TypeError("broadcast_parameters: only NumPy (cpu) tensors can be sent; "
                            "call .cpu() on the model first")
        if not v.flags.c_contiguous or not v.flags.writeable:
            t._value = v = np.ascontiguousarray(v).copy()
        arrays.append(v)
    broadcast_arrays(arrays, root, what="broadcast of parameters from rank %d" % root)
