"""Which calls warn, and how often: the same code on compgraph and on real PyTorch 2.13 must
record the same warning categories (count and class), and compgraph's must point at the
caller's line (the test file), not into compgraph or NumPy."""
import warnings

import pytest
import torch
import torch.nn.functional as TF

import compgraph as cg
import compgraph.nn.functional as CF

CALLS = {
    # the regression losses broadcast a target of another shape, with a warning
    "mse_loss broadcast": lambda L, F: F.mse_loss(L.ones(3), L.ones(2, 3)),
    "l1_loss broadcast": lambda L, F: F.l1_loss(L.ones(2, 1), L.ones(2)),
    "smooth_l1_loss broadcast": lambda L, F: F.smooth_l1_loss(L.ones(3), L.ones(2, 3)),
    "huber_loss broadcast": lambda L, F: F.huber_loss(L.ones(3), L.ones(2, 3)),
    "mse_loss same shape": lambda L, F: F.mse_loss(L.ones(2, 3), L.ones(2, 3)),
    # no degrees of freedom: one warning per call (NumPy's two would be noise)
    "std of a 0-d tensor": lambda L, F: L.std(L.tensor(2.0), 0),
    "var of a 0-d tensor": lambda L, F: L.var(L.tensor(2.0), 0),
    "var_mean of one value": lambda L, F: L.var_mean(L.ones(1)),
    "std_mean of one value": lambda L, F: L.std_mean(L.ones(1)),
    "std with correction 3": lambda L, F: L.ones(2, 3).std(1, correction=3),
    "std of two values": lambda L, F: L.ones(2).std(),
    "var of nothing": lambda L, F: L.zeros(0).var(),
    "var over an empty dim": lambda L, F: L.zeros(3, 0).var(0),
    "var, correction 0, of nothing": lambda L, F: L.zeros(0).var(correction=0),
}
# (NumPy's RuntimeWarnings from inside compgraph, log(0) and 0 / 0, are silenced by a filter
# that "always" would override here: test_semantics checks them in a fresh interpreter)


def _recorded(fn, L, F):
    with warnings.catch_warnings(record=True) as log:
        warnings.simplefilter("always")
        try:
            fn(L, F)
        except Exception as e:           # noqa: BLE001 - compared as a result
            return type(e).__mro__[1:], []
    return None, log


@pytest.mark.parametrize("name", sorted(CALLS))
def test_warns_as_pytorch(name):
    _, theirs = _recorded(CALLS[name], torch, TF)
    _, mine = _recorded(CALLS[name], cg, CF)
    assert [w.category for w in mine] == [w.category for w in theirs], (
        f"compgraph: {[str(w.message) for w in mine]}\ntorch: {[str(w.message) for w in theirs]}")
    for w in mine:
        assert w.filename == __file__, f"{w.message} points at {w.filename}:{w.lineno}"
