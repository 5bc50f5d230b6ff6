"""Peak memory of one training step of the real-model workloads, compgraph vs PyTorch.

    python benchmarks/memory.py [--workloads gpt-nano,gpt-small,mnist-cnn,lstm-lm]

Each (workload, library) runs in a fresh process: it builds the model and data
(models.prepare), takes two warm-up steps (optimizer state exists by then), then
measures a third step.  The figure compared is the same for both libraries: the
growth of the process's resident set during the step, VmHWM after it minus VmRSS
before it, with the peak reset just before (/proc/self/clear_refs) and glibc
made to return every block over 128 KiB to the system on free
(MALLOC_MMAP_THRESHOLD_), so that RSS follows live memory rather than malloc's
caches.  For compgraph the peak of NumPy's allocations during a fourth step
(tracemalloc) is shown too.  Linux only.

--keep-values adds a column: compgraph with the freeing of intermediate values off
(compgraph.state.FREE_MIN_SIZE = inf), i.e. every node holding its value until backward,
as before compgraph/freeing.py.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORKLOADS = "gpt-nano,gpt-small,mnist-cnn,lstm-lm"


def _status_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def measure(workload, library):
    """In this process: the step's RSS growth (KiB) and, for compgraph, the
    tracemalloc peak (KiB)."""
    import gc
    import importlib
    sys.path[:0] = [ROOT, HERE]
    keep = library == "compgraph-kept"
    torch = importlib.import_module("compgraph" if keep else library)
    if keep:
        importlib.import_module("compgraph.state").FREE_MIN_SIZE = float("inf")
    if library == "torch":
        torch.set_num_threads(1)
    import models
    torch.manual_seed(0)
    model, step, batches = models.prepare(torch, workload, quick=False)
    model.train()
    for x, y in batches[:2]:
        step(x, y).item()
    x, y = batches[2]
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")                              # reset VmHWM to the current RSS
    before = _status_kib("VmRSS")
    step(x, y).item()
    rss = _status_kib("VmHWM") - before
    traced = None
    if library != "torch":
        import tracemalloc
        x, y = batches[3]
        gc.collect()
        tracemalloc.start()
        step(x, y).item()
        traced = tracemalloc.get_traced_memory()[1] // 1024
        tracemalloc.stop()
    return {"rss_kib": rss, "traced_kib": traced}


def run_child(workload, library):
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--child", workload, library],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workloads", default=WORKLOADS)
    parser.add_argument("--keep-values", action="store_true",
                        help="also run compgraph with freeing off")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*args.child)))
        return
    kept = " | compgraph, values kept: RSS growth | its tracemalloc peak" if args.keep_values else ""
    print("| workload | PyTorch step RSS growth | compgraph step RSS growth | compgraph / PyTorch "
          f"| compgraph tracemalloc peak{kept} |")
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: | ---: |" if kept else ""))
    for workload in args.workloads.split(","):
        t = run_child(workload, "torch")
        c = run_child(workload, "compgraph")
        ratio = c["rss_kib"] / t["rss_kib"] if t["rss_kib"] > 0 else float("nan")
        row = (f"| {workload} | {t['rss_kib'] / 1024:.1f} MiB | {c['rss_kib'] / 1024:.1f} MiB "
               f"| {ratio:.2f}x | {c['traced_kib'] / 1024:.1f} MiB |")
        if kept:
            k = run_child(workload, "compgraph-kept")
            row += f" {k['rss_kib'] / 1024:.1f} MiB | {k['traced_kib'] / 1024:.1f} MiB |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
