"""Where a compiled step's replay time goes: ns per generated line, NumPy backend.

    python benchmarks/profile_compiled.py [xor|mlp-single|mlp-batch ...] [--top 12] [--in-sequence]

Builds the workload's compgraph-compiled step (impl_compgraph's model and loss), traces it
on the first example, then times the lowered step function `fast` as a whole and each line
of its generated source on its own: every line is run many times in a namespace holding the
replay's variables (the guard's `return None` becomes `pass`), minus the cost of running an
empty line the same way.  The lines' sum against the whole call shows what is left outside
them (the call, argument unpacking).  Per-line times include the in-place updates' effect
on the weights, which is harmless for a measurement.  A line that updates an array in place
(`np.multiply(a, b, out=b)`) and is run again and again drives its numbers towards
subnormals, which are slow: its isolated cost can be far too high.

--in-sequence times the lines where they run instead: the generated function is compiled
again with a clock read after every statement of its body and replayed on the workload's
consecutive examples (as the benchmark does), so each line's time includes the cache state
the previous lines leave; the clock's own cost per line is measured and subtracted.
"""
import argparse
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]


def build(workload):
    import numpy as np  # noqa: F401
    import compgraph as torch
    import compgraph.nn.functional as F
    import impl_compgraph as C
    import workloads as W
    if workload == "xor":
        model, lr = C.XorNet(W.xor_init()), W.XOR_LR
        x, t = W.xor_data()
        args = (torch.from_numpy(x[1]), torch.from_numpy(t[1]))
        loss_fn = lambda y, t: 0.5 * ((t - y) ** 2).sum()      # noqa: E731
    else:
        model, lr = C.MLP(W.mlp_init()), W.MLP_SINGLE_LR
        b = 1 if workload == "mlp-single" else W.MLP_BATCH_SIZE
        x, y = W.mlp_single_data(True)
        args = (torch.from_numpy(x[:b]), torch.from_numpy(y[:b]))
        loss_fn = F.cross_entropy
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def train_step(x, t):
        opt.zero_grad()
        loss = loss_fn(model(x), t)
        loss.backward()
        opt.step()
        return loss
    step = torch.compile(train_step)
    step(*args)
    plan, = step.plans.values()
    if workload == "xor":
        batches = [(torch.from_numpy(x[i]), torch.from_numpy(t[i])) for i in range(4)] * 250
    else:
        if b > 1:
            x, y = W.mlp_batch_data(True)
        batches = [(torch.from_numpy(x[s:s + b]), torch.from_numpy(y[s:s + b]))
                   for s in range(0, len(x) - b + 1, b)]
    build.batches = batches
    return plan, args


def _lines(source):
    """The body's statements, guard included, one per line, as statements at module level;
    `a0 = a0._value` binds a0_ instead (and later lines read a0_), so every line can run
    again."""
    out, renamed = [], []
    for line in source.splitlines()[1:]:
        s = line.strip()
        if s.startswith("if len(args)") or s in ("try:", "except AttributeError:", "return None"):
            continue
        for name in renamed:
            s = re.sub(rf"\b{name}\b", name + "_", s)
        m = re.match(r"^(\w+) = \1\._value$", s)
        if m:
            s = f"{m.group(1)}_ = {m.group(1)}._value"
            renamed.append(m.group(1))
        s = s.replace("return None", "pass")
        if s.startswith("return "):
            s = "_result = " + s[len("return "):]
        out.append(s)
    return out


