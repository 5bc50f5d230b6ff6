"""profile(): per-op counts and times, and the op table put back exactly as it was."""
import numpy as np
import pytest

import compgraph as cg
from compgraph.ops import OPS
from compgraph.viz import profile


def three_layers():
    rng = np.random.default_rng(0)
    x = cg.tensor(rng.standard_normal((4, 3)))
    Ws = [cg.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 5), (5, 5), (5, 1))]
    return x, Ws


def forward(x, Ws):
    h = cg.tanh(x @ Ws[0])
    h = cg.tanh(h @ Ws[1])
    return (h @ Ws[2]).sum()


def by_key(prof):
    return {(r["op"], r["phase"]): r for r in prof.stats}


def test_counts_per_op_and_phase():
    x, Ws = three_layers()
    with profile() as prof:
        forward(x, Ws).backward()
    s = by_key(prof)
    assert {k: r["calls"] for k, r in s.items()} == {
        ("matmul", "forward"): 3, ("tanh", "forward"): 2, ("sum", "forward"): 1,
        # one backward call per node, however many of its inputs need a gradient
        ("matmul", "backward"): 3, ("tanh", "backward"): 2, ("sum", "backward"): 1}
    assert sum(r["share"] for r in prof.stats) == pytest.approx(1.0)
    assert all(r["total_s"] > 0 and r["mean_us"] > 0 for r in prof.stats)
    assert prof.total() == pytest.approx(prof.total("forward") + prof.total("backward"))
    r = s[("matmul", "forward")]
    assert r["mean_us"] == pytest.approx(1e6 * r["total_s"] / 3)


def test_table_is_sorted_as_asked():
    x, Ws = three_layers()
    with profile() as prof:
        forward(x, Ws).backward()
    lines = prof.table().splitlines()
    assert lines[0].split() == ["op", "phase", "calls", "total", "ms", "share", "mean", "us"]
    totals = [float(line.split()[3]) for line in lines[2:-2]]
    assert totals == sorted(totals, reverse=True) and len(totals) == 6
    by_op = [line.split()[:2] for line in prof.table(sort="op").splitlines()[2:-2]]
    assert by_op == sorted(by_op)
    calls = [int(line.split()[2]) for line in prof.table(sort="calls").splitlines()[2:-2]]
    assert calls == [3, 3, 2, 2, 1, 1]
    backward_only = prof.table(phase="backward").splitlines()[2:-2]
    assert {line.split()[1] for line in backward_only} == {"backward"}
    assert prof.table().splitlines()[-1].split()[:2] == ["total", "12"]
    with pytest.raises(ValueError, match="sort must be one of"):
        prof.table(sort="speed")


def test_op_table_is_restored_and_results_unchanged():
    before = {name: (op.fwd, op.vjps, op.vjp_n) for name, op in OPS.items()}
    x, Ws = three_layers()
    forward(x, Ws).backward()
    expected = [W.grad.numpy().copy() for W in Ws]
    for W in Ws:
        W.grad = None
    with pytest.raises(KeyError):
        with profile():
            parts = cg.cat([x @ Ws[0], x @ Ws[0]], 1)   # variadic: vjp_n, cached partials
            parts.sum().backward()
            forward(x, Ws).backward()
            raise KeyError("leaving by an exception restores too")
    assert {name: (op.fwd, op.vjps, op.vjp_n) for name, op in OPS.items()} == before
    assert all(OPS[n]._vjp_cache == {} for n in ("concatenate", "stack", "einsum"))
    for W in Ws:
        W.grad = None
    forward(x, Ws).backward()
    assert all(np.array_equal(W.grad.numpy(), e) for W, e in zip(Ws, expected))


def test_variadic_ops_are_counted():
    a = cg.tensor(np.ones(3), requires_grad=True)
    b = cg.tensor(np.ones(2), requires_grad=True)
    with profile() as prof:
        cg.cat([a, b, a]).sum().backward()
    s = by_key(prof)
    assert s[("concatenate", "forward")]["calls"] == 1
    assert s[("concatenate", "backward")]["calls"] == 1


def test_nested_ops_are_not_counted_twice():
    # create_graph: the VJPs run ops of their own, timed as forwards inside the backward
    x = cg.tensor(np.linspace(-1, 1, 50), requires_grad=True)
    with profile() as prof:
        y = cg.sigmoid(x).sum()
        (g,) = cg.grad(y, x, create_graph=True)
    assert by_key(prof)[("sigmoid", "backward")]["calls"] == 1
    assert by_key(prof)[("mul", "forward")]["calls"] >= 2   # g * ans * (1 - ans)
    assert sum(r["share"] for r in prof.stats) == pytest.approx(1.0)
    assert all(r["total_s"] >= 0 for r in prof.stats)
    assert g.requires_grad


def test_a_profiler_cannot_be_entered_twice():
    prof = profile()
    with prof:
        with pytest.raises(RuntimeError, match="already active"):
            prof.__enter__()
