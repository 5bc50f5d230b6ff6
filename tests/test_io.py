"""Checkpoints: exact round trips, the documented format, atomic writes, damage."""

import json
import math
import os
import sys
import types
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from compgraph import io as cio
from compgraph.io import CheckpointError, load, save


class Tensor:
    """Stand-in for compgraph.tensor.Tensor (the checkpoint code duck-types it)."""

    def __init__(self, value, requires_grad=False):
        self._value = value
        self.requires_grad = requires_grad


class FakeCupyArray:
    """Just enough of a CuPy array: .get() copies to a NumPy array."""

    def __init__(self, host):
        self.host = host

    def get(self):
        return self.host.copy()


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    """Run as if compgraph.tensor did not exist, unless a test asks for fake_engine.

    Keeps these tests independent of the engine, developed separately. A None
    entry in sys.modules makes the import raise ImportError.
    """
    monkeypatch.setitem(sys.modules, "compgraph.tensor", None)


@pytest.fixture
def fake_engine(monkeypatch):
    module = types.ModuleType("compgraph.tensor")
    module.Tensor = Tensor
    module.from_numpy = lambda arr: Tensor(arr)
    monkeypatch.setitem(sys.modules, "compgraph.tensor", module)


def assert_bitwise_equal(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def random_array(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    size = math.prod(shape)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=size).astype(bool).reshape(shape)
    raw = rng.integers(0, 256, size=size * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)  # any bit pattern, NaN payloads included


def read_with_plain_numpy(path):
    """The recipe from the compgraph.io docstring."""
    with np.load(path, allow_pickle=False) as z:
        header = json.loads(z["__header__"].tobytes().decode("utf-8"))
        arrays = {name: z[name] for name in z.files if name != "__header__"}
    return header, arrays


def write_raw(path, header, arrays):
    """Build a .npz by hand, to make damaged or foreign checkpoints."""
    entries = dict(arrays)
    if header is not None:
        text = header if isinstance(header, bytes) else json.dumps(header).encode()
        entries["__header__"] = np.frombuffer(text, dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, **entries)


# --------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "uint8", "bool", "int8", "float16", "complex128"])
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (7,), (2, 3, 4)])
def test_array_round_trip_is_bitwise_exact(tmp_path, dtype, shape):
    array = random_array(dtype, shape)
    save(array, tmp_path / "a.ckpt")
    assert_bitwise_equal(load(tmp_path / "a.ckpt"), array)


def test_special_floats_survive(tmp_path):
    array = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    save({"a": array}, tmp_path / "s.ckpt")
    assert_bitwise_equal(load(tmp_path / "s.ckpt")["a"], array)


