"""Devices without a GPU: CPU tensors, and clear errors where CUDA is asked for."""
import importlib.util

import pytest

import compgraph as cg
from compgraph.errors import DeviceError

HAS_CUPY = importlib.util.find_spec("cupy") is not None


def test_cpu_is_the_default_device_and_to_cpu_is_free():
    t = cg.tensor([1.0, 2.0])
    assert t.device == "cpu"
    assert t.to("cpu") is t and t.cpu() is t


def test_unknown_device_is_a_clear_error():
    with pytest.raises(DeviceError, match="unknown device"):
        cg.tensor([1.0], device="tpu")


@pytest.mark.skipif(HAS_CUPY, reason="this machine has CuPy; the GPU tests cover it")
def test_cuda_without_cupy_says_what_to_install():
    assert not cg.cuda.is_available()
    assert cg.cuda.device_count() == 0
    with pytest.raises(DeviceError, match=r"pip install 'compgraph\[cuda\]'"):
        cg.tensor([1.0]).cuda()
    with pytest.raises(DeviceError, match="CuPy"):
        cg.zeros(2, device="cuda")
