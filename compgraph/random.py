"""The one random generator behind rand, randn, dropout, init and shuffling."""
import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed every random choice compgraph makes (as torch.manual_seed)."""
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


seed = manual_seed


def generator():
    return _generator


def get_rng_state():
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state
