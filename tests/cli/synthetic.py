"""Small, easy, MNIST-shaped data written as IDX files (no network, no real dataset).

Class k is a bright 7x7 square in cell k of a 4x4 grid, over faint noise: the
classes are linearly separable, so a few epochs of any model learn them.
"""
import os
import subprocess
import sys

import numpy as np

from compgraph.data import write_idx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(n, 28, 28))
    for i, k in enumerate(labels):
        r, c = divmod(int(k), 4)
        images[i, 7 * r:7 * r + 7, 7 * c:7 * c + 7] += 180
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_fake_mnist(directory, n_train=600, n_test=200, seed=0):
    """Write the four IDX files into ``directory``; returns it."""
    os.makedirs(directory, exist_ok=True)
    for split, n, s in (("train", n_train, seed), ("test", n_test, seed + 1)):
        images, labels = make_split(n, s)
        write_idx(os.path.join(directory, FILES[split][0]), images)
        write_idx(os.path.join(directory, FILES[split][1]), labels)
    return str(directory)


def subprocess_env(tmp_path):
    """Environment for child processes: this checkout importable, caches in tmp_path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env["COMPGRAPH_DATA"] = str(tmp_path / "cache")  # never the user's cache
    # One BLAS thread: on a busy machine (a test run in parallel with others),
    # OpenBLAS's spinning threads can slow small matrix products twentyfold.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def run_cli(args, tmp_path, **kwargs):
    """``python -m compgraph.cli ARGS`` in a child process; returns CompletedProcess."""
    return subprocess.run([sys.executable, "-m", "compgraph.cli", *args], cwd=tmp_path,
                          env=subprocess_env(tmp_path), capture_output=True, text=True,
                          timeout=120, **kwargs)
