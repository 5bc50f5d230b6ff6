"""compgraph.dynet raises where real DyNet 2.1.2 raises, and computes DyNet's value where it
computes: every variant of tests/dynet/reference/refusal_cases.py (each expression function
with right and with wrong inputs) against reference/refusals.json, written on real DyNet by
reference/generate_refusals.py.

Where DyNet computes nonsense -- a float index truncated, batches of 2 and 3 combined, an
out-of-range class read -- compgraph refuses on purpose (a silently wrong number is worse
than an error); those variants are listed below with the reason and checked to raise."""
import json
import pathlib
import sys

import numpy as np
import pytest

import compgraph.dynet as dy
from compgraph.errors import CompgraphError

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))

import refusal_cases  # noqa: E402
from harness import Ctx  # noqa: E402

CASES = json.loads((REF / "refusals.json").read_text())["cases"]
VARIANTS = refusal_cases.variants()

# DyNet computes, compgraph refuses on purpose (each raises a compgraph error here)
NONSENSE = {
    "/int_float_": "DyNet truncates a float index or dimension (1.5 -> 1) without a word",
    "/batches_2_and_3": "DyNet combines batches of 2 and 3 elements (reading past the smaller)",
    **{f"{f}(L{d})/list_batches_2_and_3": "DyNet combines batches of 2 and 3 elements"
       for f in ("esum", "average", "logsumexp", "concatenate", "concatenate_cols", "emax")
       for d in ("", ",d1")},
    "average(L)/list_empty": "DyNet averages an empty list",
    "average(L)/list_list_of_numbers": "DyNet averages plain numbers into an expression",
    "average(L)/list_mismatched_dims": "DyNet adds a 3-vector and a 4-vector",
    "binary_log_loss(prob,prob)/dim_arg": "DyNet combines a 3-vector and a 4-vector",
    "bmax(v,v)/dim_arg": "DyNet compares a 3-vector with a 4-vector",
    "bmin(v,v)/dim_arg": "DyNet compares a 3-vector with a 4-vector",
    "contract3d_1d_1d(T,fb,v)/dim_arg": "DyNet contracts over mismatched dimensions",
    "inverse(M)/dim_arg0": "DyNet inverts a 3x2 matrix",
    "log_softmax(v,restrict)/ids_big": "DyNet restricts to a class that does not exist",
    "conv2d(img,flt,stride)/batched_arg1": "compgraph's conv2d takes one filter bank (a batch of "
                                           "filters is not supported)",
    "conv2d_bias(img,flt,fb,stride)/batched_arg1": "as conv2d: one filter bank",
    "conv2d_bias(img,flt,fb,stride)/batched_arg2": "compgraph's conv2d_bias takes one bias",
    "conv2d(img,flt,stride)/batches_2_and_2": "DyNet uses the first filter bank of a batch of "
                                              "them for every image",
    "conv2d_bias(img,flt,fb,stride)/batches_2_and_2": "as conv2d",
    "filter1d_narrow(m,f12)/batched_arg": "DyNet 2.1.2 returns one element for a batch",
    "filter1d_narrow(m,f12)/batches_2_and_2": "DyNet 2.1.2 returns one element for a batch",
    "fold_rows(v6,i2)/batched_arg0": "DyNet 2.1.2 returns one element for a batch",
}
# DyNet's number is wrong (a DyNet 2.1.2 bug): compgraph's is checked against NumPy instead
DYNET_WRONG = {
    "contract3d_1d(": "DyNet 2.1.2 adds into output memory it never clears (test_functions.py "
                      "checks the formula)",
    "logsumexp_dim(m,d1)/": "DyNet 2.1.2 gives wrong numbers past the second row along d=1",
}
# DyNet computes only the first batch element where one operand is batched (the others not);
# compgraph computes the whole batch, whose first element is DyNet's value
FIRST_ELEMENT_ONLY = {"vanilla_lstm_gates(h,h,Wx,Wh,b12)/batched_arg" + k for k in "1234"}


