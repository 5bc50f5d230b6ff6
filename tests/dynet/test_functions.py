"""What the reference files cannot hold: functions whose real-DyNet 2.1.2 output is not
reproducible (a DyNet bug, named in each test), gradients DyNet computes wrongly, and the
configuration and device functions."""
import math

import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.errors import ArgumentValueError, DeviceError, GraphError, ShapeError

from .helpers import analytic_grads


def _param(m, arr):
    return m.add_parameters(np.shape(arr), init=dy.NumpyInitializer(np.asarray(arr, float)))


def test_contract3d_1d_is_contract3d_1d_bias_with_a_zero_bias():
    # DyNet 2.1.2 (nodes-contract.cc) adds the contraction into uninitialized output memory
    # when there is no bias; the bias form is right there and in the reference files
    m = dy.ParameterCollection()
    T = _param(m, np.arange(24.0).reshape(2, 3, 4) / 10)
    y = _param(m, [0.5, -1.0, 2.0, 0.25])
    w = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    plain, g1 = analytic_grads(m, lambda: dy.sum_elems(dy.cmult(dy.contract3d_1d(T, y), dy.inputTensor(w))))
    biased, g2 = analytic_grads(m, lambda: dy.sum_elems(dy.cmult(
        dy.contract3d_1d_bias(T, y, dy.zeros((2, 3))), dy.inputTensor(w))))
    assert plain == pytest.approx(biased, rel=1e-6)
    want = np.einsum("ijk,k->ij", np.arange(24.0).reshape(2, 3, 4) / 10, [0.5, -1.0, 2.0, 0.25])
    assert plain == pytest.approx(float((want * w).sum()), rel=1e-5)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_log_sigmoid_is_minus_softplus_of_minus_x():
    # DyNet 2.1.2 gives log(sigmoid(x)) - 1 from the second graph on (first graph: right)
    m = dy.ParameterCollection()
    x = np.array([-30.0, -2.0, 0.0, 0.5, 3.0, 40.0])
    p = _param(m, x)
    dy.renew_cg()
    np.testing.assert_allclose(dy.log_sigmoid(p).npvalue(), -np.logaddexp(0, -x), rtol=1e-6)
    _, (g,) = analytic_grads(m, lambda: dy.sum_elems(dy.log_sigmoid(p)))
    np.testing.assert_allclose(g, 1 / (1 + np.exp(x)), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("name", ["round", "ceil", "floor"])
def test_zero_gradient_rounding_passes_no_gradient(name):
    # DyNet 2.1.2 never sets the flag its rounding nodes read (straight-through in practice)
    m = dy.ParameterCollection()
    p = _param(m, [0.4, -1.6, 2.5])
    _, (g,) = analytic_grads(m, lambda: dy.sum_elems(getattr(dy, name)(p, "zero_gradient") * 3.0))
    np.testing.assert_array_equal(g, 0.0)
    _, (g,) = analytic_grads(m, lambda: dy.sum_elems(getattr(dy, name)(p, "straight_through_gradient") * 3.0))
    np.testing.assert_array_equal(g, 3.0)


def test_silu_gradient_keeps_beta():
    # DyNet 2.1.2's backward is s + x s (1 - s), without beta
    m = dy.ParameterCollection()
    x, beta = np.array([0.3, -1.2, 2.0]), 2.0
    p = _param(m, x)
    _, (g,) = analytic_grads(m, lambda: dy.sum_elems(dy.silu(p, beta)))
    s = 1 / (1 + np.exp(-beta * x))
    np.testing.assert_allclose(g, s + beta * x * s * (1 - s), rtol=1e-5)


def test_poisson_loss_gradient_is_scaled_by_the_upstream_gradient():
    # DyNet 2.1.2's backward returns exp(log_lambda) - x whatever the loss is multiplied by
    m = dy.ParameterCollection()
    p = _param(m, [0.3])
    value, (g,) = analytic_grads(m, lambda: dy.poisson_loss(p, 3) * 2.0)
    assert value == pytest.approx(2 * (math.exp(0.3) - 3 * 0.3 + math.lgamma(4)), rel=1e-6)
    np.testing.assert_allclose(g, 2 * (math.exp(0.3) - 3), rtol=1e-5)


def test_dynet_params_and_init_set_autobatching_and_the_seed():
    saved = dict(dy.dynet_config.get())
    try:
        params = dy.DynetParams()
        params.set_autobatch(True)
        params.set_random_seed(7)
        params.set_mem(1024)
        dy.init_from_params(params)
        assert dy.renew_cg().autobatch
        a = dy.random_normal(3).npvalue()
        dy.reset_random_seed(7)
        np.testing.assert_array_equal(dy.random_normal(3).npvalue(), a)
        dy.init()                            # reads the command line: nothing there here
    finally:
        dy.config(**saved)


def test_gpus_are_refused_with_a_clear_error():
    with pytest.raises(DeviceError, match="set_gpu: compgraph.dynet computes on the CPU only"):
        dy.dynet_config.set_gpu()
    dy.dynet_config.set_gpu(False)
    with pytest.raises(DeviceError, match="CPU only"):
        dy.dynet_config.set(requested_gpus=1)
    with pytest.raises(DeviceError, match="CPU only"):
        dy.DynetParams().set_requested_gpus(1)
    assert dy.available_devices() == ["CPU"]
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0])
    assert dy.to_device(x, "CPU") is x
    with pytest.raises(Exception, match="CPU only"):
        dy.to_device(x, "GPU:0")
    with pytest.raises(DeviceError):
        dy.get_device_info("GPU:0")


