"""Real DyNet 2.1.2 (C++), written as a DyNet user writes it, on xor, mlp-single and mlp-batch.

DyNet lives in its own virtual environment (only NumPy beside it), so each run is a child
process: `python benchmarks/impl_dynet.py --child WORKLOAD DIR` under DyNet's Python
(--dynet-python of run.py is not needed: $DYNET_PYTHON, default /tmp/dynet-venv/bin/python).
The parent writes the workload's starting weights and data to DIR (the same arrays every
implementation gets), the child trains, times its loop with perf_counter and writes the
final weights back; the parent computes the check value from them.  Process start-up,
`import dynet` and the data transfer are outside the timed part.

* `dynet`: a new graph per update (renew_cg, the expressions, loss.value(), backward,
  trainer.update()): what DyNet's users write for dynamic graphs;
* `dynet-static` (xor): DyNet's own examples/xor/xor.py way: one graph built once, its
  inputs re-set (x.set, y.set) before each forward/backward/update.

SimpleSGDTrainer with the workload's learning rate and clipping off (DyNet clips the
gradient norm at 5 by default; the other implementations do not).  Where DyNet does not
import, nothing is registered and a note is printed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DYNET_PYTHON = os.environ.get("DYNET_PYTHON", "/tmp/dynet-venv/bin/python")
THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


# --- the child, under DyNet's Python ----------------------------------------------------------

def _params(dy, pc, arrays):
    return {k: pc.add_parameters(v.shape, init=dy.NumpyInitializer(v)) for k, v in arrays.items()}


def _xor(dy, p, data, lr, epochs):
    """A graph per update, as seed 000's network: sigmoid hidden and output, 1/2 (t - y)^2."""
    x_all, t_all = data["x"], data["t"]
    examples = [(x_all[i].tolist(), float(t_all[i, 0])) for i in range(4)]
    trainer = dy.SimpleSGDTrainer(p["pc"], learning_rate=lr)
    trainer.set_clip_threshold(0)
    start = time.perf_counter()
    for _ in range(epochs):
        for xv, tv in examples:
            dy.renew_cg()
            x = dy.inputVector(xv)
            h = dy.logistic(p["W"] * x + p["b"])
            y = dy.logistic(p["W2"] * h + p["b2"])
            loss = 0.5 * dy.squared_distance(y, dy.scalarInput(tv))
            loss.value()
            loss.backward()
            trainer.update()
    return epochs * 4, time.perf_counter() - start


def _xor_static(dy, p, data, lr, epochs):
    """DyNet's examples/xor/xor.py: one graph, inputs re-set before every update."""
    x_all, t_all = data["x"], data["t"]
    examples = [(x_all[i].tolist(), float(t_all[i, 0])) for i in range(4)]
    trainer = dy.SimpleSGDTrainer(p["pc"], learning_rate=lr)
    trainer.set_clip_threshold(0)
    dy.renew_cg()
    x = dy.vecInput(2)
    t = dy.scalarInput(0)
    y = dy.logistic(p["W2"] * dy.logistic(p["W"] * x + p["b"]) + p["b2"])
    loss = 0.5 * dy.squared_distance(y, t)
    start = time.perf_counter()
    for _ in range(epochs):
        for xv, tv in examples:
            x.set(xv)
            t.set(tv)
            loss.scalar_value()
            loss.backward()
            trainer.update()
    return epochs * 4, time.perf_counter() - start


def _mlp(dy, p, data, lr, batch):
    """784-256(tanh)-10 with pickneglogsoftmax; batch 1 one example per graph, batch 64 a
    batched input (DyNet's batch dimension) and the mean of the batch's losses."""
    xs, ys = data["x"], data["y"]
    trainer = dy.SimpleSGDTrainer(p["pc"], learning_rate=lr)
    trainer.set_clip_threshold(0)
    n = len(xs) // batch * batch
    if batch > 1:        # DyNet's batched input: (784, batch), the batch the last axis
        chunks = [(np.ascontiguousarray(xs[s:s + batch].T), ys[s:s + batch].tolist())
                  for s in range(0, n, batch)]
    else:
        chunks = [(xs[i], int(ys[i])) for i in range(n)]
    start = time.perf_counter()
    for x_np, y in chunks:
        dy.renew_cg()
        x = dy.inputTensor(x_np, batched=batch > 1)
        z = p["W2"] * dy.tanh(p["W1"] * x + p["b1"]) + p["b2"]
        if batch > 1:
            loss = dy.sum_batches(dy.pickneglogsoftmax_batch(z, y)) * (1.0 / batch)
        else:
            loss = dy.pickneglogsoftmax(z, y)
        loss.value()
        loss.backward()
        trainer.update()
    return n, time.perf_counter() - start


