"""DistributedDataParallel: one model per rank, gradients averaged in buckets.

    model = DistributedDataParallel(build_model())      # broadcasts rank 0's parameters
    optimizer = compgraph.optim.SGD(model.parameters(), lr=0.1)
    for idx in sampler.batches(global_batch):
        optimizer.zero_grad()
        model.set_step_weight(len(idx), global_batch)  # only if batches can be uneven
        loss = criterion(model(x[idx]), y[idx])
        loss.backward()
        model.synchronize()                            # the averaged gradients land in .grad
        optimizer.step()

Gradients are copied into flat per-dtype buckets of about ``bucket_size_mb``
and each bucket is summed across ranks with one non-blocking ``Iallreduce``;
many small parameters then cost one message, not one each.  Buckets hold the
parameters in reverse registration order, the order in which backward
finishes their gradients.

Overlap with backward: the engine's backward computes every leaf gradient
and stores them all at the end of the sweep, with no per-leaf callback, so
today all buckets start in ``synchronize()`` (they still overlap each
other).  If ``compgraph.autograd.register_post_accumulate_grad_hook`` exists
(the hook proposed to the lead in issue 7), a bucket's allreduce starts
during backward as soon as its last gradient is final, and
``synchronize()`` only waits for what is still in flight.  Buckets always
start in bucket order, the same on every rank, as MPI requires.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

import compgraph
from compgraph import autograd
from compgraph.distributed import comm
from compgraph.errors import CompgraphError
from compgraph.nn import Module

__all__ = ["DistributedDataParallel", "DDPUsageError"]


class DDPUsageError(CompgraphError, RuntimeError):
    """A second forward before the gradients of the first were averaged."""


class _Bucket:
    """Some parameters' gradients as one flat array, and its allreduce in flight."""

    def __init__(self, index, params):
        self.index = index
        self.params = params
        self.flat = np.empty(sum(p._value.size for p in params), dtype=params[0].dtype)
        self.slices = []
        offset = 0
        for p in params:
            self.slices.append(slice(offset, offset + p._value.size))
            offset += p._value.size
        self.ready = 0          # gradients final so far in this step (hook path)
        self.request = None

    def start(self, mpi_comm, weight):
        """Copy weight * grad into the flat array (zeros for a missing gradient), send it."""
        flat = self.flat
        for p, sl in zip(self.params, self.slices):
            if p.grad is None or weight == 0:
                flat[sl] = 0
            else:
                np.multiply(p.grad._value.reshape(-1), weight, out=flat[sl])
        if mpi_comm.Get_size() > 1:
            self.request = mpi_comm.Iallreduce(comm._MPI.IN_PLACE, flat, op=comm._MPI.SUM)

    def finish(self):
        """Put the summed (already weighted, hence averaged) gradients back into .grad."""
        for p, sl in zip(self.params, self.slices):
            avg = self.flat[sl].reshape(p._value.shape)
            g = p.grad
            if g is not None and g._value.shape == avg.shape and g._value.flags.writeable \
                    and isinstance(g._value, np.ndarray):
                np.copyto(g._value, avg)
            else:
                p.grad = compgraph.from_numpy(avg.copy())
        self.request = None
        self.ready = 0


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over the MPI job (PyTorch's name).

    ``bucket_size_mb``: the size of one allreduce message (PyTorch's default, 25).
    ``broadcast=True`` copies rank 0's parameters and buffers to every rank now.
    ``timeout``: seconds a bucket's allreduce may take before the job is aborted
    (default $COMPGRAPH_DIST_TIMEOUT or comm.DEFAULT_TIMEOUT).
    """

    def __init__(self, module, bucket_size_mb: float = 25.0, broadcast: bool = True,
                 timeout: float | None = None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a compgraph.nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_size_mb > 0:
            raise ValueError(f"bucket_size_mb must be positive, got {bucket_size_mb}")
        self.module = module
        d = self.__dict__         # plain attributes, kept out of the module registry
        d["_comm"] = comm.init()
        d["_timeout"] = timeout
        if broadcast:
            comm.broadcast_parameters(module)
        params = [p for p in module.parameters() if p.requires_grad]
        d["_buckets"] = _make_buckets(params, bucket_size_mb * 2 ** 20)
        d["_bucket_of"] = {p: b for b in self._buckets for p in b.params}
        d["_next_start"] = 0      # buckets start in order: the next one allowed to
        d["_weight"] = None       # this step's gradient weight; None means 1 / world size
        d["_syncing"] = True      # False inside no_sync()
        d["_awaiting_sync"] = False
        d["_hooks"] = _register_hooks(params, self._on_grad_ready)
        # counters the benchmark reports
        d["comm_seconds"] = 0.0     # wall time inside synchronize()
        d["steps"] = 0
        d["early_starts"] = 0       # buckets whose allreduce started during backward

    # --- running -------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if self._awaiting_sync and self._syncing and compgraph.is_grad_enabled() \
                and self.training and any(p.grad is not None for p in self._bucket_of):
            raise DDPUsageError(
                "DistributedDataParallel: forward again before the previous step's gradients "
                "were averaged: call model.synchronize() after loss.backward() and before "
                "optimizer.step(); to accumulate gradients over several batches, run the "
                "earlier ones inside `with model.no_sync():`")
        if self._syncing and compgraph.is_grad_enabled() and self.training:
            self.__dict__["_awaiting_sync"] = True
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Gradients of backward passes in here accumulate locally, unsynchronised."""
        self.__dict__["_syncing"] = False
        try:
            yield
        finally:
            self.__dict__["_syncing"] = True

    def set_step_weight(self, local_count: int, global_count: int) -> None:
        """Weight this rank's gradient by local_count / global_count for the next
        synchronize() (call it before backward).  Gradients of mean losses then
        combine into the mean over the global batch even when ranks hold different
        numbers of examples (the last step of an epoch), including none."""
        if global_count <= 0 or not 0 <= local_count <= global_count:
            raise ValueError(f"set_step_weight: need 0 <= local_count <= global_count and "
                             f"global_count > 0, got {local_count}, {global_count}")
        self.__dict__["_weight"] = local_count / global_count

    # --- averaging -------------------------------------------------------------------------
    def _step_weight(self):
        return 1.0 / self._comm.Get_size() if self._weight is None else self._weight

    def _on_grad_ready(self, param):
        """Backward hook: param.grad is final; start every bucket now complete, in order."""
        if not self._syncing:
            return
        bucket = self._bucket_of.get(param)
        if bucket is None:
            return
        bucket.ready += 1
        before = self._next_start
        self._start_ready(lambda b: b.ready == len(b.params))
        self.__dict__["early_starts"] += self._next_start - before
        # MPI moves a non-blocking collective along only inside MPI calls: poke it
        inflight = [b.request for b in self._buckets[:self._next_start] if b.request is not None]
        if inflight:
            comm._MPI.Request.Testall(inflight)

    def _start_ready(self, is_ready):
        buckets, weight = self._buckets, self._step_weight()
        i = self._next_start
        while i < len(buckets) and is_ready(buckets[i]):
            buckets[i].start(self._comm, weight)
            i += 1
        self.__dict__["_next_start"] = i

    def synchronize(self) -> None:
        """Average the gradients across ranks (collective: every rank must call it,
        once per step, even a rank whose batch was empty)."""
        started = time.perf_counter()
        self._start_ready(lambda b: True)          # whatever backward did not start
        pending = [b.request for b in self._buckets if b.request is not None]
        if pending:
            comm.wait(pending, f"allreduce of gradients ({len(self._buckets)} bucket(s), "
                               f"{self.bytes_per_step} bytes)", self._timeout)
        for b in self._buckets:
            b.finish()
        d = self.__dict__
        d["_next_start"] = 0
        d["_weight"] = None
        d["_awaiting_sync"] = False
        d["comm_seconds"] += time.perf_counter() - started
        d["steps"] += 1

    # --- introspection -------------------------------------------------------------------------
    @property
    def bytes_per_step(self) -> int:
        """Bytes of gradient each rank contributes to allreduce per step."""
        return sum(b.flat.nbytes for b in self._buckets)

    @property
    def bucket_sizes(self):
        return [b.flat.nbytes for b in self._buckets]

    @property
    def overlaps_backward(self) -> bool:
        """True when the engine's per-parameter hook lets buckets start during backward."""
        return bool(self._hooks)

    def remove_hooks(self) -> None:
        """Detach from the engine's gradient hooks (when dropping the wrapper, keeping the model)."""
        for handle in self._hooks:
            handle.remove()
        self.__dict__["_hooks"] = []

    def state_dict(self, *args, **kwargs):
        """The wrapped module's state (no 'module.' prefix), so checkpoints load into the
        bare model and into a run with any number of ranks."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)

    def extra_repr(self):
        return (f"world_size={self._comm.Get_size()}, buckets={len(self._buckets)}, "
                f"bytes_per_step={self.bytes_per_step}")


def _make_buckets(params, bucket_bytes):
    """Reverse registration order (backward finishes the last layer first), one dtype per
    bucket, a new bucket when the next parameter would pass bucket_bytes."""
    buckets, current, size = [], [], 0
    for p in reversed(params):
        if current and (size + p._value.nbytes > bucket_bytes or p.dtype != current[0].dtype):
            buckets.append(_Bucket(len(buckets), current))
            current, size = [], 0
        current.append(p)
        size += p._value.nbytes
    if current:
        buckets.append(_Bucket(len(buckets), current))
    return buckets


def _register_hooks(params, callback):
    """Per-parameter 'gradient is final' hooks, if the engine has them; [] otherwise."""
    register = getattr(autograd, "register_post_accumulate_grad_hook", None)
    if register is None:
        return []
    return [register(p, callback) for p in params]
