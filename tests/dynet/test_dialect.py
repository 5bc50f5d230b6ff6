"""The DyNet dialect: programs written for DyNet run with only the import changed."""
import numpy as np
import pytest

import compgraph
import compgraph.dynet as dy
from compgraph.errors import GraphError

from .helpers import check_gradients, to_float64


def test_lecture_example_runs_as_written():
    compgraph.manual_seed(0)
    from compgraph.dynet import (Model, concatenate, log, parameter, pick, renew_cg, softmax,
                                 tanh)
    model = Model()
    mW1 = model.add_parameters((20, 150)); mb1 = model.add_parameters(20)      # noqa: E702
    mW2 = model.add_parameters((17, 20)); mb2 = model.add_parameters(17)      # noqa: E702
    lookup = model.add_lookup_parameters((100, 50))
    renew_cg()
    W1 = parameter(mW1); b1 = parameter(mb1); W2 = parameter(mW2); b2 = parameter(mb2)  # noqa: E702

    def get_index(x):
        return 1
    vthe = lookup[get_index("the")]; vblack = lookup[get_index("black")]; vdog = lookup[get_index("dog")]  # noqa: E702,E501
    x = concatenate([vthe, vblack, vdog])
    output = softmax(W2*(tanh(W1*x)+b1)+b2)
    loss = -log(pick(output, 5))
    assert loss.forward() is None          # DyNet's forward() computes and returns nothing
    loss_value = loss.value()
    loss.backward()

    # the same computation in NumPy
    E, A1, c1, A2, c2 = (p.as_array() for p in (lookup, mW1, mb1, mW2, mb2))
    z = A2 @ (np.tanh(A1 @ np.concatenate([E[1]] * 3)) + c1) + c2
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert isinstance(loss_value, float)
    assert loss_value == pytest.approx(-np.log(p[5]), rel=1e-5)
    assert isinstance(loss, dy.Expression) and loss.dim() == ((1,), 1)
    assert np.abs(mW1.grad_as_array()).sum() > 0
    g = lookup.grad_as_array()
    assert np.abs(g[1]).sum() > 0 and not g[0].any()       # only the looked-up row


def test_building_computes_nothing_until_a_value_is_asked_for():
    m = dy.ParameterCollection()
    W = m.add_parameters((3, 4))
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0, 3.0, 4.0])
    y = dy.tanh(W * x)
    assert y._value is None and isinstance(y, dy.Expression)
    v = y.npvalue()
    np.testing.assert_allclose(v, np.tanh(W.as_array() @ [1, 2, 3, 4]), rtol=1e-5)


def test_operators_follow_dynet():
    m = dy.ParameterCollection()
    pW = m.add_parameters((2, 3), init=dy.NumpyInitializer(np.arange(6.0).reshape(2, 3)))
    dy.renew_cg()
    x = dy.inputVector([1.0, 0.0, -1.0])
    y = dy.inputVector([2.0, 3.0, 4.0])
    assert (pW * x).vec_value() == [-2.0, -2.0]                  # Parameters used directly
    assert dy.cmult(x, y).vec_value() == [2.0, 0.0, -4.0]
    assert (x * 2).vec_value() == [2.0, 0.0, -2.0] == (2 * x).vec_value()
    assert (x - 1).vec_value() == [0.0, -1.0, -2.0] and (1 - x).vec_value() == [0.0, 1.0, 2.0]
    assert (y / 2).vec_value() == [1.0, 1.5, 2.0]
    assert dy.dot_product(x, y).value() == -2.0
    assert dy.squared_distance(x, y).value() == pytest.approx(1 + 9 + 25)
    assert dy.sum_elems(y).scalar_value() == 9.0
    assert dy.concatenate([x, y]).dim() == ((6,), 1)
    assert dy.concatenate_cols([x, y]).dim() == ((3, 2), 1)
    assert dy.transpose(dy.parameter(pW)).dim() == ((3, 2), 1)
    assert dy.reshape(dy.parameter(pW), (3, 2)).dim() == ((3, 2), 1)
    assert dy.esum([x, y, x]).vec_value() == [4.0, 3.0, 2.0]
    assert dy.average([x, y]).vec_value() == [1.5, 1.5, 1.5]
    assert dy.pick(y, 1).value() == 3.0 and y[2].value() == 4.0
    np.testing.assert_allclose(dy.softmax(y).npvalue().sum(), 1.0, rtol=1e-6)
    np.testing.assert_allclose(dy.log_softmax(y).npvalue(), np.log(dy.softmax(y).npvalue()), rtol=1e-5)
    assert dy.pickneglogsoftmax(y, 0).value() == pytest.approx(-dy.log_softmax(y).npvalue()[0], rel=1e-6)
    assert dy.rectify(x).vec_value() == [1.0, 0.0, 0.0]
    assert dy.logistic(dy.scalarInput(0.0)).value() == 0.5
    m2 = dy.inputTensor([[1.0, 2.0], [3.0, 4.0]])
    assert dy.colwise_add(m2, dy.inputVector([10.0, 20.0])).value() == [[11.0, 12.0], [23.0, 24.0]]
    assert dy.binary_log_loss(dy.inputVector([0.5]), dy.inputVector([1.0])).value() == pytest.approx(np.log(2))