@pytest.mark.parametrize("argv", [["--dynet-autobatch", "1"], ["--dynet_autobatch", "1"],
                                  ["--dynet-autobatch=1"], ["--dynet_autobatch=1"]])
def test_every_spelling_of_the_autobatch_flag_turns_it_on(argv):
    saved = dict(dy.dynet_config.get())
    try:
        dy.config(autobatch=False)
        dy._command_line(["prog.py"] + argv)
        assert dy.renew_cg().autobatch
        dy._command_line(["prog.py", argv[0].split("=")[0] + ("=0" if "=" in argv[0] else ""), "0"])
        assert not dy.renew_cg().autobatch
    finally:
        dy.config(**saved)


def test_the_lstm_gate_variants_are_vanilla_lstm_gates_of_their_inputs():
    # DyNet's expr.cc: _concat concatenates the inputs, _dropout multiplies x and h by the masks
    m = dy.ParameterCollection()
    rng = np.random.default_rng(0)
    Wx, Wh, b = (_param(m, rng.standard_normal(s)) for s in ((8, 3), (8, 2), (8,)))
    x1, x2, h = [1.0, -0.5], [2.0], [0.3, -0.7]
    mx, mh = [2.0, 0.0, 2.0], [0.0, 2.0]
    dy.renew_cg()
    x = dy.concatenate([dy.inputVector(x1), dy.inputVector(x2)])
    base = dy.vanilla_lstm_gates(x, dy.inputVector(h), Wx, Wh, b).npvalue()
    cat = dy.vanilla_lstm_gates_concat([dy.inputVector(x1), dy.inputVector(x2)], dy.inputVector(h), Wx, Wh, b)
    np.testing.assert_allclose(cat.npvalue(), base, rtol=1e-6)
    masked = dy.vanilla_lstm_gates(dy.cmult(x, dy.inputVector(mx)), dy.cmult(dy.inputVector(h), dy.inputVector(mh)),
                                   Wx, Wh, b).npvalue()
    drop = dy.vanilla_lstm_gates_dropout(x, dy.inputVector(h), Wx, Wh, b, dy.inputVector(mx), dy.inputVector(mh))
    np.testing.assert_allclose(drop.npvalue(), masked, rtol=1e-6)
    both = dy.vanilla_lstm_gates_dropout_concat([dy.inputVector(x1), dy.inputVector(x2)], dy.inputVector(h),
                                                Wx, Wh, b, dy.inputVector(mx), dy.inputVector(mh))
    np.testing.assert_allclose(both.npvalue(), masked, rtol=1e-6)


@pytest.mark.parametrize("fn", [lambda x: dy.fold_rows(x), lambda x: dy.filter1d_narrow(x, dy.inputTensor(np.ones((2, 2))))],
                         ids=["fold_rows", "filter1d_narrow"])
def test_fold_rows_and_filter1d_refuse_a_batch(fn):
    # DyNet 2.1.2 returns the first element of the batch alone (the others silently dropped)
    dy.renew_cg()
    with pytest.raises(ShapeError, match="one matrix"):
        fn(dy.inputTensor(np.ones((2, 3, 4)), batched=True))


def test_std_dim_refuses_a_masking_count():
    # DyNet 2.1.2 documents n as the count to divide by but ignores it in std_dim (its
    # moment_dim and mean_dim use it): either reading would silently differ from the other
    dy.renew_cg()
    with pytest.raises(ArgumentValueError, match="std_dim: DyNet 2.1.2 ignores n"):
        dy.std_dim(dy.inputVector([1.0, 2.0, 4.0]), [0], False, 5)
    assert dy.std_dim(dy.inputVector([1.0, 2.0, 4.0]), [0], False, 3).value() == pytest.approx(
        np.std([1.0, 2.0, 4.0]), rel=1e-6)


def test_an_expression_dropped_by_cg_revert_is_refused():
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0])
    dy.cg_checkpoint()
    y = x * 2.0
    dy.cg_revert()
    with pytest.raises(GraphError, match="Stale Expression"):
        y + x
    with pytest.raises(GraphError, match="no cg_checkpoint"):
        dy.cg_revert()
    assert (x * 3.0).npvalue().tolist() == [3.0, 6.0]


def test_print_text_graphviz_prints_the_graph(capsys):
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0])
    dy.tanh(x * 2.0)
    dy.print_text_graphviz()
    out = capsys.readouterr().out
    assert out.startswith("digraph G {") and out.rstrip().endswith("}")
    assert "= tanh (2,)" in out and "= input (2,)" in out and out.count("->") >= 2
