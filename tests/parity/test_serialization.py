"""compgraph.save / compgraph.load against real PyTorch, both ways.

Files torch.save writes load into compgraph (also in a process where torch cannot be
imported), files compgraph.save writes load in torch with torch.load(weights_only=True),
and a file whose pickle would run code is refused before anything runs.
"""
import collections
import io
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import compgraph as cg
import compgraph.nn as nn
from compgraph.serialization import UnsafeGlobalError

ROOT = Path(__file__).resolve().parents[2]


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t._value)


def _torch_model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(),
                            torch.nn.Linear(5, 3))
    m(torch.randn(8, 4))          # moves the batch-norm running statistics off their init
    return m.eval()


def _cg_model():
    return nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 3)).eval()


# --- PyTorch -> compgraph -----------------------------------------------------------------

@pytest.mark.parametrize("as_file_object", [False, True])
def test_state_dict_saved_by_torch_loads_and_computes_the_same(tmp_path, as_file_object):
    tm = _torch_model()
    sd = tm.state_dict()
    if as_file_object:
        buf = io.BytesIO()
        torch.save(sd, buf)
        buf.seek(0)
        back = cg.load(buf)
    else:
        torch.save(sd, tmp_path / "sd.pt")
        back = cg.load(tmp_path / "sd.pt")
    assert list(back) == list(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(_np(back[k]), v.numpy(), err_msg=k)
        assert back[k].dtype == v.numpy().dtype and isinstance(back[k], cg.Tensor), k
    model = _cg_model()
    model.load_state_dict(back)
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(_np(model(cg.tensor(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)


def test_every_dtype_views_and_shapes_written_by_torch(tmp_path):
    base = torch.arange(12.0).reshape(3, 4)
    obj = {"f64": torch.tensor([1.5, -2.0], dtype=torch.float64),
           "f16": torch.tensor([0.1, 65504.0], dtype=torch.float16),
           "i64": torch.tensor([2**40, -3]), "i32": torch.tensor([7], dtype=torch.int32),
           "i16": torch.tensor([-5], dtype=torch.int16), "i8": torch.tensor([-8], dtype=torch.int8),
           "u8": torch.tensor([255], dtype=torch.uint8), "b": torch.tensor([True, False]),
           "u16": torch.tensor([65535, 1], dtype=torch.uint16),
           "c64": torch.tensor([1 + 2j], dtype=torch.complex64),
           "scalar": torch.tensor(3.25), "empty": torch.zeros(0, 3),
           "base": base, "column": base[:, 1], "transposed": base.t(), "expanded": torch.ones(1, 3).expand(2, 3),
           "size": torch.Size([2, 3]), "dtype": torch.float64, "device": torch.device("cpu"),
           "nested": [(1, 2.5, "s", None, True), {"k": torch.ones(2)}]}
    torch.save(obj, tmp_path / "all.pt")
    back = cg.load(tmp_path / "all.pt")
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            assert back[k].shape == tuple(v.shape), k
            assert back[k].dtype == v.numpy().dtype, k
            np.testing.assert_array_equal(_np(back[k]), v.numpy(), err_msg=k)
    assert back["size"] == (2, 3) and back["dtype"] == cg.float64
    assert back["device"] == "cpu" and isinstance(back["device"], cg.device)
    assert back["nested"][0] == (1, 2.5, "s", None, True)
    np.testing.assert_array_equal(_np(back["nested"][1]["k"]), [1.0, 1.0])
    # views share their storage, as they do in PyTorch after torch.load
    back["base"]._value[0, 1] = 100.0
    assert back["column"]._value[0] == 100.0 and back["transposed"]._value[1, 0] == 100.0


def test_bfloat16_from_torch_loads_exactly_as_float32(tmp_path):
    x = torch.tensor([1.0, -3.140625, 1e30], dtype=torch.bfloat16)
    torch.save({"x": x}, tmp_path / "bf.pt")
    with pytest.warns(UserWarning, match="bfloat16"):
        back = cg.load(tmp_path / "bf.pt")
    assert back["x"].dtype == cg.float32
    np.testing.assert_array_equal(_np(back["x"]), x.float().numpy())


def test_optimizer_state_written_by_torch(tmp_path):
    p = torch.nn.Parameter(torch.randn(3))
    opt = torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.9))
    p.sum().backward()
    opt.step()
    torch.save(opt.state_dict(), tmp_path / "opt.pt")
    back = cg.load(tmp_path / "opt.pt")
    theirs = opt.state_dict()
    assert back["param_groups"][0]["betas"] == (0.8, 0.9) and back["param_groups"][0]["lr"] == 0.01
    for k in ("exp_avg", "exp_avg_sq", "step"):
        np.testing.assert_array_equal(_np(back["state"][0][k]), theirs["state"][0][k].numpy())


def test_whole_torch_module_loads_as_compgraph_modules(tmp_path):
    """torch.nn's own classes map to compgraph's (both libraries' modules have the same
    attributes), and what is loaded computes what PyTorch computes."""
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.LSTM(4, 6, batch_first=True))
    torch.save(tm, tmp_path / "m.pt")
    with open(tmp_path / "m.pt", "rb") as fh:
        cm = cg.load(fh)
    assert isinstance(cm, nn.Sequential) and isinstance(cm[1], nn.LSTM)
    assert [n for n, _ in cm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    ids = np.array([[1, 2, 3], [4, 5, 9]])
    out_c, (h_c, _) = cm(cg.tensor(ids))
    out_t, (h_t, _) = tm(torch.tensor(ids))
    np.testing.assert_allclose(_np(out_c), out_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(h_c), h_t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_map_location_forms(tmp_path):
    torch.save({"w": torch.ones(2, requires_grad=True)}, tmp_path / "w.pt")
    seen = []

    def keep(storage, location):
        seen.append(location)
        return storage

    for loc in ("cpu", cg.device("cpu"), {"cpu": "cpu"}, keep, None):
        w = cg.load(tmp_path / "w.pt", map_location=loc)["w"]
        assert w.device == "cpu" and w.requires_grad and w.shape == (2,)
    assert seen == ["cpu"]


def test_legacy_format_gets_a_clear_error(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(cg.CheckpointError, match="legacy format"):
        cg.load(tmp_path / "old.pt")


# --- compgraph -> PyTorch -----------------------------------------------------------------

def test_files_compgraph_saves_load_in_torch_weights_only(tmp_path):
    cg.manual_seed(0)
    model = _cg_model()
    model.train()
    model(cg.randn(8, 4))
    obj = {"model": model.state_dict(),
           "f64": cg.tensor([1.5, -2.0], dtype=cg.float64), "i64": cg.tensor([2**40, -3]),
           "i32": cg.tensor([7], dtype=cg.int32), "i8": cg.tensor([-8], dtype=cg.int8),
           "u8": cg.tensor([255], dtype=cg.uint8), "b": cg.tensor([True, False]),
           "f16": cg.tensor([0.5], dtype=cg.float16), "u16": cg.tensor(np.array([65535, 1], np.uint16)),
           "c64": cg.tensor(np.array([1 + 2j], np.complex64)),
           "scalar": cg.tensor(3.25), "empty": cg.zeros(0, 3),
           "transposed": cg.tensor(np.arange(6.0).reshape(2, 3)).t(),
           "grad": cg.tensor([1.0, 2.0], requires_grad=True),
           "device": cg.device("cpu"), "meta": [1, (2.5, "s"), None, {"k": True}]}
    path = tmp_path / "cg.pt"
    cg.save(obj, path)
    buf = io.BytesIO()
    cg.save(obj, buf)
    for source in (path, io.BytesIO(buf.getvalue())):
        back = torch.load(source, weights_only=True)
        assert list(back["model"]) == list(obj["model"])
        for k, v in list(obj["model"].items()) + [(k, v) for k, v in obj.items() if isinstance(v, cg.Tensor)]:
            got = back["model"][k] if k in obj["model"] else back[k]
            assert isinstance(got, torch.Tensor) and tuple(got.shape) == v.shape, k
            assert got.detach().numpy().dtype == v.dtype, k
            np.testing.assert_array_equal(got.detach().numpy(), _np(v), err_msg=k)
        assert back["grad"].requires_grad and not back["i64"].requires_grad
        assert back["device"] == torch.device("cpu") and back["meta"] == [1, (2.5, "s"), None, {"k": True}]
    # storages are 64-byte aligned as PyTorch writes them, so torch can memory-map them
    mapped = torch.load(path, weights_only=True, mmap=True)
    np.testing.assert_array_equal(mapped["f64"].numpy(), [1.5, -2.0])


def test_state_dict_from_compgraph_drives_a_torch_model(tmp_path):
    cg.manual_seed(3)
    model = _cg_model()
    cg.save(model.state_dict(), tmp_path / "sd.pt")
    tm = _torch_model()
    tm.load_state_dict(torch.load(tmp_path / "sd.pt"))
    x = np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(tm(torch.tensor(x)).detach().numpy(), _np(model(cg.tensor(x))),
                               rtol=1e-6, atol=1e-6)


# --- whole compgraph modules --------------------------------------------------------------

class TinyLM(nn.Module):
    """A word language model as PyTorch's example has it, with tied weights."""

    def __init__(self, ntoken=11, nhid=6):
        super().__init__()
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        self.nhid = nhid

    def forward(self, ids):
        out, _ = self.rnn(self.encoder(ids))
        return self.decoder(out)


def test_whole_compgraph_model_saved_and_loaded_with_its_class_allowed(tmp_path):
    cg.manual_seed(0)
    model = TinyLM()
    with open(tmp_path / "lm.pt", "wb") as f:
        cg.save(model, f)
    with open(tmp_path / "lm.pt", "rb") as f, pytest.raises(UnsafeGlobalError) as err:
        cg.load(f)
    assert f"{__name__}.TinyLM" in str(err.value) and "add_safe_globals([TinyLM])" in str(err.value)
    assert isinstance(err.value, pickle.UnpicklingError)      # what PyTorch raises
    with cg.serialization.safe_globals([TinyLM]):
        assert TinyLM in cg.serialization.get_safe_globals()
        with open(tmp_path / "lm.pt", "rb") as f:
            back = cg.load(f)
    assert TinyLM not in cg.serialization.get_safe_globals()
    assert type(back) is TinyLM and back.nhid == 6
    assert back.decoder.weight is back.encoder.weight           # still tied
    ids = cg.tensor([[1], [4], [7]])
    np.testing.assert_array_equal(_np(back(ids)), _np(model(ids)))
    cg.serialization.add_safe_globals([TinyLM])
    try:
        assert type(cg.load(tmp_path / "lm.pt")) is TinyLM
    finally:
        cg.serialization.clear_safe_globals()
    assert cg.serialization.get_safe_globals() == []


def test_weights_only_false_is_refused_with_the_reason(tmp_path):
    cg.save({"w": cg.ones(2)}, tmp_path / "w.pt")
    with pytest.raises(cg.ArgumentValueError, match="weights_only=False is not supported.*any code"):
        cg.load(tmp_path / "w.pt", weights_only=False)
    assert cg.load(tmp_path / "w.pt", weights_only=True)["w"].shape == (2,)


def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path):
    cg.save({"w": cg.ones(2)}, tmp_path / "w.pt")
    before = (tmp_path / "w.pt").read_bytes()
    with pytest.raises(cg.ArgumentError, match="cannot save this object"):
        cg.save({"w": cg.ones(2), "f": lambda x: x}, tmp_path / "w.pt")
    assert (tmp_path / "w.pt").read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["w.pt"]


# --- files that would run code --------------------------------------------------------------

class _Payload:
    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _torch_zip(obj, path, protocol=2):
    """A file in torch.save's layout whose data.pkl is the stdlib pickle of obj."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps(obj, protocol=protocol))
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


def _payloads(marker):
    return [
        ("posix.system" if os.name == "posix" else "nt.system", _Payload(os.system, f"touch {marker}")),
        ("builtins.eval", _Payload(eval, f"open({str(marker)!r}, 'w').close()")),
        ("builtins.exec", _Payload(exec, f"open({str(marker)!r}, 'w').close()")),
        ("subprocess.check_call", _Payload(subprocess.check_call, ["touch", str(marker)])),
        ("subprocess.Popen", _Payload(subprocess.Popen, ["touch", str(marker)])),
    ]


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("which", range(5))
def test_a_pickle_that_would_run_code_is_refused_and_nothing_runs(tmp_path, which, protocol):
    marker = tmp_path / "ran"
    name, payload = _payloads(marker)[which]
    # the payload is live: the plain pickle module runs it
    pickle.loads(pickle.dumps(payload, protocol=protocol))
    if name == "subprocess.Popen":
        import time
        for _ in range(100):
            if marker.exists():
                break
            time.sleep(0.05)
    assert marker.exists()
    marker.unlink()
    # hidden in a state dict, inside the format torch.save writes
    _torch_zip({"weight": [1.0], "evil": payload}, tmp_path / "evil.pt", protocol)
    with pytest.raises(UnsafeGlobalError, match=rf"global {name}, which is not allowed"):
        cg.load(tmp_path / "evil.pt")
    assert name in cg.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "evil.pt")
    # and as a bare pickle file, which is never unpickled at all
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(payload, protocol=protocol))
    with pytest.raises(cg.CheckpointError, match="a bare pickle is never loaded"):
        cg.load(tmp_path / "evil.pkl")
    assert not marker.exists()


def test_code_hidden_in_a_storage_name_or_a_module_state_is_refused(tmp_path):
    marker = tmp_path / "ran"
    evil = _Payload(os.system, f"touch {marker}")

    class StoragePickler(pickle.Pickler):       # a persistent id naming os.system as its storage class
        def persistent_id(self, obj):
            return ("storage", os.system, "0", "cpu", 1) if obj == "s" else None

    buf = io.BytesIO()
    StoragePickler(buf, protocol=2).dump(collections.OrderedDict(w="s"))
    with zipfile.ZipFile(tmp_path / "a.pt", "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/data/0", b"\0" * 4)
    with pytest.raises(UnsafeGlobalError, match="system"):
        cg.load(tmp_path / "a.pt")
    # an allowed module whose state carries a payload
    m = nn.Linear(2, 2)
    m.__dict__["extra"] = evil
    _torch_zip(m, tmp_path / "b.pt")
    with pytest.raises(UnsafeGlobalError, match="system"):
        cg.load(tmp_path / "b.pt")
    assert not marker.exists()


# --- without PyTorch -------------------------------------------------------------------------

LM_SOURCE = """
import os
if os.environ.get("LM_BACKEND") == "torch":
    import torch
    nn = torch.nn
else:
    import compgraph as torch
    nn = torch.nn


class RNNModel(nn.Module):
    def __init__(self, ntoken, nhid):
        super().__init__()
        self.drop = nn.Dropout(0.2)
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid, 2)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        self.nhid = nhid

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(2, bsz, self.nhid), weight.new_zeros(2, bsz, self.nhid))
"""


def _run(code, tmp_path, **env):
    full = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]), **env}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=full,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_files_written_by_torch_load_where_torch_cannot_be_imported(tmp_path):
    """The word-language-model example's torch.save(model, f) / torch.load(f), and a
    state_dict, read by compgraph in a process where `import torch` fails."""
    (tmp_path / "lm_model.py").write_text(LM_SOURCE)
    tm = _torch_model()
    torch.save(tm.state_dict(), tmp_path / "sd.pt")
    np.savez(tmp_path / "sd_ref.npz", **{k: v.numpy() for k, v in tm.state_dict().items()})
    _run("""
        import numpy as np, torch
        from lm_model import RNNModel
        torch.manual_seed(0)
        model = RNNModel(13, 8).eval()
        with open("lm.pt", "wb") as f:
            torch.save(model, f)
        ids = torch.tensor([[1, 2], [3, 4], [12, 0]])
        out, _ = model(ids, model.init_hidden(2))
        np.savez("lm_ref.npz", ids=ids.numpy(), out=out.detach().numpy())
    """, tmp_path, LM_BACKEND="torch")
    out = _run("""
        import sys
        sys.modules["torch"] = None              # import torch now fails
        import numpy as np
        import compgraph as torch
        from lm_model import RNNModel
        sd = torch.load("sd.pt")
        ref = np.load("sd_ref.npz")
        assert list(sd) == list(ref.files), (list(sd), ref.files)
        for k in ref.files:
            np.testing.assert_array_equal(sd[k].numpy(), ref[k])
            assert sd[k].dtype == ref[k].dtype
        with open("lm.pt", "rb") as f:
            try:
                torch.load(f)
                raise AssertionError("a user class must be allow-listed")
            except torch.serialization.UnsafeGlobalError as e:
                assert "lm_model.RNNModel" in str(e)
        with open("lm.pt", "rb") as f:
            with torch.serialization.safe_globals([RNNModel, torch.nn.Dropout, torch.nn.Linear,
                                                   torch.nn.LSTM, torch.nn.Embedding]):
                model = torch.load(f)
        assert type(model) is RNNModel and model.decoder.weight is model.encoder.weight
        model.eval()
        r = np.load("lm_ref.npz")
        out, _ = model(torch.tensor(r["ids"]), model.init_hidden(2))
        np.testing.assert_allclose(out.detach().numpy(), r["out"], rtol=1e-5, atol=1e-6)
        assert sys.modules["torch"] is None
        print("ok", len(sd))
    """, tmp_path)
    assert out.split() == ["ok", str(len(tm.state_dict()))]


# --- safetensors ---------------------------------------------------------------------------

def test_safetensors_both_ways(tmp_path):
    import safetensors.torch as st
    from compgraph.safetensors import load_file, save_file, save, load
    cg.manual_seed(0)
    sd = {**_cg_model().state_dict(), "ids": cg.tensor([1, 2, 3]), "mask": cg.tensor([True])}
    save_file(sd, tmp_path / "cg.safetensors", metadata={"format": "pt"})
    theirs = st.load_file(tmp_path / "cg.safetensors")
    assert set(theirs) == set(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(theirs[k].numpy(), _np(v), err_msg=k)
        assert theirs[k].numpy().dtype == v.dtype
    tm = _torch_model()
    st.save_file(tm.state_dict(), tmp_path / "torch.safetensors")
    mine = load_file(tmp_path / "torch.safetensors")
    assert all(isinstance(v, cg.Tensor) for v in mine.values())
    model = _cg_model()
    model.load_state_dict(mine)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(_np(model(cg.tensor(x))), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-6)
    again = load(save({"a": cg.tensor([1.5])}))
    np.testing.assert_array_equal(_np(again["a"]), [1.5])
    with pytest.raises(cg.ArgumentError, match="holds only tensors"):
        save_file({"a": 1.5}, tmp_path / "x.safetensors")
    with pytest.raises(cg.MissingFileError):
        load_file(tmp_path / "absent.safetensors")


def test_safetensors_says_how_to_install_it_when_missing(tmp_path):
    out = _run("""
        import sys
        sys.modules["safetensors"] = None
        sys.modules["safetensors.numpy"] = None
        import compgraph as cg
        from compgraph.safetensors import save_file, MissingDependencyError
        try:
            save_file({"a": cg.ones(2)}, "a.safetensors")
        except MissingDependencyError as e:
            assert isinstance(e, ImportError)
            print(e)
    """, tmp_path)
    assert "pip install 'compgraph[safetensors]'" in out


class WithActivation(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.activation = cg.nn.functional.relu      # as PyTorch's transformer layers keep it

    def forward(self, x):
        return self.activation(self.lin(x))


def test_which_functions_and_classes_are_allowed_by_default(tmp_path):
    from compgraph.ptfile import _Name
    cg.serialization.add_safe_globals([WithActivation])
    try:
        m = WithActivation()
        cg.save(m, tmp_path / "m.pt")
        back = cg.load(tmp_path / "m.pt")
        assert back.activation is cg.nn.functional.relu
        x = cg.randn(2, 3)
        np.testing.assert_array_equal(_np(back(x)), _np(m(x)))
    finally:
        cg.serialization.clear_safe_globals()
    # compgraph functions that change global state when called are not on the list
    for module, name in [("compgraph.backend", "set_default_dtype"), ("compgraph.random", "manual_seed"),
                         ("torch", "set_default_dtype"), ("compgraph.io", "save"),
                         ("compgraph.distributed.ddp", "DistributedDataParallel")]:
        cg.save({"f": _Name(module, name)}, tmp_path / "f.pt")
        with pytest.raises(UnsafeGlobalError, match=rf"global {module}.{name}, which is not allowed"):
            cg.load(tmp_path / "f.pt")
    # a function allowed by the user is found under its PyTorch name too
    cg.save({"f": _Name("torch.nn.functional", "dropout")}, tmp_path / "d.pt")
    with pytest.raises(UnsafeGlobalError):
        cg.load(tmp_path / "d.pt")
    with cg.serialization.safe_globals([cg.nn.functional.dropout]):
        assert cg.load(tmp_path / "d.pt")["f"] is cg.nn.functional.dropout
    assert cg.serialization.get_unsafe_globals_in_checkpoint(tmp_path / "d.pt") == ["torch.nn.functional.dropout"]