def test_set_changes_an_input_of_a_built_graph():
    """DyNet's xor example builds the graph once and re-sets its inputs."""
    compgraph.manual_seed(1)
    m = dy.ParameterCollection()
    W = m.add_parameters((8, 2)); b = m.add_parameters(8)               # noqa: E702
    V = m.add_parameters((1, 8)); a = m.add_parameters(1)               # noqa: E702
    trainer = dy.SimpleSGDTrainer(m, learning_rate=0.1)
    dy.renew_cg()
    x = dy.vecInput(2)
    y = dy.scalarInput(0)
    h = dy.tanh(W * x + b)
    y_pred = dy.logistic(V * h + a)
    loss = dy.binary_log_loss(y_pred, y)
    epoch_losses = []
    for it in range(150):
        total = 0.0
        for x1 in (0, 1):
            for x2 in (0, 1):
                x.set([x1, x2])
                y.set(x1 != x2)
                total += loss.scalar_value()
                loss.backward()
                trainer.update()
        epoch_losses.append(total)
    assert epoch_losses[-1] < 0.5 * epoch_losses[0]
    x.set([1, 0])
    assert y_pred.scalar_value() > 0.5


def test_gradients_match_finite_differences():
    compgraph.manual_seed(2)
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((6, 3))
    W = m.add_parameters((4, 6)); b = m.add_parameters(4)                # noqa: E702
    to_float64(m)

    def build():
        x = dy.concatenate([E[1], E[4]])
        h = dy.tanh(W * x + b)
        return dy.pickneglogsoftmax(h, 2) + dy.squared_norm(h) * 0.5 + dy.sum_elems(dy.cmult(h, h))

    assert check_gradients(m, build, np.random.default_rng(0)) == 9


def test_batched_expressions_equal_their_examples():
    compgraph.manual_seed(3)
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((7, 4))
    W = m.add_parameters((3, 4))
    ids, golds = [1, 5, 2], [0, 2, 1]
    dy.renew_cg()
    xb = dy.lookup_batch(E, ids)
    assert xb.dim() == ((4,), 3)
    lb = dy.pickneglogsoftmax_batch(W * xb, golds)
    total = dy.sum_batches(lb)
    assert total.dim() == ((1,), 1)
    singles = [dy.pickneglogsoftmax(W * E[i], g) for i, g in zip(ids, golds)]
    assert total.value() == pytest.approx(dy.esum(singles).value(), rel=1e-5)
    # a batch of scalars reads as DyNet's dims (1,) by batch 3: shape (1, 3)
    np.testing.assert_allclose(lb.npvalue(), [[s.value() for s in singles]], rtol=1e-5)
    total.backward()
    g_batch = W.grad_as_array(), E.grad_as_array()
    W.scale_gradient(0); E.scale_gradient(0)
    dy.esum(singles).backward()
    np.testing.assert_allclose(g_batch[0], W.grad_as_array(), rtol=1e-5)
    np.testing.assert_allclose(g_batch[1], E.grad_as_array(), rtol=1e-5)


def test_trainers_apply_and_zero_the_gradients():
    for make, check in [
        (lambda m: dy.SimpleSGDTrainer(m, learning_rate=0.5), lambda w0, g: w0 - 0.5 * g),
        (lambda m: dy.MomentumSGDTrainer(m, learning_rate=0.5, mom=0.9), lambda w0, g: w0 - 0.5 * g),
        (lambda m: dy.AdagradTrainer(m, learning_rate=0.5), lambda w0, g: w0 - 0.5 * np.sign(g)),
        (lambda m: dy.AdamTrainer(m, alpha=0.5), lambda w0, g: w0 - 0.5 * np.sign(g)),
    ]:
        m = dy.ParameterCollection()
        w = m.add_parameters(3, init=dy.NumpyInitializer(np.array([1.0, 2.0, 3.0])))
        trainer = make(m)
        dy.renew_cg()
        loss = dy.dot_product(dy.parameter(w), dy.inputVector([0.1, -0.2, 0.3]))
        loss.backward()
        g = w.grad_as_array()
        np.testing.assert_allclose(g, [0.1, -0.2, 0.3], rtol=1e-6)
        trainer.update()
        np.testing.assert_allclose(w.as_array(), check(np.array([1.0, 2.0, 3.0]), g), rtol=1e-4)
        assert not w.grad_as_array().any()


