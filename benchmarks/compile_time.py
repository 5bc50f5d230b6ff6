"""What compile(backend="numba") costs before its first step, in a new process.

    python benchmarks/compile_time.py xor        # prints "cold <s> warm <s>"

The first call of a compiled step traces it, writes the kernel's source and has Numba
compile it; Numba keeps the machine code on disk (cache=True), so a second process with the
same step only loads it.  numba_compile_seconds runs the workload's first call in two fresh
processes sharing one empty cache folder: the first finds nothing (cold), the second finds
what the first left (warm).  Imports (numba, compgraph) are made before the clock starts in
both.  The result is kept per workload, so run.py measures it once per invocation.
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
_measured = {}


def numba_compile_seconds(workload):
    """(cold, warm) seconds of the first call of the workload's numba-compiled step."""
    if workload not in _measured:
        with tempfile.TemporaryDirectory(prefix="compgraph-numba-cache-") as cache:
            env = dict(os.environ, XDG_CACHE_HOME=cache, NUMBA_CACHE_DIR=cache,
                       PYTHONPATH=ROOT + os.pathsep + HERE)
            runs = []
            for _ in range(2):
                p = subprocess.run([sys.executable, os.path.abspath(__file__), workload],
                                   env=env, capture_output=True, text=True, check=True)
                runs.append(float(p.stdout.split()[-1]))
        _measured[workload] = tuple(runs)
    return _measured[workload]


def _first_call(workload):
    import numba  # noqa: F401  (imported before the clock)
    import impl_compgraph as C
    import workloads as W
    import compgraph as torch
    import compgraph.nn.functional as F
    if workload == "xor":
        model = C.XorNet(W.xor_init())
        x, t = (torch.from_numpy(a[0]) for a in W.xor_data())
        lr, loss_fn = W.XOR_LR, lambda y, t: 0.5 * ((t - y) ** 2).sum()
    else:
        model = C.MLP(W.mlp_init())
        batch = 1 if workload == "mlp-single" else W.MLP_BATCH_SIZE
        xs, ys = W.mlp_single_data(True)
        x, t = torch.from_numpy(xs[:batch]), torch.from_numpy(ys[:batch])
        lr, loss_fn = W.MLP_SINGLE_LR, F.cross_entropy
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def train_step(x, t):
        optimizer.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        optimizer.step()
        return loss
    step = torch.compile(train_step, backend="numba")
    start = time.perf_counter()
    step(x, t)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.path[:0] = [ROOT, HERE]
    print(f"{_first_call(sys.argv[1]):.6f}")
