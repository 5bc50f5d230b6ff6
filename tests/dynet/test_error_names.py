"""An error raised while a dy function builds its nodes names that function first (the engine
alone would name its own op, "mul" for cmult, or a helper of the dialect): every variant of the
refusal sweep that real DyNet refuses, and the operators."""
import sys

import pytest

import compgraph.dynet as dy
from compgraph.errors import CompgraphError

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import test_refusals as refusals  # noqa: E402

ALIASES = {"pick_range": "pickrange"}      # DyNet 2.1 has both spellings; one function here
REFUSED = sorted(k for k, want in refusals.CASES.items()
                 if want["raises"] or refusals._why(refusals.NONSENSE, k))


@pytest.mark.parametrize("key", REFUSED)
def test_the_message_starts_with_the_function_called(key):
    name = refusals.VARIANTS[key][0]
    with pytest.raises(CompgraphError) as err:
        refusals._run(key)
    msg = str(err.value)
    assert msg.split(":")[0].split(" (")[0] in (name, ALIASES.get(name)), msg


@pytest.mark.parametrize("call, first", [
    (lambda a, b: a + b, "+ (add):"), (lambda a, b: b - a, "- (sub):"),
    (lambda a, b: a / b, "/ (div):"), (lambda a, b: 2.0 - b + a, "+ (add):"),
    (lambda a, b: dy.cmult(a, b), "cmult (mul):"),
    (lambda a, b: dy.squared_distance(a, b), "squared_distance (sub):"),
    (lambda a, b: dy.logistic([1.0, 2.0]), "logistic: expected an Expression"),
    (lambda a, b: dy.floor([1.0, 2.0], "zero_gradient"), "floor: expected an Expression")])
def test_operators_and_functions(call, first):
    dy.renew_cg()
    a, b = dy.inputVector([1.0, 2.0, 3.0]), dy.inputVector([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(CompgraphError) as err:
        call(a, b)
    assert str(err.value).startswith(first), str(err.value)
    assert "(3,)" in str(err.value) or "list" in str(err.value)


def test_a_builder_method_is_named():
    dy.renew_cg()
    m = dy.ParameterCollection()
    s = dy.LSTMBuilder(1, 3, 5, m).initial_state()
    with pytest.raises(CompgraphError, match=r"^add_input \(vanilla_lstm_gates\): x \(4,\)"):
        s.add_input(dy.inputVector([1.0, 2.0, 3.0, 4.0]))


def test_the_pytorch_dialect_is_untouched():
    import compgraph as torch
    with pytest.raises(CompgraphError, match=r"^add: shapes \(3,\) and \(4,\)"):
        torch.ones(3) + torch.ones(4)
