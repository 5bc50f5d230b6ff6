"""Data-parallel training over MPI (issue 7): run the same script on N ranks.

    mpirun -np 4 python train.py

    from compgraph import distributed as dist
    dist.init()                                   # MPI up; a raising rank aborts the job
    model = dist.DistributedDataParallel(model)   # rank 0's parameters everywhere
    sampler = dist.DistributedSampler(len(x), shuffle=True, seed=0)
    ...
    if dist.is_main(): save(...)                  # one writer
    err = dist.all_reduce_mean(local_err, weight=len(local_x))

Importing this package needs only NumPy (the sampler is plain NumPy); the
first call that needs MPI imports mpi4py and raises MPIUnavailableError,
naming what to install, if it or the MPI library is missing.
"""

from compgraph.distributed.comm import (DEFAULT_TIMEOUT, INSTALL_HINT, MPIUnavailableError,  # noqa: F401
                                        abort, all_reduce_mean, all_reduce_sum, allreduce_,
                                        barrier, broadcast_arrays, broadcast_parameters, init,
                                        install_excepthook, is_initialized, is_main,
                                        launched_by_mpirun, rank, wait, world_size)
from compgraph.distributed.sampler import DistributedSampler, epoch_permutation, shard_indices  # noqa: F401
from compgraph.distributed.main_only import main_only, print0  # noqa: F401

__all__ = ["init", "rank", "world_size", "is_main", "barrier", "broadcast_parameters",
           "broadcast_arrays", "allreduce_", "all_reduce_mean", "all_reduce_sum", "wait",
           "abort", "install_excepthook", "is_initialized", "launched_by_mpirun",
           "MPIUnavailableError", "INSTALL_HINT", "DEFAULT_TIMEOUT",
           "DistributedSampler", "shard_indices", "epoch_permutation",
           "DistributedDataParallel", "main_only", "print0"]


def __getattr__(name):
    # ddp imports compgraph.nn (the engine): load it only when asked for
    if name in ("DistributedDataParallel", "DDPUsageError"):
        from compgraph.distributed import ddp
        return getattr(ddp, name)
    raise AttributeError(f"module 'compgraph.distributed' has no attribute {name!r}")
