"""Per-epoch checkpoints of a run: ``RUN/epoch-003.npz``.

A checkpoint holds everything needed to continue the run as if it had never
stopped: model and optimizer state, the epoch just finished, the loader's
shuffling state, compgraph's global RNG state, the config and the metrics so
far.  Files are written with ``compgraph.io.save`` (temporary file, fsync,
rename), so a kill leaves only complete checkpoints under their real names.
"""

from __future__ import annotations

import os
import re

from compgraph import io
from compgraph.train.config import TrainConfig

__all__ = ["FORMAT", "checkpoint_path", "list_checkpoints", "latest_checkpoint",
           "save_checkpoint", "load_checkpoint", "model_from_checkpoint"]

FORMAT = "compgraph-train-run/1"
_NAME = re.compile(r"^epoch-(\d+)\.npz$")
_KEYS = ("format", "epoch", "config", "model", "optimizer", "loader", "rng", "metrics")


def checkpoint_path(run_dir, epoch: int) -> str:
    return os.path.join(os.fspath(run_dir), f"epoch-{epoch:03d}.npz")


def list_checkpoints(run_dir) -> list[tuple[int, str]]:
    """``(epoch, path)`` of every checkpoint file in ``run_dir``, oldest first."""
    try:
        names = os.listdir(run_dir)
    except FileNotFoundError:
        return []
    found = []
    for name in names:
        match = _NAME.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(os.fspath(run_dir), name)))
    return sorted(found)


def save_checkpoint(run_dir, epoch: int, *, config: TrainConfig, model, optimizer, loader,
                    rng_state, metrics: list) -> str:
    path = checkpoint_path(run_dir, epoch)
    io.save({
        "format": FORMAT,
        "epoch": epoch,
        "config": config.to_json(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "loader": loader.state_dict(),
        "rng": rng_state,
        "metrics": list(metrics),
    }, path)
    return path


def load_checkpoint(path) -> dict:
    """The checkpoint's contents; ValueError (naming the file) if it is not a run checkpoint."""
    state = io.load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise io.CheckpointError(f"{path}: not a compgraph training checkpoint ({FORMAT})")
    missing = [k for k in _KEYS if k not in state]
    if missing:
        raise io.CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return state


def latest_checkpoint(run_dir, warn=None):
    """``(path, state)`` of the newest checkpoint that loads, or None if there is none.

    A file that fails to load (damaged on disk, say) is reported through
    ``warn`` and the next older one is tried.
    """
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, load_checkpoint(path)
        except (OSError, ValueError) as exc:
            if warn is not None:
                warn(f"skipping unreadable checkpoint {path}: {exc}")
    return None


def model_from_checkpoint(path):
    """``(model, config, state)`` from a checkpoint file, or from a run folder's newest one."""
    from compgraph.train.models import build_model  # needs compgraph.nn; keep this module light

    path = os.fspath(path)
    if os.path.isdir(path):
        found = latest_checkpoint(path)
        if found is None:
            raise FileNotFoundError(f"{path}: no checkpoint (epoch-NNN.npz) in this folder")
        path, state = found
    else:
        state = load_checkpoint(path)
    config = TrainConfig.from_json(state["config"])
    model = build_model(config.model, config.hidden, config.activation)
    model.load_state_dict(state["model"])
    return model, config, state
