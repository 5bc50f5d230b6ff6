"""The examples train, and give the same losses and gradients with autobatching on or off."""
import numpy as np
import pytest

from .helpers import load_example

# few examples, used again at every update, so that the loss must go down
SMALL = {"bilstm_tagger": ["--updates", "6", "--batch", "6", "--sentences", "6"],
         "tree_lstm": ["--updates", "6", "--batch", "6", "--trees", "6", "--lr", "0.05"]}


def _args(module, name, autobatch):
    return module.parse(SMALL[name] + (["--autobatch"] if autobatch else []))


@pytest.mark.parametrize("name", ["bilstm_tagger", "tree_lstm"])
def test_example_trains_and_batching_changes_nothing(name):
    module = load_example(name)
    results = {}
    for autobatch in (False, True):
        model, _, losses = module.train(_args(module, name, autobatch))
        results[autobatch] = (losses, [p.as_array() for p in model._all()])
    losses, params = results[False]
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(results[True][0], losses, rtol=1e-4)
    for a, b in zip(results[True][1], params):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("name", ["bilstm_tagger", "tree_lstm"])
def test_example_gradients_match_with_and_without_batching(name):
    module = load_example(name)
    grads = {}
    for autobatch in (False, True):
        args = _args(module, name, autobatch)
        model, net, data = module.build(args)
        loss = module.batch_loss(net, data[:args.batch], autobatch)
        value = loss.value()
        loss.backward()
        grads[autobatch] = (value, [p.grad_as_array() for p in model._all()])
    assert grads[True][0] == pytest.approx(grads[False][0], rel=1e-5)
    for a, b in zip(grads[True][1], grads[False][1]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    assert any(np.abs(g).sum() > 0 for g in grads[True][1])


@pytest.mark.parametrize("name", ["bilstm_tagger", "tree_lstm"])
def test_example_main_reports_batching(name, capsys):
    load_example(name).main(["--updates", "2", "--batch", "4", "--autobatch"])
    out = capsys.readouterr().out
    assert "final loss" in out and "autobatch:" in out and "batches" in out