def test_gradient_clipping_is_on_by_default_as_in_dynet():
    m = dy.ParameterCollection()
    w = m.add_parameters(2, init=dy.ConstInitializer(0.0))
    trainer = dy.SimpleSGDTrainer(m, learning_rate=1.0)
    assert trainer.get_clip_threshold() == 5.0
    dy.renew_cg()
    dy.dot_product(dy.parameter(w), dy.inputVector([30.0, 40.0])).backward()   # norm 50
    trainer.update()
    np.testing.assert_allclose(w.as_array(), [-3.0, -4.0], rtol=1e-6)        # scaled to norm 5
    trainer.set_clip_threshold(0)
    dy.renew_cg()
    dy.dot_product(dy.parameter(w), dy.inputVector([30.0, 40.0])).backward()
    trainer.update()
    np.testing.assert_allclose(w.as_array(), [-33.0, -44.0], rtol=1e-6)


def test_lookup_tables_update_only_touched_rows():
    m = dy.ParameterCollection()
    E = m.add_lookup_parameters((4, 2), init=dy.ConstInitializer(1.0))
    trainer = dy.AdamTrainer(m)
    dy.renew_cg()
    dy.sum_elems(E[2]).backward()
    trainer.update()
    table = E.as_array()
    assert (table[[0, 1, 3]] == 1.0).all() and (table[2] < 1.0).all()


def test_save_and_populate_round_trip(tmp_path):
    compgraph.manual_seed(4)
    m = dy.ParameterCollection()
    W = m.add_parameters((3, 2)); E = m.add_lookup_parameters((5, 2))  # noqa: E702
    lstm = dy.LSTMBuilder(1, 2, 3, m)
    path = tmp_path / "model.npz"
    m.save(str(path))
    m2 = dy.ParameterCollection()
    W2 = m2.add_parameters((3, 2)); E2 = m2.add_lookup_parameters((5, 2))  # noqa: E702
    lstm2 = dy.LSTMBuilder(1, 2, 3, m2)
    m2.populate(str(path))
    np.testing.assert_array_equal(W2.as_array(), W.as_array())
    np.testing.assert_array_equal(E2.as_array(), E.as_array())
    for a, b in zip(lstm.get_parameters()[0], lstm2.get_parameters()[0]):
        np.testing.assert_array_equal(a.as_array(), b.as_array())
    m3 = dy.ParameterCollection()
    m3.add_parameters((2, 2))
    with pytest.raises(compgraph.ShapeError):
        m3.populate(str(path))


def test_gradient_of_intermediate_needs_full_backward():
    m = dy.ParameterCollection()
    w = m.add_parameters(2, init=dy.NumpyInitializer(np.array([1.0, -1.0])))
    dy.renew_cg()
    h = dy.cmult(dy.parameter(w), dy.inputVector([2.0, 3.0]))
    loss = dy.sum_elems(dy.cmult(h, h))
    loss.backward(full=True)
    np.testing.assert_allclose(h.gradient(), 2 * h.npvalue())
    dy.renew_cg()
    x = dy.inputVector([1.0, 2.0])
    with pytest.raises(GraphError, match="no backward pass"):
        x.gradient()                      # DyNet 2.1.2: RuntimeError, not zeros
    # nothing to update: DyNet 2.1.2 runs it, and the input's gradient is zero (full: computed)
    dy.sum_elems(x).backward()
    np.testing.assert_array_equal(x.gradient(), [0.0, 0.0])
    dy.sum_elems(dy.cmult(x, x)).backward(full=True)
    np.testing.assert_array_equal(x.gradient(), [2.0, 4.0])


def test_config_switches_autobatching_for_new_graphs():
    try:
        dy.config(autobatch=True)
        assert dy.renew_cg().autobatch
        dy.dynet_config.set(autobatch=0)
        assert not dy.renew_cg().autobatch
        assert dy.renew_cg(autobatching=True).autobatch
    finally:
        dy.config(autobatch=False)
