"""Loss modules against their formulas in NumPy, every reduction, and their gradients."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
import compgraph.nn.functional as F
from compgraph.errors import ArgumentError

RNG = np.random.default_rng(0)
LOGITS = RNG.standard_normal((5, 4))
TARGET = np.array([0, 3, -100, 2, 1])
WEIGHT = np.array([0.5, 1.0, 2.0, 1.5])


def log_softmax(a, axis=-1):
    a = a - a.max(axis, keepdims=True)
    return a - np.log(np.exp(a).sum(axis, keepdims=True))


def reduce(per, reduction, denom=None):
    if reduction == "none":
        return per
    if reduction == "sum":
        return per.sum()
    return per.sum() / (per.size if denom is None else denom)


def t(a, grad=False):
    return cg.tensor(a, dtype=cg.float64, requires_grad=grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse(reduction):
    a, b = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 2))
    np.testing.assert_allclose(nn.MSELoss(reduction=reduction)(t(a), t(b))._value,
                               reduce((a - b) ** 2, reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_indices_weights_and_ignore_index(reduction):
    lp = log_softmax(LOGITS)
    valid = TARGET != -100
    ids = np.where(valid, TARGET, 0)
    picked = -lp[np.arange(5), ids] * valid
    got = nn.CrossEntropyLoss(reduction=reduction)(t(LOGITS), cg.tensor(TARGET))._value
    np.testing.assert_allclose(got, reduce(picked, reduction, valid.sum()), rtol=1e-12)
    w = WEIGHT[ids] * valid
    got = nn.CrossEntropyLoss(weight=t(WEIGHT), reduction=reduction)(t(LOGITS), cg.tensor(TARGET))._value
    np.testing.assert_allclose(got, reduce(picked * WEIGHT[ids], reduction, w.sum()), rtol=1e-12)


def test_cross_entropy_plain_indices_and_probabilities():
    ids = np.array([1, 0, 3, 3, 2])
    lp = log_softmax(LOGITS)
    np.testing.assert_allclose(nn.CrossEntropyLoss()(t(LOGITS), cg.tensor(ids)).item(),
                               -lp[np.arange(5), ids].mean(), rtol=1e-12)
    probs = RNG.random((5, 4))
    probs /= probs.sum(1, keepdims=True)
    np.testing.assert_allclose(nn.CrossEntropyLoss()(t(LOGITS), t(probs)).item(),
                               -(probs * lp).sum(1).mean(), rtol=1e-12)
    # (N, C, d) input: classes along dim 1
    x = RNG.standard_normal((2, 4, 3))
    y = RNG.integers(0, 4, (2, 3))
    lp3 = log_softmax(x, axis=1)
    ref = -np.take_along_axis(lp3, y[:, None], 1)[:, 0].mean()
    np.testing.assert_allclose(nn.CrossEntropyLoss()(t(x), cg.tensor(y)).item(), ref, rtol=1e-12)


def test_cross_entropy_label_smoothing():
    eps = 0.2
    ids = np.array([1, 0, 3, 3, 2])
    lp = log_softmax(LOGITS)
    smooth = (1 - eps) * np.eye(4)[ids] + eps / 4
    got = nn.CrossEntropyLoss(label_smoothing=eps)(t(LOGITS), cg.tensor(ids)).item()
    np.testing.assert_allclose(got, -(smooth * lp).sum(1).mean(), rtol=1e-12)
    # with weights and ignored targets: PyTorch's (1 - eps) * nll + eps / C * smoothing term
    valid = TARGET != -100
    sel = np.where(valid, TARGET, 0)
    wsum = (WEIGHT[sel] * valid).sum()
    nll = (-lp[np.arange(5), sel] * WEIGHT[sel] * valid).sum() / wsum
    sm = (-(lp * WEIGHT).sum(1) * valid).sum() / wsum
    got = nn.CrossEntropyLoss(weight=t(WEIGHT), label_smoothing=eps)(t(LOGITS), cg.tensor(TARGET)).item()
    np.testing.assert_allclose(got, (1 - eps) * nll + eps / 4 * sm, rtol=1e-12)


@pytest.mark.parametrize("kw", [dict(), dict(weight=WEIGHT), dict(label_smoothing=0.1),
                                dict(reduction="sum", weight=WEIGHT, label_smoothing=0.3)], ids=str)
def test_cross_entropy_gradients(kw):
    kw = {k: (t(v) if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    loss = nn.CrossEntropyLoss(**kw)
    assert cg.gradcheck(lambda x: loss(x, cg.tensor(TARGET)), [t(LOGITS, grad=True)])


def test_nll_loss_matches_cross_entropy_of_log_softmax():
    ids = cg.tensor(TARGET)
    for reduction in ("mean", "sum", "none"):
        a = nn.NLLLoss(weight=t(WEIGHT), reduction=reduction)(F.log_softmax(t(LOGITS), dim=1), ids)
        b = nn.CrossEntropyLoss(weight=t(WEIGHT), reduction=reduction)(t(LOGITS), ids)
        np.testing.assert_allclose(a._value, b._value, rtol=1e-12)
    assert cg.gradcheck(lambda x: nn.NLLLoss()(x, ids), [t(LOGITS, grad=True)])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_losses(reduction):
    z = RNG.standard_normal((4, 3))
    y = (RNG.random((4, 3)) > 0.5).astype(float)
    p = 1 / (1 + np.exp(-z))
    per = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(nn.BCELoss(reduction=reduction)(t(p), t(y))._value,
                               reduce(per, reduction), rtol=1e-10)
    np.testing.assert_allclose(nn.BCEWithLogitsLoss(reduction=reduction)(t(z), t(y))._value,
                               reduce(per, reduction), rtol=1e-10)
    pw = np.array([1.0, 2.0, 0.5])
    per_pw = -(pw * y * np.log(p) + (1 - y) * np.log(1 - p))
    got = nn.BCEWithLogitsLoss(reduction=reduction, pos_weight=t(pw))(t(z), t(y))._value
    np.testing.assert_allclose(got, reduce(per_pw, reduction), rtol=1e-10)


def test_bce_gradients_and_extreme_logits_stay_finite():
    y = t((RNG.random((3, 2)) > 0.5).astype(float))
    pw = t(np.array([3.0, 0.5]))
    assert cg.gradcheck(lambda z: nn.BCEWithLogitsLoss(pos_weight=pw)(z, y),
                        [t(RNG.standard_normal((3, 2)), grad=True)])
    assert cg.gradcheck(lambda p: nn.BCELoss()(p, y), [t(RNG.uniform(0.1, 0.9, (3, 2)), grad=True)])
    big = t(np.array([[1000., -1000.]]), grad=True)
    loss = nn.BCEWithLogitsLoss(pos_weight=t(np.array([2.0, 2.0])))(big, t(np.array([[0., 1.]])))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(big.grad._value).all()


def test_bad_reduction_is_refused():
    with pytest.raises(ArgumentError, match="reduction"):
        nn.MSELoss(reduction="avg")


@pytest.mark.parametrize("logits_shape, target", [((4, 3), [0.0, 1.0, 2.0, 1.0]),   # (N,) floats
                                                  ((3,), 2.0)])                        # unbatched
def test_cross_entropy_refuses_float_class_indices(logits_shape, target):
    # a float target is read as probabilities; of the indices' shape it must not give a
    # number (the unbatched case used to return one silently)
    logits = t(RNG.standard_normal(logits_shape), grad=True)
    with pytest.raises(TypeError, match="class probabilities.*use integers"):
        F.cross_entropy(logits, cg.tensor(target))
    with pytest.raises(TypeError, match="class probabilities"):
        nn.CrossEntropyLoss()(logits, cg.tensor(target))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_ignores_a_non_negative_ignore_index(reduction):
    # the "padding id 0" case: the fused fast path must not be taken when a target is ignored
    target = np.array([0, 2, 0, 1])
    logits = t(LOGITS[:4, :3], grad=True)
    got = F.cross_entropy(logits, cg.tensor(target), ignore_index=0, reduction=reduction)
    per = -log_softmax(LOGITS[:4, :3])[np.arange(4), target] * (target != 0)
    np.testing.assert_allclose(got._value, reduce(per, reduction, denom=2), rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda x, ids: cg.cross_entropy(x, ids),
    lambda x, ids: cg.nll_loss(cg.log_softmax(x, -1), ids),
    lambda x, ids: F.cross_entropy(x, ids),
    lambda x, ids: F.nll_loss(F.log_softmax(x, 1), ids),
    lambda x, ids: F.embedding(ids, x),
])
@pytest.mark.parametrize("bad", [-1, 4])
def test_labels_out_of_range_raise_instead_of_wrapping(call, bad):
    # -1 used to pick the last class (NumPy's negative index) and return a number
    x = t(RNG.standard_normal((4, 3)), grad=True)
    with pytest.raises(IndexError, match=f"index {bad} is out of range for"):
        call(x, cg.tensor([0, 1, bad, 2]))


def test_binary_cross_entropy_refuses_non_probabilities_and_stays_finite_at_0_and_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(t([1.5, 0.5]), t([1.0, 0.0]))
    p = t([0.0, 1.0, 0.0, 1.0], grad=True)
    target = t([1.0, 0.0, 0.0, 1.0])
    loss = F.binary_cross_entropy(p, target, reduction="sum")
    assert loss.item() == pytest.approx(200.0)          # logs clamped at -100
    loss.backward()
    # (p - t) / max(p (1 - p), 1e-12): a push of 1e12 where the prediction is certain and wrong
    np.testing.assert_allclose(p.grad._value, [-1e12, 1e12, 0.0, 0.0])


def test_class_weights_must_match_the_classes():
    with pytest.raises(ValueError, match=r"class weight of shape \(5,\) does not fit 3 classes"):
        F.cross_entropy(t(RNG.standard_normal((4, 3))), cg.tensor([0, 1, 1, 2]), weight=cg.ones(5))


def test_l1_loss_broadcasts_another_target_shape_with_a_warning_as_pytorch():
    import torch
    a, b = RNG.standard_normal((4, 1)), RNG.standard_normal(4)
    with pytest.warns(UserWarning, match=r"\(4,\) differs from the input's \(4, 1\)"):
        mine = nn.L1Loss()(t(a), t(b))                 # (4, 4), as PyTorch's
    with pytest.warns(UserWarning):
        theirs = torch.nn.L1Loss()(torch.tensor(a), torch.tensor(b))
    assert mine.item() == pytest.approx(theirs.item())
    with pytest.raises(RuntimeError, match=r"does not broadcast"):
        nn.L1Loss()(t(np.ones((4, 2))), t(np.ones(3)))