def test_layout_and_byte_order_variants(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    obj = [np.asfortranarray(base), base[:, ::2], base.astype(">i4")]
    save(obj, tmp_path / "v.ckpt")
    back = load(tmp_path / "v.ckpt")
    for original, restored in zip(obj, back):
        np.testing.assert_array_equal(restored, original)
        assert restored.dtype == original.dtype
    assert back[0].flags.f_contiguous


def test_optimizer_like_nested_structure_round_trips(tmp_path):
    state = {
        "state": {
            0: {"step": 3, "exp_avg": random_array("float32", (2, 3), 1), "exp_avg_sq": random_array("float32", (2, 3), 2)},
            1: {"step": 3, "exp_avg": random_array("float64", (5,), 3), "exp_avg_sq": random_array("float64", (5,), 4)},
        },
        "param_groups": [
            {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "params": [0, 1], "amsgrad": False,
             "name": None, "best": float("inf"), "note": "ünïcode ✓"},
        ],
        "": [],
        "empty": {},
        "nothing": (),
        2.5: "float key",
        True: "bool key",
        None: "None key",
    }
    save(state, tmp_path / "opt.ckpt")
    back = load(tmp_path / "opt.ckpt")
    assert list(back) == list(state)  # key order and key types kept
    assert type(back["param_groups"][0]["betas"]) is tuple
    assert back["param_groups"][0] == state["param_groups"][0]
    assert back["nothing"] == () and back["empty"] == {} and back[""] == []
    assert back[2.5] == "float key" and back[True] == "bool key" and back[None] == "None key"
    for pid in (0, 1):
        assert back["state"][pid]["step"] == 3 and type(back["state"][pid]["step"]) is int
        for key in ("exp_avg", "exp_avg_sq"):
            assert_bitwise_equal(back["state"][pid][key], state["state"][pid][key])


@pytest.mark.parametrize("scalar", [1, -2**70, 0.1, -0.0, True, False, None, "text", float("nan")])
def test_json_scalars_at_the_root(tmp_path, scalar):
    save(scalar, tmp_path / "j.ckpt")
    back = load(tmp_path / "j.ckpt")
    assert type(back) is type(scalar)
    assert back == scalar or (back != back and scalar != scalar)
    if isinstance(scalar, float):
        assert math.copysign(1, back) == math.copysign(1, scalar)


def test_numpy_scalars_keep_their_dtype(tmp_path):
    values = [np.float32(1.5), np.int64(-7), np.bool_(True), np.uint8(200), np.float16(0.25)]
    save(values, tmp_path / "n.ckpt")
    back = load(tmp_path / "n.ckpt")
    for original, restored in zip(values, back):
        assert type(restored) is type(original) and restored == original


def test_json_scalar_subclasses_come_back_as_plain_types(tmp_path):
    save({np.str_("k"): [np.float64(0.5), np.str_("v")]}, tmp_path / "p.ckpt")
    back = load(tmp_path / "p.ckpt")
    assert back == {"k": [0.5, "v"]}
    assert type(back["k"][0]) is float and type(back["k"][1]) is str


def test_tensors_come_back_as_tensors_with_requires_grad(tmp_path, fake_engine):
    weights = {"w": Tensor(random_array("float32", (3, 2)), requires_grad=True),
               "running_mean": Tensor(random_array("float64", (2,)), requires_grad=False),
               "plain": np.arange(3)}
    save(weights, tmp_path / "m.ckpt")
    back = load(tmp_path / "m.ckpt")
    assert isinstance(back["w"], Tensor) and back["w"].requires_grad is True
    assert isinstance(back["running_mean"], Tensor) and back["running_mean"].requires_grad is False
    assert_bitwise_equal(back["w"]._value, weights["w"]._value)
    assert type(back["plain"]) is np.ndarray


def test_without_engine_tensors_load_as_arrays(tmp_path):
    value = random_array("float32", (4,))
    save([Tensor(value, requires_grad=True)], tmp_path / "t.ckpt")
    (back,) = load(tmp_path / "t.ckpt")
    assert_bitwise_equal(back, value)


def test_gpu_tensor_values_are_copied_to_host(tmp_path):
    host = random_array("float32", (2, 2))
    save(Tensor(FakeCupyArray(host), requires_grad=True), tmp_path / "g.ckpt")
    assert_bitwise_equal(load(tmp_path / "g.ckpt"), host)


json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
small_arrays = hnp.arrays(dtype=st.sampled_from([np.float32, np.int64, np.uint8, np.bool_]),
                          shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3))
trees = st.recursive(
    json_scalars | small_arrays,
    lambda children: st.lists(children, max_size=3)
    | st.lists(children, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=3) | st.integers(), children, max_size=3),
    max_leaves=10,
)


def assert_same_tree(a, b):
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert_bitwise_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same_tree(a[key], b[key])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same_tree(x, y)
    else:
        assert a == b


@settings(max_examples=60, deadline=None)
@given(trees)
def test_any_supported_tree_round_trips(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("tree") / "t.ckpt"
    save(tree, path)
    assert_same_tree(load(path), tree)


# --------------------------------------------------------------------------
# The documented format
# --------------------------------------------------------------------------


def test_file_is_readable_with_plain_numpy_and_json(tmp_path, fake_engine):
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    save({"w": Tensor(np.ones(2, np.float32), requires_grad=True), "x": [a, 7]}, tmp_path / "f.ckpt")
    header, arrays = read_with_plain_numpy(tmp_path / "f.ckpt")
    assert header["format"] == "compgraph-checkpoint/1"
    assert header["arrays"] == [
        {"key": "a0", "kind": "tensor", "requires_grad": True, "dtype": "<f4", "shape": [2]},
        {"key": "a1", "kind": "array", "dtype": "<i2", "shape": [2, 3]},
    ]
    assert header["root"] == {"type": "dict", "items": [
        ["w", {"type": "array", "index": 0}],
        ["x", {"type": "list", "items": [{"type": "array", "index": 1}, 7]}],
    ]}
    assert sorted(arrays) == ["a0", "a1"]
    np.testing.assert_array_equal(arrays["a1"], a)


def test_path_is_used_exactly_as_given(tmp_path):
    save([1], tmp_path / "model.ckpt")
    assert os.listdir(tmp_path) == ["model.ckpt"]


def test_new_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    save([1], tmp_path / "perm.ckpt")
    assert os.stat(tmp_path / "perm.ckpt").st_mode & 0o777 == 0o666 & ~umask


# --------------------------------------------------------------------------
# Unsupported values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("obj, needle", [
    ({"a": [1, {2, 3}]}, r"type set at <root>\['a'\]\[1\]"),
    ({"opt": np.array([object()], dtype=object)}, r"<root>\['opt'\] has dtype object"),
    ({(1, 2): 3}, r"dict key \(1, 2\) at <root> has type tuple"),
    (b"bytes", "type bytes at <root>"),
])
def test_unsupported_values_are_refused_and_nothing_written(tmp_path, obj, needle):
    with pytest.raises(TypeError, match=needle):
        save(obj, tmp_path / "x.ckpt")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------