def _why(table, key):
    return next((why for pat, why in table.items() if pat in key), None)


def _run(key):
    name, kinds, kw, swap = VARIANTS[key]
    c = Ctx(dy)
    dy.renew_cg()
    e = refusal_cases.run_variant(dy, c, name, kinds, kw, swap)
    return c, np.asarray(e.npvalue(), dtype=float), e.dim()


def test_every_variant_has_a_reference():
    assert sorted(VARIANTS) == sorted(CASES), "rerun tests/dynet/reference/generate_refusals.py"


def test_the_sweep_covers_the_expression_functions():
    """Every expression function of the dialect (not graph handles, inputs, builders or
    parameters) is called by the sweep."""
    swept = {v[0] for v in VARIANTS.values()}
    skip = {"cg", "cg_checkpoint", "cg_revert", "cg_version", "config", "renew_cg", "init",
            "init_from_params", "reset_random_seed", "print_graphviz", "print_text_graphviz",
            "available_devices", "get_device_info", "to_device", "load", "save",
            "load_generator", "forward", "npvalues", "values", "parameter", "const_parameter",
            "lookup", "lookup_batch", "const_lookup", "const_lookup_batch", "inputTensor",
            "inputVector", "inputMatrix", "vecInput", "scalarInput", "matInput",
            "sparse_inputTensor", "zeros", "zeroes", "ones", "constant", "one_hot",
            "random_normal", "random_bernoulli", "random_uniform", "random_gumbel",
            "cwise_multiply",           # not in DyNet 2.1.2 (a DyNet 1 name): cmult is swept
            "contract3d_1d_bias", "contract3d_1d_1d_bias",   # contract3d_* + b
            "vanilla_lstm_gates_concat", "vanilla_lstm_gates_dropout",
            "vanilla_lstm_gates_dropout_concat",             # vanilla_lstm_gates on other inputs
            "log_sigmoid"}     # DyNet 2.1.2's value depends on reused memory (test_reference.py)
    names = {n for n in dy.__all__ if callable(getattr(dy, n)) and n[0].islower()}
    assert sorted(names - swept - skip) == []


@pytest.mark.parametrize("key", sorted(CASES))
def test_raises_exactly_where_dynet_raises(key):
    want = CASES[key]
    if want["raises"] or _why(NONSENSE, key):
        with pytest.raises(CompgraphError):
            _run(key)
        return
    c, got, (dims, batch) = _run(key)
    if key in FIRST_ELEMENT_ONLY:
        batch = 1
    assert [list(dims), batch] == [list(want["dims"][0]), want["dims"][1]], "dims, batch size"
    ref = np.asarray(want["value"], dtype=float)
    if key in FIRST_ELEMENT_ONLY:
        got = got[..., 0]
    elif _why(DYNET_WRONG, key):
        if key.startswith("logsumexp_dim") and batch == 1:
            x = c.params["x1"].as_array()
            ref = np.log(np.exp(x).sum(axis=1))
        else:
            assert np.isfinite(got).all()
            return
    np.testing.assert_allclose(got, ref, rtol=2e-4, atol=2e-5, equal_nan=True)


def test_the_three_reported():
    """pickneglogsoftmax with a list, dot_product and binary_log_loss of a (3,1) and a (3,):
    DyNet raises, and so does compgraph, naming the function and the dims."""
    for key, words in (("pickneglogsoftmax(v,ids2)/list_for_int", ("pickneglogsoftmax", "list")),
                       ("dot_product(col,v)/column_and_vector", ("dot_product", "(3, 1)", "(3,)")),
                       ("binary_log_loss(col,prob)/column_and_vector",
                        ("binary_log_loss", "(3, 1)", "(3,)"))):
        assert CASES[key]["raises"]
        with pytest.raises(CompgraphError) as err:
            _run(key)
        for w in words:
            assert w in str(err.value), (key, str(err.value))
