"""The flat store of a collection's dense parameters (params.FlatStore) and the trainers'
one-call update over it (trainers.Trainer.update).

The store is an optimization only: every number must be what a per-parameter update gives.
The references are a hand NumPy SGD step in float32 (DyNet's order of operations: the rate
times the clipping factor, rounded once, then w - g * that) and the per-parameter path of the
same trainer (the store switched off), which the DyNet references in tests/dynet/reference
check; and what users see of a parameter (as_array, set_value, save/populate) must not change.
"""
import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.dynet import params as dyparams
from compgraph.dynet import trainers as dytrainers

F32 = np.float32


def _model(seed=0, shapes=((3, 4), (3,), (2, 3), (2,))):
    rng = np.random.default_rng(seed)
    pc = dy.ParameterCollection()
    ps = [pc.add_parameters(s, init=dy.NumpyInitializer(rng.uniform(-1, 1, s).astype(F32)))
          for s in shapes]
    E = pc.lookup_parameters_from_numpy(rng.uniform(-1, 1, (5, 4)).astype(F32))
    return pc, ps, E


def _loss(ps, E, i, scale=1.0):
    W, b, V, a = (dy.parameter(p) for p in ps)
    x = E[i % 5]
    return dy.squared_norm(V * dy.tanh(W * x + b) + a) * scale


def _train(pc, ps, E, trainer, steps=4, scale=1.0):
    losses = []
    for i in range(steps):
        dy.renew_cg()
        loss = _loss(ps, E, i, scale)
        losses.append(loss.value())
        loss.backward()
        trainer.update()
    return losses, [p.as_array() for p in ps] + [E.as_array()]


def _per_parameter(monkeypatch):
    """The trainers' per-parameter path: no collection offers its store."""
    monkeypatch.setattr(dyparams.ParameterCollection, "_flat_store", lambda self: None)


def test_the_dense_parameters_are_views_of_one_buffer_and_stay_so_after_updates():
    pc, ps, E = _model()
    store = pc._store
    assert store.params == ps and E not in store.param_set
    t = dy.SimpleSGDTrainer(pc, 0.1)
    for k in range(3):
        for p, (start, end, shape, _) in zip(ps, store._layout):
            assert np.shares_memory(p._value, store.values) and p._value.shape == shape
            assert np.shares_memory(p._grad, store.grads)
            np.testing.assert_array_equal(store.values[start:end], p._value.reshape(-1))
        _train(pc, ps, E, t, steps=1)


