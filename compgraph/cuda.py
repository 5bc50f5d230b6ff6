"""compgraph.cuda: PyTorch's `torch.cuda` habits over CuPy (an optional extra: compgraph[cuda]).

Importing compgraph never imports CuPy; these functions do, on first use, and say what to
install when it is missing.
"""
from . import backend


def is_available():
    """True when CuPy imports and sees at least one GPU."""
    return backend.cuda_available()


def device_count():
    return backend.cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def synchronize():
    """Wait for every kernel queued on the current device (for honest timings)."""
    backend.cupy().cuda.get_current_stream().synchronize()


def manual_seed(seed):
    """Seed CuPy's generator; without a GPU nothing to seed, as torch.cuda.manual_seed."""
    if is_available():
        backend.cupy().random.seed(seed)


manual_seed_all = manual_seed     # one process drives one GPU here
