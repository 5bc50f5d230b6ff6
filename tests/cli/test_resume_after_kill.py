"""A run killed (SIGKILL) at a random point of epoch 2, then resumed, ends bitwise
where an uninterrupted run ends."""
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np

from compgraph import io
from tests.cli.synthetic import run_cli, subprocess_env, write_fake_mnist

# Big enough that an epoch takes a noticeable time (so the kill lands inside it).
ARGS = ["--model", "mlp", "--hidden", "256", "--epochs", "2", "--batch-size", "16",
        "--seed", "11", "--no-progress"]


def _train_cmd(data_dir, out, *extra):
    return [sys.executable, "-m", "compgraph.cli", "train", "--data-dir", data_dir,
            "--out", str(out), *ARGS, *extra]


def _wait_for(path, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert proc.poll() is None, f"training exited early: {proc.communicate()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def _kill_during_epoch_2(data_dir, out, env, epoch_seconds):
    """Start a run, SIGKILL it at a random moment of epoch 2; True if the kill
    landed before epoch 2's checkpoint (a loaded machine can make it late)."""
    proc = subprocess.Popen(_train_cmd(data_dir, out), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _wait_for(out / "epoch-001.npz", proc)
    # Epoch 2 starts as soon as checkpoint 1 lands; kill somewhere inside it.
    time.sleep(random.uniform(0.05, 0.7) * epoch_seconds)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return not (out / "epoch-002.npz").exists()


def test_sigkill_mid_epoch_then_resume_is_bitwise_identical(tmp_path):
    data_dir = write_fake_mnist(tmp_path / "data", n_train=6000, n_test=100)
    env = subprocess_env(tmp_path)

    straight = tmp_path / "straight"
    done = subprocess.run(_train_cmd(data_dir, straight), env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    epoch_seconds = json.loads((straight / "metrics.jsonl").read_text().splitlines()[1])["seconds"]

    for attempt in range(4):
        killed = tmp_path / f"killed-{attempt}"
        if _kill_during_epoch_2(data_dir, killed, env, epoch_seconds / 2 ** attempt):
            break
    else:
        raise AssertionError("every kill came after epoch 2 had finished")

    resumed = run_cli(["train", "--out", str(killed), "--resume", "--no-progress"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr and "epoch 1 of 2 done" in resumed.stderr

    a = io.load(str(straight / "epoch-002.npz"))
    b = io.load(str(killed / "epoch-002.npz"))
    assert list(a["model"]) == list(b["model"])
    for key in a["model"]:
        assert np.array_equal(a["model"][key].numpy(), b["model"][key].numpy()), key
    # The optimizer's moments too: a further resume would continue identically.
    assert _arrays(a["optimizer"]) and len(_arrays(a["optimizer"])) == len(_arrays(b["optimizer"]))
    for x, y in zip(_arrays(a["optimizer"]), _arrays(b["optimizer"])):
        assert np.array_equal(x, y)
    assert [r["epoch"] for r in b["metrics"]] == [1, 2]


def _arrays(obj):
    """Every array in a nested state dict, in a fixed order."""
    if isinstance(obj, dict):
        return [a for k in sorted(obj, key=repr) for a in _arrays(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [a for v in obj for a in _arrays(v)]
    if hasattr(obj, "numpy"):
        return [obj.numpy()]
    if isinstance(obj, np.ndarray):
        return [obj]
    return []
