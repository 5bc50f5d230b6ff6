"""torch.accelerator: the current accelerator, which for compgraph is CUDA through CuPy
(an optional extra) or none.  On a machine without it is_available() is False and
current_accelerator() None, as PyTorch's CPU build says."""
from . import backend
from .errors import DeviceError


def is_available():
    return backend.cuda_available()


def current_accelerator(check_available=False):
    """device('cuda') where CUDA is usable, else None."""
    return backend.device("cuda") if is_available() else None


def device_count():
    from . import cuda
    return cuda.device_count()


def _require(name):
    if not is_available():
        raise DeviceError(f"torch.accelerator.{name}: cannot access an accelerator device when "
                          "none is available (install compgraph[cuda] on a machine with a GPU)")


def current_device_index():
    _require("current_device_index")
    return backend.cupy().cuda.runtime.getDevice()


current_device_idx = current_device_index


def set_device_index(device):
    _require("set_device_index")
    backend.cupy().cuda.runtime.setDevice(int(getattr(device, "index", device) or 0))


set_device_idx = set_device_index


def synchronize(device=None):
    _require("synchronize")
    from . import cuda
    cuda.synchronize()
