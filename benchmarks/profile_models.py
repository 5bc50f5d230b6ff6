"""Per-op profile of the real-model workloads on both libraries.

    python benchmarks/profile_models.py [--workloads gpt-nano,...] [--top 10]

compgraph: ``compgraph.profile`` (time per op and phase, forward or backward).
PyTorch: ``torch.profiler`` (self CPU time per aten op, backward nodes included).
Both run the timed part of models.train once, after one untimed warm-up run;
the profilers' own overhead inflates the totals, so read the shares.
"""

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default="gpt-nano,gpt-small,mnist-cnn,lstm-lm")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    import compgraph
    import torch
    import models
    torch.set_num_threads(args.threads)
    compgraph.set_num_threads(args.threads)      # its pool, as torch's (BLAS held at 1)
    for workload in args.workloads.split(","):
        print(f"\n### {workload}\n")
        models.train(compgraph, workload, quick=True)
        with compgraph.profile() as prof:
            models.train(compgraph, workload, quick=False)
        print("compgraph (`compgraph.profile`):\n\n```")
        print(prof.table(limit=args.top))
        print("```\n")
        models.train(torch, workload, quick=True)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as tprof:
            models.train(torch, workload, quick=False)
        print("PyTorch (`torch.profiler`, self CPU time):\n\n```")
        print(tprof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top,
                                         max_name_column_width=36))
        print("```")


if __name__ == "__main__":
    main()
