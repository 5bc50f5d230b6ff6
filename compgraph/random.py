"""The one random generator behind rand, randn, dropout, init and shuffling."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed every random choice compgraph makes (as torch.manual_seed)."""
    global _generator
    try:
        seed = int(seed)          # as PyTorch: 1.5 seeds as 1
    except (TypeError, ValueError):
        from .errors import ArgumentError
        raise ArgumentError(f"manual_seed: seed must be an int, got {type(seed).__name__}") from None
    if not -2 ** 63 <= seed < 2 ** 64:
        raise ValueError(f"manual_seed: seed {seed} is outside the 64-bit range "
                         f"[-2**63, 2**64)")
    # a negative seed is its 64-bit two's complement, as PyTorch reads it (NumPy refuses it)
    _generator = np.random.default_rng(seed % 2 ** 64)
    return _generator


seed = manual_seed


def generator():
    return _generator


def get_rng_state():
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state