@pytest.mark.parametrize("clip", [True, False])
def test_a_flat_sgd_step_is_the_hand_float32_step(clip):
    pc, ps, E = _model(1)
    t = dy.SimpleSGDTrainer(pc, 0.3)
    if not clip:
        t.set_clip_threshold(0)
    dy.renew_cg()
    loss = _loss(ps, E, 2, scale=40.0)          # large: its gradient norm is clipped
    loss.backward()
    before = [p._value.copy() for p in ps]
    grads = [p._grad.copy() for p in ps + [E]]
    norm = np.sqrt(sum(float(np.dot(g.reshape(-1).astype(np.float64), g.reshape(-1)))
                       for g in grads))
    assert norm > 5.0                           # the case clipping changes
    scale = F32(5.0) / F32(norm) if clip else F32(1.0)
    t.update()
    for p, w, g in zip(ps, before, grads):
        want = w - g * (F32(0.3) * scale)
        assert want.dtype == F32
        if clip:       # the norm's last bits depend on the order of its sum
            np.testing.assert_allclose(p._value, want, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(p._value, want)
        assert not p._grad.any()
    assert t.clips == (1 if clip else 0)


TRAINERS = {
    "sgd": lambda m: dy.SimpleSGDTrainer(m, 0.2),
    "momentum": lambda m: dy.MomentumSGDTrainer(m, 0.1, 0.8),
    "adagrad": lambda m: dy.AdagradTrainer(m, 0.2),
    "adadelta": lambda m: dy.AdadeltaTrainer(m),
    "rmsprop": lambda m: dy.RMSPropTrainer(m, 0.05),
    "adam": lambda m: dy.AdamTrainer(m, 0.05),
    "amsgrad": lambda m: dy.AmsgradTrainer(m, 0.05),
    "cyclical": lambda m: dy.CyclicalSGDTrainer(m, 0.01, 0.2, step_size=2),
}


@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_every_trainer_at_once_equals_each_parameter_on_its_own(name, monkeypatch):
    """Without clipping bit for bit (the rules are elementwise); with clipping active, up to
    the rounding of the norm's sum."""
    for clip in (False, True):
        runs = []
        for flat in (True, False):
            with monkeypatch.context() as mp:
                if not flat:
                    _per_parameter(mp)
                pc, ps, E = _model(2)
                t = TRAINERS[name](pc)
                if not clip:
                    t.set_clip_threshold(0)
                runs.append(_train(pc, ps, E, t, scale=30.0 if clip else 1.0))
        (l0, w0), (l1, w1) = runs
        for a, b in zip(w0, w1):
            if clip:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
            else:
                np.testing.assert_array_equal(a, b)
        if not clip:
            assert l0 == l1


def test_a_frozen_parameter_is_left_and_its_neighbours_keep_one_optimizer_state(monkeypatch):
    """Freezing one parameter for a step takes the per-parameter path; unfrozen, the store
    path again: momentum carried across both must be the per-parameter path's all along."""
    runs = []
    for flat in (True, False):
        with monkeypatch.context() as mp:
            if not flat:
                _per_parameter(mp)
            pc, ps, E = _model(3)
            t = dy.MomentumSGDTrainer(pc, 0.1, 0.9)
            t.set_clip_threshold(0)
            _train(pc, ps, E, t, steps=2)
            ps[1].set_updated(False)
            frozen = ps[1].as_array()
            _train(pc, ps, E, t, steps=2)
            np.testing.assert_array_equal(ps[1].as_array(), frozen)
            ps[1].set_updated(True)
            runs.append(_train(pc, ps, E, t, steps=3)[1])
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert pc._flat_store() is not None          # gathered back after the frozen steps


def test_a_subcollections_trainer_updates_only_its_parameters():
    pc = dy.ParameterCollection()
    sub = pc.add_subcollection("enc")
    W = sub.add_parameters((2, 2), init=1.0)
    V = pc.add_parameters((2, 2), init=2.0)
    t = dy.SimpleSGDTrainer(sub, 0.5)
    t.set_clip_threshold(0)
    dy.renew_cg()
    (dy.sum_elems(W * V) + dy.sum_elems(V)).backward()
    t.update()
    np.testing.assert_array_equal(W.as_array(), 1.0 - 0.5 * 4.0)     # d/dW = V's column sums
    np.testing.assert_array_equal(V.as_array(), 2.0)
    assert V.grad_as_array().any()                  # not this trainer's: kept
    t2 = dy.SimpleSGDTrainer(pc, 0.5)
    t2.set_clip_threshold(0)
    t2.update()                                    # the root's: all at once, W gathered back
    assert pc._flat_store() is not None and np.shares_memory(W._value, pc._store.values)
    np.testing.assert_array_equal(W.as_array(), -1.0)


def test_what_users_see_of_a_parameter_is_unchanged(tmp_path):
    pc, ps, E = _model(4)
    t = dy.SimpleSGDTrainer(pc, 0.1)
    _train(pc, ps, E, t, steps=2)
    W = ps[0]
    W.set_value(np.arange(12, dtype=float).reshape(3, 4))
    np.testing.assert_array_equal(W.as_array(), np.arange(12).reshape(3, 4))
    assert W.as_array().dtype == np.float64 and W.shape() == (3, 4)
    dy.renew_cg()
    np.testing.assert_array_equal(dy.parameter(W).npvalue(), np.arange(12).reshape(3, 4))
    _train(pc, ps, E, t, steps=1)                 # the set value is the one trained from
    assert not np.array_equal(W.as_array(), np.arange(12).reshape(3, 4))
    # a parameter added after training joins the store; the others keep their values
    kept = [p.as_array() for p in ps]
    extra = pc.add_parameters((3,), init=0.5)
    assert pc._flat_store() is not None and extra in pc._store.param_set
    for p, v in zip(ps, kept):
        np.testing.assert_array_equal(p.as_array(), v)
    np.testing.assert_array_equal(extra.as_array(), 0.5)
    # saved and populated into another model: the same numbers, and it trains the same
    path = str(tmp_path / "m")
    pc.save(path)
    pc2, ps2, E2 = _model(9)
    extra2 = pc2.add_parameters((3,), init=0.0)
    pc2.populate(path)
    for p, q in zip(ps + [E, extra], ps2 + [E2, extra2]):
        np.testing.assert_array_equal(p.as_array(), q.as_array())
    t2 = dy.SimpleSGDTrainer(pc2, 0.1)
    _, w1 = _train(pc, ps, E, t, steps=2)
    _, w2 = _train(pc2, ps2, E2, t2, steps=2)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_arrays_replaced_from_outside_leave_the_store(monkeypatch):
    """A test or a program may rebind a parameter's array (to float64, say): it leaves the
    store, and the trainer updates it, in its own dtype, as the per-parameter path does."""
    runs = []
    for flat in (True, False):
        with monkeypatch.context() as mp:
            if not flat:
                _per_parameter(mp)
            pc, ps, E = _model(5)
            ps[0]._value = ps[0]._value.astype(np.float64)
            ps[0]._grad = np.zeros_like(ps[0]._value)
            t = dy.SimpleSGDTrainer(pc, 0.1)
            runs.append(_train(pc, ps, E, t, steps=3)[1])
            assert ps[0]._value.dtype == np.float64
            if flat:
                assert ps[0] not in pc._store.param_set and pc._flat_store() is None
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_the_store_is_not_written_in_place_by_an_update():
    """The values the current graph's nodes hold stay as a forward read them (DyNet's nodes
    copy a parameter when computed): the update makes a new flat array."""
    pc, ps, E = _model(6)
    t = dy.SimpleSGDTrainer(pc, 0.1)
    dy.renew_cg()
    loss = _loss(ps, E, 1)
    loss.value()
    held = dy.parameter(ps[0])._value
    copy = held.copy()
    loss.backward()
    t.update()
    np.testing.assert_array_equal(held, copy)
    assert not np.array_equal(ps[0]._value, copy)
    assert dytrainers.FlatStore is dyparams.FlatStore
