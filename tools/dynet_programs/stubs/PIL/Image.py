"""Stand-in for PIL.Image (only fromarray(...).save as vae.py's utils use): writes the array."""
import numpy as np
class _Img:
    def __init__(self, a): self.a = np.asarray(a)
    def save(self, fp, format=None): np.save(fp if isinstance(fp, str) and fp.endswith('.npy') else str(fp) + '.npy', self.a)
def fromarray(a, mode=None): return _Img(a)