def child(workload, folder):
    if os.environ.get("BENCH_CLOCK") == "cpu":      # run.py --clock cpu: this process's too
        time.perf_counter = time.process_time
    sys.argv[1:] = ["--dynet-mem", "512"]
    import dynet as dy
    with open(os.path.join(folder, "job.json")) as f:
        job = json.load(f)
    arrays = dict(np.load(os.path.join(folder, "params.npz")))
    data = dict(np.load(os.path.join(folder, "data.npz")))
    pc = dy.ParameterCollection()
    p = _params(dy, pc, arrays)
    p["pc"] = pc
    if workload == "xor":
        units, seconds = _xor(dy, p, data, job["lr"], job["epochs"])
    elif workload == "xor-static":
        units, seconds = _xor_static(dy, p, data, job["lr"], job["epochs"])
    else:
        units, seconds = _mlp(dy, p, data, job["lr"], job["batch"])
    np.savez(os.path.join(folder, "final.npz"), **{k: p[k].as_array() for k in arrays})
    print("RESULT " + json.dumps({"units": units, "seconds": seconds}))


# --- the parent, in run.py's process -----------------------------------------------------------

def _has_dynet():
    env = dict(os.environ, **{k: "1" for k in THREADS})
    try:
        p = subprocess.run([DYNET_PYTHON, "-c", "import dynet"], capture_output=True,
                           text=True, env=env, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"{DYNET_PYTHON}: {e}"
    return None if p.returncode == 0 else f"'import dynet' failed: {p.stderr.strip()[-300:]}"


def run_child(workload, params, data, job):
    """(units, seconds, final params) of one run of the child."""
    with tempfile.TemporaryDirectory(prefix="compgraph-dynet-") as folder:
        np.savez(os.path.join(folder, "params.npz"), **params)
        np.savez(os.path.join(folder, "data.npz"), **data)
        with open(os.path.join(folder, "job.json"), "w") as f:
            json.dump(job, f)
        env = dict(os.environ, **{k: os.environ.get(k, "1") for k in THREADS})
        p = subprocess.run([DYNET_PYTHON, os.path.abspath(__file__), "--child", workload, folder],
                           capture_output=True, text=True, env=env)
        result = next((line for line in p.stdout.splitlines() if line.startswith("RESULT ")), None)
        if result is None:
            raise RuntimeError(f"DyNet child {workload} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}")
        out = json.loads(result[7:])
        final = dict(np.load(os.path.join(folder, "final.npz")))
    return out["units"], out["seconds"], final


if __name__ != "__main__":
    import workloads as W
    from registry import workload_impl

    _missing = _has_dynet()
    if _missing:
        print(f"impl_dynet: real DyNet is not available ({_missing}); its rows are skipped")
    else:
        def _xor_impl(quick, variant):
            x, t = W.xor_data()
            job = {"lr": W.XOR_LR, "epochs": W.xor_epochs(quick)}
            units, seconds, final = run_child(variant, W.xor_init(), {"x": x, "t": t}, job)
            return units, seconds, W.xor_check(final)

        @workload_impl("xor", "dynet")
        def xor(quick):
            return _xor_impl(quick, "xor")

        @workload_impl("xor", "dynet-static")
        def xor_static(quick):
            return _xor_impl(quick, "xor-static")

        def _mlp_impl(x, y, lr, batch):
            units, seconds, final = run_child("mlp", W.mlp_init(), {"x": x, "y": y},
                                              {"lr": lr, "batch": batch})
            return units, seconds, W.mlp_check(final)

        @workload_impl("mlp-single", "dynet")
        def mlp_single(quick):
            x, y = W.mlp_single_data(quick)
            return _mlp_impl(x, y, W.MLP_SINGLE_LR, 1)

        @workload_impl("mlp-batch", "dynet")
        def mlp_batch(quick):
            x, y = W.mlp_batch_data(quick)
            return _mlp_impl(x, y, W.MLP_BATCH_LR, W.MLP_BATCH_SIZE)


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    child(sys.argv[2], sys.argv[3])