def crash_on_second_array(monkeypatch):
    """Make the writer die after writing half of the second array."""
    real_write_array = np.lib.format.write_array
    calls = []

    def flaky(fp, array, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            fp.write(b"\x93NUMPY partial")
            raise OSError("simulated crash (disk full)")
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", flaky)
    return calls


def test_crash_mid_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "model.ckpt"
    previous = {"w": np.arange(5.0), "b": np.zeros(2)}
    save(previous, path)
    before = path.read_bytes()
    calls = crash_on_second_array(monkeypatch)
    with pytest.raises(OSError, match="simulated crash"):
        save({"w": np.ones(1000), "b": np.ones(3)}, path)
    assert len(calls) == 2
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.ckpt"]
    monkeypatch.undo()
    assert_same_tree(load(path), previous)


def test_crash_on_first_save_leaves_nothing(tmp_path, monkeypatch):
    crash_on_second_array(monkeypatch)
    with pytest.raises(OSError):
        save([np.ones(3), np.ones(3)], tmp_path / "new.ckpt")
    assert os.listdir(tmp_path) == []


def test_atomic_write_flushes_and_fsyncs_before_replacing(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(cio.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(cio.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save([1], tmp_path / "d.ckpt")
    assert events[:2] == ["fsync", "replace"]


# --------------------------------------------------------------------------
# Damaged and foreign files
# --------------------------------------------------------------------------


def assert_checkpoint_error(path, *needles):
    with pytest.raises(CheckpointError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, ValueError)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.ckpt"
    save({"w": np.arange(1000.0)}, path)
    path.write_bytes(path.read_bytes()[: os.path.getsize(path) // 2])
    assert_checkpoint_error(path, "not a zip/.npz archive", "truncated")


def test_truncated_inside_an_array_entry(tmp_path):
    path = tmp_path / "chopped.ckpt"
    save({"w": np.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    # Corrupt array bytes but keep the zip directory: the zip CRC catches it.
    data[200:260] = b"\xff" * 60
    path.write_bytes(bytes(data))
    assert_checkpoint_error(path, "damaged")


def test_not_a_zip(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello, I am not a checkpoint")
    assert_checkpoint_error(path, "not a zip")


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "plain.npz"
    write_raw(path, None, {"weights": np.ones(2)})
    assert_checkpoint_error(path, "no '__header__' entry", "weights")


def test_wrong_format_version(tmp_path):
    path = tmp_path / "future.ckpt"
    write_raw(path, {"format": "compgraph-checkpoint/2", "arrays": [], "root": 1}, {})
    assert_checkpoint_error(path, "'compgraph-checkpoint/2'", "reads 'compgraph-checkpoint/1'")


def test_header_pointing_at_missing_array(tmp_path):
    path = tmp_path / "missing.ckpt"
    header = {"format": "compgraph-checkpoint/1",
              "arrays": [{"key": "a0", "kind": "array", "dtype": "<f8", "shape": [2]}],
              "root": {"type": "array", "index": 0}}
    write_raw(path, header, {})
    assert_checkpoint_error(path, "'a0'", "missing from the archive")


def test_header_index_out_of_range(tmp_path):
    path = tmp_path / "index.ckpt"
    header = {"format": "compgraph-checkpoint/1", "arrays": [], "root": {"type": "array", "index": 3}}
    write_raw(path, header, {})
    assert_checkpoint_error(path, "array index 3", "holds 0 arrays")


def test_header_disagreeing_with_array(tmp_path):
    path = tmp_path / "shape.ckpt"
    header = {"format": "compgraph-checkpoint/1",
              "arrays": [{"key": "a0", "kind": "array", "dtype": "<f8", "shape": [3]}],
              "root": {"type": "array", "index": 0}}
    write_raw(path, header, {"a0": np.ones(2, dtype=np.float32)})
    assert_checkpoint_error(path, "'a0' is <f4 [2]", "header says <f8 [3]")


@pytest.mark.parametrize("header, needle", [
    (b"{not json", "not valid UTF-8 JSON"),
    (b"\xff\xfe", "not valid UTF-8 JSON"),
    (b"[1, 2]", "header must be a JSON object"),
    (json.dumps({"format": "compgraph-checkpoint/1", "arrays": []}).encode(), "lacks 'arrays' list or 'root'"),
    (json.dumps({"format": "compgraph-checkpoint/1", "arrays": [], "root": {"type": "set"}}).encode(),
     "unknown node type 'set'"),
    (json.dumps({"format": "compgraph-checkpoint/1", "arrays": [], "root": {"type": "list"}}).encode(),
     "list node without an 'items' list"),
])
def test_malformed_headers(tmp_path, header, needle):
    path = tmp_path / "bad-header.ckpt"
    write_raw(path, header, {})
    assert_checkpoint_error(path, needle)


def test_header_must_be_uint8_bytes(tmp_path):
    path = tmp_path / "wrongtype.ckpt"
    with open(path, "wb") as f:
        np.savez(f, __header__=np.zeros(3, dtype=np.int32))
    assert_checkpoint_error(path, "1-d uint8 array", "int32")


def test_pickled_entries_are_never_loaded(tmp_path):
    path = tmp_path / "pickle.ckpt"
    header = {"format": "compgraph-checkpoint/1",
              "arrays": [{"key": "a0", "kind": "array", "dtype": "|O", "shape": [1]}],
              "root": {"type": "array", "index": 0}}
    write_raw(path, header, {"a0": np.array([{"evil": 1}], dtype=object)})
    assert_checkpoint_error(path, "damaged", "pickle")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        load(tmp_path / "nope.ckpt")


def test_a_zip_that_is_not_npz(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hi")
    assert_checkpoint_error(path, "no '__header__' entry")


def test_errors_are_compgraph_errors_of_the_matching_builtin(tmp_path):
    from compgraph.errors import CompgraphError
    (tmp_path / "junk.ckpt").write_bytes(b"not a zip at all")
    with pytest.raises(CheckpointError) as info:
        load(tmp_path / "junk.ckpt")
    assert isinstance(info.value, CompgraphError) and isinstance(info.value, ValueError)
    with pytest.raises(FileNotFoundError, match="nope.ckpt") as info:
        load(tmp_path / "nope.ckpt")
    assert isinstance(info.value, CompgraphError)
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        load(tmp_path)
    assert isinstance(info.value, CompgraphError)
    with pytest.raises(TypeError, match="type set") as info:
        save({"s": {1, 2}}, tmp_path / "x.ckpt")
    assert isinstance(info.value, CompgraphError)


def test_saving_into_a_missing_folder_names_the_folder(tmp_path):
    from compgraph.errors import CompgraphError
    with pytest.raises(FileNotFoundError) as info:
        save({"a": 1}, tmp_path / "nodir" / "x.ckpt")
    message = str(info.value)
    assert isinstance(info.value, CompgraphError)
    assert f"the folder {tmp_path / 'nodir'} does not exist" in message
    assert ".tmp" not in message and "mkdir -p" in message
    with pytest.raises(IsADirectoryError, match="is a folder") as info:
        save({"a": 1}, tmp_path)
    assert ".tmp" not in str(info.value)


def test_a_flipped_bit_in_array_data_is_detected(tmp_path):
    path = tmp_path / "w.ckpt"
    values = np.arange(1000, dtype=np.float32)
    save({"w": values}, path)
    data = bytearray(path.read_bytes())
    data[data.find(values[500:502].tobytes())] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"damaged: entry 'a0.npy' fails its CRC-32 check"):
        load(path)


def test_saving_through_a_symlink_updates_its_target(tmp_path):
    target, link = tmp_path / "real.ckpt", tmp_path / "link.ckpt"
    save({"v": 1}, target)
    os.symlink(target, link)
    save({"v": 2}, link)
    assert os.path.islink(link) and load(target)["v"] == 2
