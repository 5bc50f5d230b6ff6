"""What PyTorch's type promotion costs the hot path: the xor workload's update, with the op
table's promotion on and off, in one process.

    python benchmarks/promotion_cost.py [--trials 1000]

Trials of 100 updates alternate between the two settings, so load from other processes
hits both alike, and each is timed in process CPU time; the quantiles of the per-update
cost and the rise are printed.  (run.py's rates vary by more than the few percent in
question on a shared machine; this A/B does not.)
"""
import argparse
import os
import statistics
import sys
import time

sys.path[:0] = [os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                os.path.dirname(os.path.abspath(__file__))]

import compgraph as torch  # noqa: E402
import workloads as W  # noqa: E402
from compgraph.ops import OPS  # noqa: E402
from impl_compgraph import XorNet  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1000)
    trials = parser.parse_args().trials
    kinds = {op: (op.promote, op.promote_ok) for op in OPS.values()}
    model = XorNet(W.xor_init())
    optimizer = torch.optim.SGD(model.parameters(), lr=W.XOR_LR)
    x_np, t_np = W.xor_data()
    examples = list(zip(torch.from_numpy(x_np), torch.from_numpy(t_np)))

    def update(x, t):
        optimizer.zero_grad()
        loss = 0.5 * ((t - model(x)) ** 2).sum()
        loss.backward()
        optimizer.step()

    cost = {True: [], False: []}
    for trial in range(trials):
        on = trial % 2 == 0
        for op, (promote, ok) in kinds.items():
            op.promote, op.promote_ok = (promote, ok) if on else (None, None)
        start = time.process_time()
        for _ in range(25):
            for x, t in examples:
                update(x, t)
        cost[on].append((time.process_time() - start) / 100 * 1e6)
    for op, (promote, ok) in kinds.items():
        op.promote, op.promote_ok = promote, ok
    for on in (False, True):
        c = sorted(cost[on])
        print(f"promotion {'on ' if on else 'off'}: min {c[0]:.1f} us, p10 {c[len(c) // 10]:.1f}, "
              f"median {statistics.median(c):.1f} us per update")
    rise = [(sorted(cost[True])[int(len(cost[True]) * q)] /
             sorted(cost[False])[int(len(cost[False]) * q)] - 1) * 100 for q in (0, 0.1, 0.5)]
    print("rise: min {:+.1f}%, p10 {:+.1f}%, median {:+.1f}%".format(*rise))


if __name__ == "__main__":
    main()
