"""compgraph.dynet against real DyNet 2.1.2: the cases of tests/dynet/reference/cases.py
(and trainer_cases.py), run here, compared with the outputs real DyNet gave for them
(expressions.npz, written by tests/dynet/reference/generate.py), and a coverage check:
every public function of the dialect has a reference case in some reference file there."""
import json
import pathlib
import sys

import numpy as np
import pytest

import compgraph.dynet as dy

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))

import cases  # noqa: E402
import trainer_cases  # noqa: E402, F401  (fills cases.CASES)
import state_cases  # noqa: E402, F401  (fills cases.CASES)
from harness import RAISES, run  # noqa: E402

META = json.loads((REF / "expressions.json").read_text())["cases"]
with np.load(REF / "expressions.npz") as _z:
    VALUES = _z["values"]


def _reference(name):
    """{field: array} that real DyNet gave for case `name`."""
    return {f: VALUES[off:off + int(np.prod(shape))].reshape(shape)
            for f, (off, shape) in META[name]["fields"].items()}


def test_every_case_has_a_reference_and_every_reference_a_case():
    assert sorted(cases.CASES) == sorted(META), "rerun tests/dynet/reference/generate.py on DyNet"


@pytest.mark.parametrize("autobatch", [False, True], ids=["plain", "autobatch"])
@pytest.mark.parametrize("name", sorted(META))
def test_case_matches_dynet(name, autobatch):
    """Each case, computed node by node and with automatic batching: both give DyNet's numbers."""
    fn, covers, grad = cases.CASES[name]
    saved = dict(dy.dynet_config.get())
    try:
        dy.config(autobatch=autobatch)
        got = run(dy, fn, grad)
    finally:
        dy.config(**saved)
    want = _reference(name)
    if RAISES in want:
        assert RAISES in got, f"DyNet raises here; compgraph.dynet computed {sorted(got)}"
        return
    assert RAISES not in got, "compgraph.dynet raises where DyNet computes (REFERENCE_DEBUG=1 shows why)"
    assert sorted(got) == sorted(want)
    for field, w in want.items():
        g = got[field]
        if field.endswith(".dim"):
            np.testing.assert_array_equal(g, w, err_msg=f"{field}: dims (then batch)")
            continue
        assert g.shape == w.shape, f"{field}: shape {g.shape}, DyNet {w.shape}"   # npvalue's layout
        np.testing.assert_allclose(g, w, rtol=2e-4, atol=2e-5, err_msg=field)


# --- coverage ---------------------------------------------------------------------------------------
# Names of compgraph.dynet that compute nothing a reference could hold (graph handles, types, the
# configuration), or are checked by a test of their own named here.
NOT_COMPUTATIONAL = {
    "BatchedExpression",       # the class of batched expressions (every batched case uses it)
    "ComputationGraph", "cg", "renew_cg", "cg_version",   # graph handles
    "config", "dynet_config", "DynetParams", "init", "init_from_params",  # configuration
                               # (test_functions.py)
    "reset_random_seed",       # seeds the generator; DyNet's stream is not reproduced
    "print_text_graphviz", "print_graphviz",   # graph inspection (test_functions.py)
    "available_devices", "get_device_info", "to_device",  # devices: CPU only (test_dialect.py)
}
# names whose real-DyNet value is not reproducible, so no reference file can hold it: each is
# checked in tests/dynet/test_functions.py against the function it must equal
DYNET_UNRELIABLE = {
    "contract3d_1d",    # DyNet 2.1.2 adds into output memory it never clears (no bias)
    "log_sigmoid",      # DyNet 2.1.2 gives log(sigmoid(x)) - 1 once memory is reused
}
# DyNet defines these as another dialect function on transformed inputs (expr.cc); each is
# checked equal to that one in tests/dynet/test_functions.py, and covered when it is
DEFINED_BY = {
    "vanilla_lstm_gates_concat": "vanilla_lstm_gates",
    "vanilla_lstm_gates_dropout": "vanilla_lstm_gates",
    "vanilla_lstm_gates_dropout_concat": "vanilla_lstm_gates",
}
# names whose cases are written by generate_builders.py (the builders' generator); counted as
# covered only while that generator's reference file is absent from this branch
BUILDERS_GENERATOR = {
    "BiRNNBuilder", "GRUBuilder", "LSTMBuilder", "RNNState", "SimpleRNNBuilder",
    "VanillaLSTMBuilder", "CoupledLSTMBuilder", "FastLSTMBuilder", "SparseLSTMBuilder",
    "StandardSoftmaxBuilder", "ClassFactoredSoftmaxBuilder", "LookupParameters",
    "ParameterCollection", "Model", "Initializer", "ConstInitializer", "GlorotInitializer",
    "NormalInitializer", "NumpyInitializer", "SaxeInitializer", "UniformInitializer",
    "IdentityInitializer", "FromFileInitializer", "vanilla_lstm_gates", "vanilla_lstm_c",
    "vanilla_lstm_h", "save", "load",
}


def _covered():
    """Every name a case of any reference file in tests/dynet/reference/ says it checks."""
    names, files = set(), []
    for path in sorted(REF.glob("*.json")):
        meta = json.loads(path.read_text())
        entries = meta.get("cases", meta)
        files.append(path.name)
        for case_name, info in entries.items():
            names.add(case_name.split("/")[0])
            names.update((info or {}).get("covers", []) if isinstance(info, dict) else [])
    return names, files


def test_every_dialect_function_has_a_reference_case():
    covered, files = _covered()
    exempt = NOT_COMPUTATIONAL | DYNET_UNRELIABLE
    if len(files) == 1:                  # only this generator's file: builders not yet in
        exempt |= BUILDERS_GENERATOR
    public = {n for n in dy.__all__ if callable(getattr(dy, n)) and not n.startswith("_")}
    covered |= {n for n, base in DEFINED_BY.items() if base in covered or base in exempt}
    missing = sorted(public - covered - exempt)
    assert not missing, (f"dialect names without a reference case in {files}: {missing}; add a case "
                         "to tests/dynet/reference/cases.py and rerun generate.py on DyNet")
