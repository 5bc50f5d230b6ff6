"""What each rank runs in the MPI tests: `mpirun -np N python -m tests.distributed.workers
SCENARIO OUT_DIR`.  Results go to OUT_DIR as rank<R>.npz / .json files that the tests read."""
import json
import os
import sys
import time

import numpy as np

import compgraph.nn as nn
from compgraph import distributed as dist
from tests.distributed import problem as P

# Small buckets, so that the tests cover a gradient split over several messages.
BUCKET_MB = 0.0002


def train(out_dir, fail_at=None, stall_at=None):
    """P's problem on every rank, ranks starting from different weights (DDP broadcasts)."""
    dist.init()
    rank = dist.rank()
    x, y = P.make_data()
    model = dist.DistributedDataParallel(P.make_model(P.SEED + 100 * rank), bucket_size_mb=BUCKET_MB)
    opt = P.make_optimizer(model.parameters())
    sampler = dist.DistributedSampler(len(x), shuffle=True, seed=P.SEED)
    criterion = nn.CrossEntropyLoss()
    step = 0
    for epoch in range(P.EPOCHS):
        sampler.set_epoch(epoch)
        for idx, total in zip(sampler.batches(P.GLOBAL_BATCH), sampler.global_batch_sizes(P.GLOBAL_BATCH)):
            step += 1
            if rank == 1 and step == fail_at:
                raise RuntimeError(f"injected failure on rank 1 at step {step}")
            if rank == 1 and step == stall_at:
                time.sleep(3600)
            opt.zero_grad()
            model.set_step_weight(len(idx), total)
            if len(idx):   # an empty share still joins the allreduce, with a zero gradient
                criterion(model(P.torch.from_numpy(x[idx])), P.torch.from_numpy(y[idx])).backward()
            model.synchronize()
            opt.step()
    np.savez(os.path.join(out_dir, f"rank{rank}.npz"), **P.params_of(model.module))
    # a metric over uneven shards: the weighted mean must be the whole-data loss
    mine = np.arange(rank, len(x), dist.world_size())
    with P.torch.no_grad():
        local = criterion(model(P.torch.from_numpy(x[mine])), P.torch.from_numpy(y[mine])).item()
    info = {"loss": dist.all_reduce_mean(local, weight=len(mine)), "buckets": len(model.bucket_sizes),
            "steps": model.steps, "overlap": model.overlaps_backward,
            "early_starts": model.early_starts}
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(info, f)


def broadcast(out_dir):
    dist.init()
    rank = dist.rank()
    model = P.make_model(seed=rank)     # different initial weights on each rank
    np.savez(os.path.join(out_dir, f"before{rank}.npz"), **P.params_of(model))
    dist.DistributedDataParallel(model)
    np.savez(os.path.join(out_dir, f"after{rank}.npz"), **P.params_of(model))


SCENARIOS = {
    "train": train,
    "crash": lambda out: train(out, fail_at=3),
    "stall": lambda out: train(out, stall_at=3),
    "broadcast": broadcast,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]](sys.argv[2])
