"""The mlp-batch workload trained data-parallel over MPI.

    python benchmarks/distributed_mlp.py                      # 1 rank, no mpirun needed
    mpirun -np 2 python benchmarks/distributed_mlp.py         # 2 ranks
    mpirun -np 2 python benchmarks/distributed_mlp.py --per-rank-batch   # weak scaling

Workload: the core mlp-batch one (workloads.py): MLP 784-256(tanh)-10 from
workloads.mlp_init(), softmax cross-entropy, SGD lr 0.1, one epoch of
Fashion-MNIST in workloads' order, 937 steps, last partial batch dropped.

By default the *global* batch is 64, dealt across the ranks (32 each on 2
ranks): every step computes the same update as one process does, so the
check value (loss of the final weights) must match the one-process run's and
the speed-up is strong scaling.  With --per-rank-batch every rank takes 64
(global 64 x N, N times fewer steps): weak scaling, a different optimisation.

Printed by rank 0: examples/s, seconds in gradient allreduce (synchronize(),
which includes waiting for a slower rank), a separately timed pure
allreduce of the same buffer, bytes allreduced per step, the check value.
Each rank uses --threads BLAS threads (default 1): 2 ranks x 1 thread fill
this 2-core machine, as 1 rank x 2 threads does.
"""

import argparse
import os
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS threads per rank (default 1)")
    p.add_argument("--per-rank-batch", action="store_true",
                   help="the batch per rank, not split (default: 64 per step in all)")
    p.add_argument("--batch", type=int, default=None,
                   help="global batch (default: the workload's 64); for compute-time curves")
    p.add_argument("--bucket-mb", type=float, default=25.0, help="DDP bucket size (default 25)")
    p.add_argument("--quick", action="store_true", help="100 global batches only")
    p.add_argument("--comm-repeats", type=int, default=200,
                   help="allreduces of the gradient buffer timed on their own")
    return p.parse_args()


def main():
    args = parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)      # before NumPy loads its BLAS
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:0] = [here, os.path.dirname(here)]   # workloads.py, and this checkout's compgraph
    import numpy as np
    import compgraph as torch
    import compgraph.nn as nn
    from compgraph import distributed as dist
    import workloads as W

    dist.init()
    world, rank = dist.world_size(), dist.rank()
    x_all, y_all = W.mlp_batch_data(args.quick)
    batch = args.batch or W.MLP_BATCH_SIZE
    global_batch = batch * (world if args.per_rank_batch else 1)
    # the workload's order (no reshuffle); each global batch dealt round-robin
    shards = dist.shard_indices(len(x_all), global_batch, world, rank, shuffle=False,
                                drop_last=True)

    model = nn.Sequential(nn.Linear(784, 256), nn.Tanh(), nn.Linear(256, 10))
    init = W.mlp_init()
    for p, name in zip(model.parameters(), ("W1", "b1", "W2", "b2")):
        p._value[...] = init[name]
    ddp = dist.DistributedDataParallel(model, bucket_size_mb=args.bucket_mb)
    opt = torch.optim.SGD(ddp.parameters(), lr=W.MLP_BATCH_LR)
    criterion = nn.CrossEntropyLoss()
    batches = [(torch.from_numpy(np.ascontiguousarray(x_all[i])),
                torch.from_numpy(np.ascontiguousarray(y_all[i]))) for i in shards]

    dist.barrier()
    start = time.perf_counter()
    for xb, yb in batches:
        opt.zero_grad()
        criterion(ddp(xb), yb).backward()
        ddp.synchronize()
        opt.step()
    local_seconds = time.perf_counter() - start
    dist.barrier()
    seconds = time.perf_counter() - start
    compute = local_seconds - ddp.comm_seconds
    compute_mean = dist.all_reduce_mean(compute)
    comm_mean = dist.all_reduce_mean(ddp.comm_seconds)

    pure = time_allreduce(dist, ddp.bytes_per_step // 4, args.comm_repeats)
    params = {n: p.detach().numpy() for n, p in zip(("W1", "b1", "W2", "b2"), model.parameters())}
    check = W.mlp_check(params)
    steps = len(batches)
    examples = steps * global_batch
    bytes_step = ddp.bytes_per_step
    ring = 2 * (world - 1) / world * bytes_step
    if rank == 0:
        # a busy machine (another job on these cores) makes every number here meaningless
        print(f"load average at the end {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        print(f"ranks {world}  threads/rank {args.threads}  global batch {global_batch} "
              f"({f'{batch} per rank' if args.per_rank_batch else 'split'})  steps {steps}  "
              f"buckets {len(ddp.bucket_sizes)}  overlap-with-backward {ddp.overlaps_backward}")
        print(f"  examples/s            {examples / seconds:10.0f}   ({examples} in {seconds:.2f} s)")
        print(f"  compute per step      {1e3 * compute_mean / steps:10.3f} ms "
              f"(mean over ranks)")
        print(f"  in allreduce per step {1e3 * comm_mean / steps:10.3f} ms "
              f"({100 * comm_mean / seconds:.1f}% of the run; includes waiting for the other rank)")
        print(f"  pure allreduce        {1e3 * pure:10.3f} ms per {bytes_step} bytes "
              f"(median of {args.comm_repeats})")
        print(f"  bytes allreduced/step {bytes_step:10d} per rank; a ring sends {ring:.0f} per rank")
        print(f"  check (final loss)    {check:.6f}   data: {W.data_source()}")


def time_allreduce(dist, count, repeats):
    """Median seconds of one allreduce of `count` float32s, nothing else running."""
    import numpy as np
    buf = np.zeros(count, dtype=np.float32)   # sums stay finite
    times = []
    for _ in range(repeats):
        dist.barrier()
        t = time.perf_counter()
        dist.allreduce_(buf)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


if __name__ == "__main__":
    main()