def profile(workload, top, calls=3000):
    plan, args = build(workload)
    fast = plan.fast
    ns = dict(fast.__globals__)
    ns["args"] = args
    lines = _lines(plan.fast_source)
    codes = [compile(s, "<line>", "exec") for s in lines]
    for c in codes:                       # one replay, to fill the namespace
        exec(c, ns)
    # the same work with a learning rate of 1e-20: the weights stay put (no overflow, no NaN;
    # not 0, where BLAS axpy returns at once)
    lrs = []
    for k in range(len(ns)):
        if f"group{k}" not in ns:
            break
        lrs.append((ns[f"group{k}"], ns[f"group{k}"]["lr"]))
        ns[f"group{k}"]["lr"] = 1e-20
    ns["lr"] = 1e-20
    empty = compile("pass", "<line>", "exec")

    def per_call(code, n):
        t = time.process_time()
        for _ in range(n):
            exec(code, ns)
        return (time.process_time() - t) / n

    n = max(200, calls // 3)
    base = min(per_call(empty, n) for _ in range(3))
    costs = []
    for s, c in zip(lines, codes):
        costs.append((min(per_call(c, n) for _ in range(3)) - base, s))
    whole = []
    for _ in range(3):
        t = time.process_time()
        for _ in range(calls):
            fast(*args)
        whole.append((time.process_time() - t) / calls)
    for group, lr in lrs:
        group["lr"] = lr
    total = sum(c for c, _ in costs)
    print(f"\n## {workload}: fast() {min(whole) * 1e9:,.0f} ns per replay; its {len(lines)} "
          f"lines {total * 1e9:,.0f} ns (the rest: the call and argument unpacking)\n")
    print("| ns | line |\n| ---: | --- |")
    for c, s in sorted(costs, reverse=True)[:top]:
        print(f"| {c * 1e9:,.0f} | `{s[:110]}` |")
    rest = sorted(costs, reverse=True)[top:]
    if rest:
        print(f"| {sum(c for c, _ in rest) * 1e9:,.0f} | the other {len(rest)} lines |")


def _instrumented(source, env):
    """The generated function again, with `_T[k] += clock() - t0; t0 = clock()` after each
    statement of its body past the guard; (the function, the statements)."""
    out, stmts, timing = [], [], False
    for line in source.splitlines():
        s = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        if timing and len(indent) == 8 and not s.startswith("return "):
            out += [line, f"{indent}_T[{len(stmts)}] += _pc() - _t0; _t0 = _pc()"]
            stmts.append(s)
            continue
        out.append(line)
        if s.startswith("if key != KEY"):
            out.append(f"{indent}_t0 = _pc()")
            timing = True
    env = dict(env, _T=[0.0] * len(stmts), _pc=time.process_time)
    exec(compile("\n".join(out) + "\n", "<profiled>", "exec"), env)
    return env["fast"], env["_T"], stmts


def profile_in_sequence(workload, top, rounds=5):
    plan, _ = build(workload)
    batches = build.batches
    fast, T, stmts = _instrumented(plan.fast_source, plan.fast.__globals__)
    # the clock's own cost per statement: the same instrumentation around `pass`
    empty = "def fast():\n    if 1:\n        if key != KEY: pass\n" + "        pass\n" * 50
    clock, CT, _ = _instrumented(empty, {"key": 0, "KEY": 0})
    for _ in range(2000):
        clock()
    per_clock = sum(CT) / (2000 * 50)
    for a in batches[:20]:                # warm up
        fast(*a)
    for k in range(len(T)):
        T[k] = 0.0
    calls, start = 0, time.process_time()
    for _ in range(rounds):
        for a in batches:
            fast(*a)
            calls += 1
    whole = (time.process_time() - start) / calls - per_clock * len(T)
    costs = sorted(((t / calls - per_clock, s) for t, s in zip(T, stmts)), reverse=True)
    total = sum(c for c, _ in costs)
    print(f"\n## {workload}, in sequence: {whole * 1e9:,.0f} ns per replay ({calls} replays over "
          f"{len(batches)} examples); its {len(stmts)} statements after the guard "
          f"{total * 1e9:,.0f} ns (clock cost {per_clock * 1e9:,.0f} ns a line, subtracted)\n")
    print("| ns | line |\n| ---: | --- |")
    for c, s in costs[:top]:
        print(f"| {c * 1e9:,.0f} | `{s[:110]}` |")
    if costs[top:]:
        print(f"| {sum(c for c, _ in costs[top:]) * 1e9:,.0f} | the other {len(costs) - top} lines |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workloads", nargs="*", default=["xor", "mlp-single", "mlp-batch"])
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--in-sequence", action="store_true",
                    help="time each line where it runs, over consecutive examples")
    args = ap.parse_args()
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for w in args.workloads:
        (profile_in_sequence if args.in_sequence else profile)(w, args.top)


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    main()
