"""compgraph.save / compgraph.load / compgraph.device, as PyTorch programs call them."""
import json
import zipfile

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.errors import ArgumentError, DeviceError


def test_save_load_state_dicts_and_nested_structures(tmp_path):
    cg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    opt = cg.optim.Adam(model.parameters(), lr=0.01)
    model(cg.randn(5, 3)).sum().backward()
    opt.step()
    ckpt = {"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3,
            "history": [0.5, 0.25], "pair": (cg.tensor([1, 2]), 1.5), "none": None}
    path = tmp_path / "ckpt.pt"
    cg.save(ckpt, path)
    back = cg.load(path)
    assert back["epoch"] == 3 and back["history"] == [0.5, 0.25] and back["none"] is None
    assert isinstance(back["pair"], tuple) and back["pair"][1] == 1.5
    np.testing.assert_array_equal(back["pair"][0]._value, [1, 2])
    assert list(back["model"]) == list(model.state_dict())
    clone = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    clone.load_state_dict(back["model"])
    for (k, a), b in zip(model.state_dict().items(), clone.state_dict().values()):
        np.testing.assert_array_equal(a._value, b._value, err_msg=k)
        assert a.dtype == b.dtype
    opt2 = cg.optim.Adam(clone.parameters(), lr=1.0)
    opt2.load_state_dict(back["optim"])
    assert opt2.param_groups[0]["lr"] == 0.01
    # the file is PyTorch's zip format: a pickle with the tensors' bytes beside it
    with zipfile.ZipFile(path) as z:
        assert {"archive/data.pkl", "archive/byteorder", "archive/version"} <= set(z.namelist())


def test_checkpoints_saved_with_compgraph_io_still_load(tmp_path):
    """Files from compgraph.io.save (the .npz checkpoints compgraph.save wrote before it
    wrote PyTorch's format) keep loading, from a path and from a file object."""
    w = cg.tensor([[1.0, 2.0]], requires_grad=True)
    cg.io.save({"w": w, "step": 7, "arr": np.arange(3)}, tmp_path / "old.npz")
    with open(tmp_path / "old.npz", "rb") as fh:
        loaded = [cg.load(tmp_path / "old.npz"), cg.load(fh)]
    for back in loaded:
        assert back["step"] == 7 and back["w"].requires_grad
        np.testing.assert_array_equal(back["w"]._value, [[1.0, 2.0]])
        np.testing.assert_array_equal(back["arr"], [0, 1, 2])
    with np.load(tmp_path / "old.npz", allow_pickle=False) as z:
        header = json.loads(z["__header__"].tobytes().decode("utf-8"))
    assert header["format"] == "compgraph-checkpoint/1"


def test_load_map_location_and_refusals(tmp_path):
    w = cg.tensor([1.0, 2.0], requires_grad=True)
    cg.save({"w": w}, tmp_path / "w")
    for loc in ("cpu", cg.device("cpu"), {"cuda": "cpu"}, None):
        back = cg.load(tmp_path / "w", map_location=loc)["w"]
        assert back.device == "cpu" and back.requires_grad
    assert cg.load(tmp_path / "w", weights_only=True)["w"].shape == (2,)
    with pytest.raises(ArgumentError, match="standard pickle module only"):
        cg.save({"w": w}, tmp_path / "x", pickle_module=object())
    with pytest.raises(ArgumentError, match="map_location must be"):
        cg.load(tmp_path / "w", map_location=3)
    with pytest.raises(ArgumentError, match="cannot save this object"):
        cg.save({"w": lambda: 0}, tmp_path / "y")
    assert not (tmp_path / "y").exists()


def test_device_objects():
    cpu, cuda, cuda1 = cg.device("cpu"), cg.device("cuda"), cg.device("cuda", 1)
    assert (cpu.type, cpu.index, str(cpu)) == ("cpu", None, "cpu")
    assert (cuda.type, cuda.index) == ("cuda", None)
    assert (cuda1.type, cuda1.index, str(cuda1)) == ("cuda", 1, "cuda:1")
    assert cg.device("cuda:2").index == 2 and cg.device(0) == "cuda:0"
    assert repr(cuda1) == "device(type='cuda', index=1)" and repr(cpu) == "device(type='cpu')"
    assert cg.device(cuda1) is cuda1 and cg.device("cuda:1") == cuda1
    assert len({cg.device("cpu"), cg.device("cpu")}) == 1
    with pytest.raises(DeviceError, match="Expected one of cpu, cuda device type at start of "
                                          "device string: tpu"):
        cg.device("tpu")
    with pytest.raises(DeviceError, match="must not include an index"):
        cg.device("cuda:0", 1)
    with pytest.raises(DeviceError, match="Invalid device string"):
        cg.device("cuda:x")


def test_device_objects_go_wherever_device_strings_do():
    dev = cg.device("cpu")
    x = cg.ones(2, 3, device=dev)
    assert x.device == "cpu" and x.device == dev
    assert x.to(dev) is x and cg.zeros(1, device=dev).to(dev, cg.float64).dtype == cg.float64
    assert cg.tensor([1.0], device=dev).device == dev
    model = nn.Linear(3, 2, device=dev).to(dev)
    assert model.weight.device == "cpu"
    assert model(x.to(dev)).shape == (2, 2)
