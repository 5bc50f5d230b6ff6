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
from compgraph.errors import MissingFileError
from compgraph.train.config import TrainConfig

__all__ = ["FORMAT", "checkpoint_path", "list_checkpoints", "latest_checkpoint",
           "scan_checkpoints", "save_checkpoint", "load_checkpoint", "model_from_checkpoint"]

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


def scan_checkpoints(run_dir):
    """``(found, damaged)``: ``(path, state)`` of the newest checkpoint that loads (or None),
    and ``(path, reason)`` of every newer one that does not, newest first."""
    damaged = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return (path, load_checkpoint(path)), damaged
        except (OSError, ValueError) as exc:
            damaged.append((path, _reason(exc, path)))
    return None, damaged


def _reason(exc, path) -> str:
    # the messages of io.load start with the file's name, already shown beside them
    text = str(exc)
    for prefix in (f"checkpoint {path!r} ", f"checkpoint {path!r}: ", f"{path}: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def describe_damaged(damaged) -> str:
    """One line: each damaged file and why it does not load."""
    return "; ".join(f"{path} ({reason})" for path, reason in damaged)


def latest_checkpoint(run_dir, warn=None):
    """``(path, state)`` of the newest checkpoint that loads, or None if there is none.

    A file that fails to load (damaged on disk, say) is reported through
    ``warn`` and the next older one is tried.
    """
    found, damaged = scan_checkpoints(run_dir)
    if warn is not None:
        for path, reason in damaged:
            warn(f"skipping unreadable checkpoint {path}: {reason}")
    return found


def model_from_checkpoint(path, warn=None):
    """``(model, config, state)`` from a checkpoint file, or from a run folder's newest one."""
    from compgraph.train.models import build_model  # needs compgraph.nn; keep this module light

    path = os.fspath(path)
    if os.path.isdir(path):
        found, damaged = scan_checkpoints(path)
        if found is None and damaged:
            raise io.CheckpointError(f"{path}: no checkpoint in this folder loads: "
                                     f"{describe_damaged(damaged)}")
        if found is None:
            raise MissingFileError(f"{path}: no checkpoint (epoch-NNN.npz) in this folder")
        if damaged and warn is not None:
            warn(f"{path}: testing {os.path.basename(found[0])}, the newest checkpoint that "
                 f"loads; newer ones do not: {describe_damaged(damaged)}")
        path, state = found
    else:
        state = load_checkpoint(path)
    config = TrainConfig.from_json(state["config"])
    model = build_model(config.model, config.hidden, config.activation)
    model.load_state_dict(state["model"])
    return model, config, state
