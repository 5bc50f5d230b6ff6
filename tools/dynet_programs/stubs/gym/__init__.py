"""A tiny deterministic stand-in for gym (only what DyNet's RL examples use)."""
import numpy as np

class _Box:
    def __init__(self, shape): self.shape = shape
class _Discrete:
    def __init__(self, n): self.n = n; self.shape = ()

class _Env:
    def __init__(self, name):
        self.continuous = not name.startswith(("CartPole", "Acrobot", "MountainCar"))
        self.observation_space = _Box((4,))
        self.action_space = _Box((2,)) if self.continuous else _Discrete(2)
        self._max_episode_steps = 8
        self._rs = np.random.RandomState(0)
    def reset(self):
        self._t = 0
        self._obs = self._rs.uniform(-1, 1, 4)
        return self._obs
    def step(self, action):
        self._t += 1
        a = np.asarray(action, dtype=float).ravel()
        self._obs = np.tanh(self._obs + 0.1 * a.sum() + self._rs.uniform(-.1, .1, 4))
        return self._obs, float(1.0 - abs(self._obs[0])), self._t >= 6, {}
    def render(self): pass

def make(name): return _Env(name)
