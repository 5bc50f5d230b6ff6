"""The random generators behind rand, randn, dropout, init and shuffling, as torch's.

`Generator` is torch.Generator over a NumPy PCG64 stream: the streams differ from PyTorch's
(Mersenne Twister), but everything torch promises holds: one seed gives one sequence,
`get_state`/`set_state` replay it, and `manual_seed` reseeds every random choice compgraph
makes (functions, dropout, nn.init, DataLoader shuffling) through `default_generator`.
"""
import contextlib

import numpy as np

# torch.Generator() starts from this seed when none is given (the default generator itself is
# seeded from the OS at start-up, as PyTorch's)
_DEFAULT_SEED = 67280421310721
_STATE_BYTES = 8 + 16 + 16 + 1 + 4      # seed, PCG64 state and increment, cached 32-bit half


def _check_seed(seed, who):
    try:
        seed = int(seed)          # as PyTorch: 1.5 seeds as 1
    except (TypeError, ValueError):
        from .errors import ArgumentError
        raise ArgumentError(f"{who}: seed must be an int, got {type(seed).__name__}") from None
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"{who}: seed {seed} is outside the 64-bit range [-2**63, 2**64)")
    # a negative seed is its 64-bit two's complement, as PyTorch reads it (NumPy refuses it)
    return seed % 2 ** 64


class Generator:
    """torch.Generator: a seedable random stream to pass as ``generator=``."""

    def __init__(self, device="cpu"):
        from .backend import normalize_device
        self.device = normalize_device(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed):
        self._seed = _check_seed(seed, "Generator.manual_seed")
        self._rng = np.random.default_rng(self._seed)
        return self

    def seed(self):
        """Reseed from the OS's entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().generate_state(1, np.uint64)[0]))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        """The state as a uint8 tensor (what set_state takes back)."""
        from .tensor import from_numpy
        s = self._rng.bit_generator.state
        raw = (self._seed.to_bytes(8, "little") + s["state"]["state"].to_bytes(16, "little")
               + s["state"]["inc"].to_bytes(16, "little") + bytes([s["has_uint32"]])
               + int(s["uinteger"]).to_bytes(4, "little"))
        return from_numpy(np.frombuffer(raw, np.uint8).copy())

    def set_state(self, new_state):
        from .errors import ArgumentError, ShapeError
        from .tensor import Tensor
        if isinstance(new_state, dict) and new_state.get("bit_generator") == "PCG64":
            # what get_rng_state returned before it returned tensors (older checkpoints)
            self._rng.bit_generator.state = new_state
            return self
        if not isinstance(new_state, Tensor) or new_state.dtype != np.uint8:
            raise ArgumentError(f"Generator.set_state: the RNG state must be a uint8 tensor "
                                f"(torch.ByteTensor) from get_state(), got "
                                f"{getattr(new_state, 'dtype', type(new_state).__name__)}")
        raw = bytes(np.asarray(new_state.detach().cpu()._value).reshape(-1))
        if len(raw) != _STATE_BYTES:
            raise ShapeError(f"Generator.set_state: expected a state of {_STATE_BYTES} bytes "
                             f"(as get_state() returns), got {len(raw)}")
        rng = np.random.default_rng()
        rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[8:24], "little"),
                      "inc": int.from_bytes(raw[24:40], "little")},
            "has_uint32": raw[40], "uinteger": int.from_bytes(raw[41:45], "little")}
        self._seed, self._rng = int.from_bytes(raw[:8], "little"), rng
        return self

    def _set_stream(self, numpy_rng, seed):
        """Draw from `numpy_rng` from now on (DataLoader's per-epoch streams)."""
        self._rng, self._seed = numpy_rng, int(seed)
        return self

    def __repr__(self):
        return f"<compgraph.Generator object on {self.device}>"


default_generator = Generator()
default_generator.seed()


def rng(gen=None):
    """The NumPy stream to draw from: that of ``gen`` (a Generator), else the default one."""
    if gen is None:
        return default_generator._rng
    if not isinstance(gen, Generator):
        from .errors import ArgumentError
        raise ArgumentError(f"generator must be a compgraph.Generator (torch.Generator), got "
                            f"{type(gen).__name__}")
    return gen._rng


def generator():
    """The default generator's NumPy stream (what every draw without generator= uses)."""
    return default_generator._rng


def manual_seed(seed):
    """Seed every random choice compgraph makes (as torch.manual_seed); returns the
    default generator."""
    return default_generator.manual_seed(_check_seed(seed, "manual_seed"))


def seed():
    """Seed the default generator from the OS's entropy and return that seed (torch.seed)."""
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, **_):
    """Run a block whose draws leave the default generator as it was (torch.random.fork_rng)."""
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
