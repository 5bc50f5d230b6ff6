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


# --- the examples against real DyNet ---------------------------------------------------------------
# Each example's reference_losses(dy) trains a few steps from fixed initial weights; real DyNet's
# losses for the same program are in reference/builders_examples.json (generate_builders.py).

import json  # noqa: E402
import pathlib  # noqa: E402

import compgraph.dynet as dy  # noqa: E402

_REF = pathlib.Path(__file__).resolve().parent / "reference" / "builders_examples.json"
DYNET_LOSSES = json.loads(_REF.read_text())["losses"]
EXAMPLES = sorted(p.stem for p in (pathlib.Path(__file__).resolve().parents[2] / "examples" /
                                   "dynet").glob("*.py") if not p.stem.startswith("_"))


def test_every_example_has_real_dynets_losses():
    assert sorted(DYNET_LOSSES) == EXAMPLES, "rerun tests/dynet/reference/generate_builders.py examples"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_losses_equal_real_dynets(name):
    got = load_example(name).reference_losses(dy)
    np.testing.assert_allclose(got, DYNET_LOSSES[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name, argv", [("xor", ["--steps", "400"]),
                                        ("rnnlm_batch", ["--steps", "30"]),
                                        ("attention", ["--steps", "48"]),
                                        ("mnist_mlp", ["--epochs", "3"]),
                                        ("vae", ["--epochs", "6"]),
                                        ("mnist_cnn", ["--synthetic", "--steps", "40", "--batch", "8",
                                                       "--autobatch"]),
                                        ("dqn", ["--steps", "200"])])
def test_example_main_learns(name, argv, capsys):
    losses = load_example(name).main(argv)
    assert np.mean(losses[-4:]) < np.mean(losses[:4])
    assert "loss" in capsys.readouterr().out


def test_mnist_cnn_losses_equal_real_dynets_without_autobatching():
    # the reference ran with autobatching on; the per-image graph without it computes the same
    got = load_example("mnist_cnn").reference_losses(dy, autobatch=False)
    np.testing.assert_allclose(got, DYNET_LOSSES["mnist_cnn"], rtol=1e-4, atol=1e-5)


def test_mnist_cnn_autobatching_batches_the_per_image_layers():
    module = load_example("mnist_cnn")
    xs, ys = module.synthetic()
    m = dy.ParameterCollection()
    net = module.CNN(dy, m, 8)
    module.fixed_weights(m)
    dy.renew_cg(autobatching=True)
    net.minibatch_loss(xs[:4], ys[:4]).value()
    rows = {line.split()[0]: line.split()[1:5:2] for line in
            str(dy.cg().autobatch_report()).splitlines()[1:]}
    # the four images' affine layers, rectifiers and losses each run as one batched node
    # (the convolutions and poolings are not batched yet: one node each)
    assert rows["matmul"] == ["4", "1"] and rows["cross_entropy"] == ["4", "1"]
    assert rows["relu"] == ["8", "2"]


def test_dqn_learns_the_corridor():
    module = load_example("dqn")
    losses, net = module.train(dy, steps=200)
    assert module.greedy_return(dy, net) == pytest.approx(1 - module.STEP_COST * (module.CELLS - 2))
