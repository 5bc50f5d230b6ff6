"""Real DyNet and compgraph.dynet side by side, on the same DyNet-user programs.

    python benchmarks/dynet_side_by_side.py [--workloads tagger-autobatch,xor,...]
                                           [--rounds 2] [--clock cpu|wall] [--dynet-python PATH]

Each workload of benchmarks/dynet_programs.py runs in a fresh process per library (DyNet
reads its autobatch flag once, at import), alternating dynet, compgraph, dynet, compgraph
so that machine noise hits both alike; the rate is the best of the rounds.  BLAS runs on
one thread in both.  Real DyNet is taken from --dynet-python (default: $DYNET_PYTHON or
/tmp/dynet-venv/bin/python); where it cannot `import dynet`, its column is skipped with a
printed note.  compgraph.dynet then runs once more with its phases timed: build (the
user's program), schedule (evaluate, less the time in kernels), forward kernels,
backward and update, each in ns per graph node.

--clock cpu (the default) times with the process's CPU time, which other jobs on a shared
machine disturb far less than the wall clock (with one BLAS thread the two agree on an idle
machine); --clock wall times with perf_counter.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_DYNET = os.environ.get("DYNET_PYTHON", "/tmp/dynet-venv/bin/python")
THREAD_ENV = {k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


# --- the child: one workload on one library --------------------------------------------------

def _instrument(timer, clock):
    """Time the forward kernels of compgraph.dynet's graphs (what evaluate spends outside
    them is scheduling).  timer = [seconds in kernels, calls, seconds one timed call adds]:
    the wrapper's own cost, measured here, is taken out of the schedule afterwards."""
    from compgraph.dynet.graph import ComputationGraph
    from compgraph.executors.autobatch import BatchingGraph

    def timed(f):
        def wrapper(*a):
            t = clock()
            try:
                return f(*a)
            finally:
                timer[0] += clock() - t
                timer[1] += 1
        return wrapper
    # a batch or a lone node: compute() runs each lone node, _run_batch/_ragged the batches
    for name in ("compute", "_run_batch", "_run_ragged"):
        setattr(BatchingGraph, name, timed(getattr(BatchingGraph, name)))
    ComputationGraph.compute = timed(ComputationGraph.compute)    # its own, for unbatched graphs
    from compgraph.dynet.regions import Program                 # the fused regions' kernel
    Program.run = timed(Program.run)
    noop, plain = timed(lambda: None), (lambda: None)
    for f, sign in ((noop, 1), (plain, -1)):
        t = clock()
        for _ in range(20000):
            f()
        timer[2] += sign * (clock() - t) / 20000
    timer[0] = timer[1] = 0


def child(impl, name, profile, clock_name="cpu"):
    import numpy as np
    sys.path.insert(0, HERE)
    from dynet_programs import WORKLOADS
    autobatch, unit, steps, setup, step = WORKLOADS[name]
    sys.argv[1:] = ["--dynet-autobatch", "1" if autobatch else "0", "--dynet-mem", "512"]
    if impl == "dynet":
        import dynet as dy
    else:
        import compgraph.dynet as dy
    kernels = [0.0, 0, 0.0]
    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    if profile:
        _instrument(kernels, clock)
    st = setup(dy, np.random.default_rng(0))
    phases = dict(build=0.0, forward=0.0, backward=0.0, update=0.0)
    units = nodes = 0
    loss_value = None
    for i in range(-1, steps):                # step -1 warms up, untimed
        t0 = clock()
        dy.renew_cg()
        loss, n = step(dy, st, max(i, 0))
        t1 = clock()
        loss_value = loss.value()
        t2 = clock()
        loss.backward()
        t3 = clock()
        st.trainer.update()
        t4 = clock()
        if i < 0:
            kernels[0] = kernels[1] = 0
            continue
        phases["build"] += t1 - t0
        phases["forward"] += t2 - t1
        phases["backward"] += t3 - t2
        phases["update"] += t4 - t3
        units += n
        if impl != "dynet":
            nodes += len(dy.cg().nodes)
    total = sum(phases.values())
    out = dict(impl=impl, workload=name, unit=unit, units=units, seconds=total,
               rate=units / total, loss=float(loss_value), nodes=nodes, phases=phases)
    if profile:
        # the wrapper's clock reads fall partly inside, partly outside the kernel's interval:
        # its whole cost is taken from the schedule, which is where it was added
        out["phases"]["schedule"] = max(0.0, phases["forward"] - kernels[0] - kernels[1] * kernels[2])
        out["phases"]["forward"] = kernels[0]
    print("RESULT " + json.dumps(out))


# --- the parent ---------------------------------------------------------------------------------

def _run(python, impl, name, profile=False, clock="cpu"):
    env = dict(os.environ, **THREAD_ENV)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [python, os.path.abspath(__file__), "--child", impl, name, clock] + (["--profile"] if profile else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{impl} {name} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")


def _has_dynet(python):
    try:
        p = subprocess.run([python, "-c", "import dynet"], capture_output=True, text=True,
                           env=dict(os.environ, **THREAD_ENV), timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{python}: {e}"
    return None if p.returncode == 0 else f"{python} -c 'import dynet' failed: {p.stderr.strip()[-300:]}"


def main(argv=None):
    sys.path.insert(0, HERE)
    from dynet_programs import WORKLOADS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dynet-python", default=DEFAULT_DYNET)
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = ap.parse_args(argv)
    names = args.workloads.split(",")
    missing = _has_dynet(args.dynet_python)
    if missing:
        print(f"note: real DyNet is not available ({missing}); its column is skipped")
    impls = ["compgraph"] if missing else ["dynet", "compgraph"]
    best = {}
    for name in names:
        for _ in range(args.rounds):
            for impl in impls:
                r = _run(args.dynet_python if impl == "dynet" else sys.executable, impl, name,
                         clock=args.clock)
                key = (name, impl)
                if key not in best or r["rate"] > best[key]["rate"]:
                    best[key] = r
        best[(name, "profile")] = _run(sys.executable, "compgraph", name, profile=True, clock=args.clock)
    print(f"clock: {args.clock}; rounds: {args.rounds}; BLAS threads: 1")
    _table(names, best, missing)


def _table(names, best, missing):
    print(f"\n| workload | unit | real DyNet /s | compgraph.dynet /s | ratio | loss DyNet | loss compgraph |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        c = best[(name, "compgraph")]
        d = best.get((name, "dynet"))
        print(f"| {name} | {c['unit']} | {d['rate']:,.0f} | " if d else f"| {name} | {c['unit']} | (skipped) | ",
              end="")
        print(f"{c['rate']:,.0f} | " + (f"{c['rate'] / d['rate']:.2f}x | {d['loss']:.5g} | " if d else "- | - | ")
              + f"{c['loss']:.5g} |")
    print("\ncompgraph.dynet, per graph node (one instrumented run; ns per node):\n")
    print("| workload | nodes/graph | build | schedule | forward | backward | update | total |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in names:
        p = best[(name, "profile")]
        n = p["nodes"]
        ph = p["phases"]
        cells = [ph[k] * 1e9 / n for k in ("build", "schedule", "forward", "backward", "update")]
        graphs = _graphs(name)
        print(f"| {name} | {n / graphs:,.0f} | " + " | ".join(f"{v:,.0f}" for v in cells)
              + f" | {sum(cells):,.0f} |")


def _graphs(name):
    from dynet_programs import WORKLOADS
    return WORKLOADS[name][2]


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], "--profile" in sys.argv[5:], sys.argv[4])
    else:
        main()
