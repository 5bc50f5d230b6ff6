"""compgraph.dynet's builders, parameters, initializers and model files against real DyNet 2.1.2.

The cases of tests/dynet/reference/builders_cases.py run here and are compared with what real
DyNet computed for them (builders_cases.npz/.json, written by generate_builders.py on DyNet):
outputs, states and parameter gradients of every builder (unbatched and batched, several
steps), parameter names, initial values, the text of model files.  Model files also cross
over: files real DyNet saved load here (builders_dynet_saved.*), and DyNet's reading of files
written here is recorded (builders_interop.npz)."""
import json
import pathlib
import shutil
import sys

import numpy as np
import pytest

import compgraph.dynet as dy

REF = pathlib.Path(__file__).resolve().parent / "reference"
sys.path.insert(0, str(REF))

import builders_cases as bc  # noqa: E402

META = json.loads((REF / "builders_cases.json").read_text())["cases"]
ARRAYS = {}
with np.load(REF / "builders_cases.npz") as _z:
    for _name, _info in META.items():          # each case's fields, one after another
        _flat, _at = _z[_name], 0
        for _field, _shape in zip(_info["fields"], _info["shapes"]):
            _n = int(np.prod(_shape))
            ARRAYS[f"{_name}::{_field}"] = _flat[_at:_at + _n].reshape(_shape)
            _at += _n


def _run(name, tmp_path):
    fn, _ = bc.CASES[name]
    try:
        res = fn(dy, str(tmp_path))
    except Exception as e:          # noqa: BLE001  (recorded, compared with DyNet below)
        return None, e
    return res, None


def test_every_case_has_a_reference():
    assert sorted(bc.CASES) == sorted(META), "rerun tests/dynet/reference/generate_builders.py on DyNet"


@pytest.mark.parametrize("name", sorted(META))
def test_case_matches_dynet(name, tmp_path):
    want = META[name]
    got, err = _run(name, tmp_path)
    if want["raises"]:
        assert err is not None, f"DyNet raises here; compgraph.dynet computed {sorted(got)}"
        return
    if err is not None:
        raise err
    strings = {k: v for k, v in got.items() if isinstance(v, str)}
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in got.items() if not isinstance(v, str)}
    assert sorted(strings) == sorted(want["strings"])
    for k, v in want["strings"].items():
        assert strings[k] == v, f"{k}:\n compgraph: {strings[k]!r:.2000}\n DyNet:     {v!r:.2000}"
    assert sorted(arrays) == sorted(want["fields"])
    for k in want["fields"]:
        w, g = ARRAYS[f"{name}::{k}"], arrays[k]
        assert np.squeeze(g).shape == np.squeeze(w).shape, f"{k}: shape {g.shape}, DyNet {w.shape}"
        if k.startswith("stat:"):       # count, mean, std (, max |x|) of random initial values
            n, mean, std = w[:3]
            assert g[0] == n, k
            assert abs(g[1] - mean) <= 5 * std / np.sqrt(n) + 1e-6, f"{k}: mean {g[1]}, DyNet {mean}"
            # (5 standard errors: the std of n samples varies by ~1/sqrt(2n) relatively)
            np.testing.assert_allclose(g[2], std, rtol=5 / np.sqrt(2 * n), err_msg=f"{k}: std")
            if len(w) > 3:                # the bound of a uniform: max |x| within ~1/n of it
                np.testing.assert_allclose(g[3], w[3], rtol=0.01 + 10 / n, err_msg=f"{k}: max")
        else:
            np.testing.assert_allclose(g.reshape(w.shape), w, rtol=2e-4, atol=2e-5, err_msg=k)


def test_files_saved_by_real_dynet_load(tmp_path):
    base = tmp_path / "saved"
    for ext in (".data", ".meta"):
        shutil.copy(REF / f"builders_dynet_saved{ext}", str(base) + ext)
    pc = dy.ParameterCollection()
    W, E, b, lstm, gru, bi, coupled, sparse, compact = dy.load(str(base), pc)
    _, (W0, E0, b0, lstm0, gru0, bi0, coupled0, sparse0, compact0) = bc._model(dy)   # what DyNet saved
    for got, want in ((W, W0), (E, E0), (b, b0)):
        np.testing.assert_array_equal(got.as_array(), want.as_array())
        assert got.name() == want.name()
    assert isinstance(lstm, dy.VanillaLSTMBuilder) and isinstance(gru, dy.GRUBuilder)
    assert isinstance(bi, dy.BiRNNBuilder) and isinstance(bi.builder_layers[0][0], dy.SimpleRNNBuilder)
    assert isinstance(coupled, dy.CoupledLSTMBuilder) and isinstance(compact, dy.CompactVanillaLSTMBuilder)
    assert isinstance(sparse, dy.SparseLSTMBuilder) and sparse.spec == (1, 2, 1, False, 0.5)
    for got, want in ((lstm, lstm0), (gru, gru0), (coupled, coupled0), (sparse, sparse0),
                      (compact, compact0)):
        for a, c in zip(sum(got.get_parameters(), []), sum(want.get_parameters(), [])):
            np.testing.assert_array_equal(a.as_array(), c.as_array())


def test_real_dynet_read_the_files_written_here():
    with np.load(REF / "builders_interop.npz") as z:
        read = dict(z)
    m, (W, E, b, lstm, gru, bi, coupled, sparse, compact) = bc._model(dy)
    np.testing.assert_array_equal(read["W"], W.as_array())
    np.testing.assert_array_equal(read["E"], E.as_array())
    np.testing.assert_array_equal(read["b"], b.as_array())
    want = np.concatenate([p.as_array().reshape(-1) for p in m.parameters_list()]
                          + [p.as_array().reshape(-1) for p in m.lookup_parameters_list()])
    np.testing.assert_array_equal(read["populated"], want)
    dy.renew_cg()
    x = [dy.inputVector(list(bc.data(2, k))) for k in (1, 2)]
    np.testing.assert_allclose(lstm.initial_state().transduce(x)[-1].npvalue(), read["lstm"], rtol=1e-5)
    np.testing.assert_allclose(gru.initial_state().transduce(x)[-1].npvalue(), read["gru"], rtol=1e-5)
    np.testing.assert_allclose(bi.transduce(x[:1])[0].npvalue(), read["bi"], rtol=1e-5)
    for name, b in (("coupled", coupled), ("sparse", sparse), ("compact", compact)):
        np.testing.assert_allclose(b.initial_state().transduce(x)[-1].npvalue(), read[name], rtol=1e-5)


def test_meta_files_execute_nothing(tmp_path):
    """A .meta pickle that would call a function is refused, and nothing runs."""
    base = tmp_path / "evil"
    (tmp_path / "evil.data").write_text("")
    marker = tmp_path / "ran"
    # builtins.open(marker, "w") as a pickle: GLOBAL, two strings, TUPLE2, REDUCE
    evil = b"\x80\x02cbuiltins\nopen\nX" + len(str(marker)).to_bytes(4, "little") + \
        str(marker).encode() + b"X\x01\x00\x00\x00w\x86R."
    (tmp_path / "evil.meta").write_bytes(evil)
    from compgraph.errors import CheckpointError
    with pytest.raises(CheckpointError, match="not a DyNet .meta file"):
        dy.load(str(base), dy.ParameterCollection())
    assert not marker.exists()
