"""The dialect's fast paths (one-pass record, remembered shape rules, W*x and pickrange
without the general conversions) lose nothing: the benchmark's DyNet-user programs give
the same loss and gradients with and without autobatching, and every build-time check
still raises -- on a key seen before too, in both modes."""
import importlib.util

import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.errors import ArgumentError, BoundsError, GraphError, ShapeError

from .helpers import ROOT, analytic_grads, to_float64

_spec = importlib.util.spec_from_file_location("dynet_programs", ROOT / "benchmarks" / "dynet_programs.py")
programs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(programs)


def _same_both_ways(st, step):
    to_float64(st.pc)
    v0, g0 = analytic_grads(st.pc, lambda: step(dy, st, 0)[0], autobatch=False)
    n0 = len(dy.cg().nodes)
    v1, g1 = analytic_grads(st.pc, lambda: step(dy, st, 0)[0], autobatch=True)
    assert len(dy.cg().nodes) == n0
    assert v1 == pytest.approx(v0, rel=1e-10)
    assert any(g.any() for g in g0)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12)
    return dy.cg().autobatch_report()


def test_the_benchmark_tagger_autobatched_equals_unbatched():
    st = programs._tagger_setup(dy, np.random.default_rng(3), 6, 6)
    report = _same_both_ways(st, programs._tagger_step)
    words = sum(len(w) for w, _ in st.data)
    # the output layer and its loss (b + W h, pickneglogsoftmax): fused, one batch
    assert report.ops["affine_xent (fused)"] == (3 * words, 1)
    assert "matmul" not in report.ops and "cross_entropy" not in report.ops


def test_the_benchmark_tree_lstm_autobatched_equals_unbatched():
    st = programs._tree_setup(dy, np.random.default_rng(4), 5)
    st.per_graph = 5
    report = _same_both_ways(st, programs._tree_step)
    assert report.batches < report.nodes / 3


def test_the_benchmark_xor_and_mlp_programs_give_the_same_gradients_both_ways():
    _same_both_ways(programs._xor_setup(dy, np.random.default_rng(5)), programs._xor_step)
    _same_both_ways(programs._mlp_setup(dy, np.random.default_rng(6)), programs._mlp_step)


@pytest.mark.parametrize("autobatch", [False, True])
def test_a_bad_product_raises_every_time_even_after_good_ones_of_the_same_op(autobatch):
    m = dy.ParameterCollection()
    W = m.add_parameters((3, 4))
    dy.renew_cg(autobatching=autobatch)
    for _ in range(3):                                      # the good key, remembered
        W * dy.inputVector([1.0, 2.0, 3.0, 4.0])
    for _ in range(2):                                      # the bad one is never remembered
        with pytest.raises(ShapeError, match="matmul"):
            W * dy.inputVector([1.0, 2.0, 3.0])
    with pytest.raises(ShapeError):
        dy.cmult(dy.inputVector([1.0, 2.0]), dy.inputVector([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("autobatch", [False, True])
def test_pickrange_checks_hold_in_both_modes(autobatch):
    dy.renew_cg(autobatching=autobatch)
    x = dy.inputVector([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(dy.pick_range(x, 1, 3).npvalue(), [2.0, 3.0])
    with pytest.raises(BoundsError, match=r"range \[2, 9\)"):
        dy.pick_range(x, 2, 9)
    with pytest.raises(BoundsError, match=r"range \[3, 3\)"):
        dy.pick_range(x, 3, 3)
    with pytest.raises(ArgumentError, match="start must be an integer"):
        dy.pick_range(x, 1.0, 3)
    with pytest.raises(ArgumentError, match="end must be an integer"):
        dy.pick_range(x, 1, True)
    with pytest.raises(ShapeError, match="dimension"):
        dy.pick_range(x, 0, 1, d=1)
    np.testing.assert_array_equal(dy.pick_range(x, np.int64(0), np.int64(2)).npvalue(), [1.0, 2.0])


@pytest.mark.parametrize("autobatch", [False, True])
def test_stale_operands_are_refused_by_the_one_pass_record(autobatch):
    dy.renew_cg(autobatching=autobatch)
    x = dy.inputVector([1.0, 2.0])
    y = dy.logistic(x)
    dy.renew_cg(autobatching=autobatch)
    fresh = dy.inputVector([1.0, 2.0])
    for build in (lambda: dy.logistic(y), lambda: fresh + y, lambda: dy.cmult(fresh, x),
                  lambda: dy.pick_range(y, 0, 1)):
        with pytest.raises(GraphError, match="Stale Expression"):
            build()
    assert dy.logistic(fresh).npvalue() == pytest.approx(1 / (1 + np.exp(-np.array([1.0, 2.0]))))
