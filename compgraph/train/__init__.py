"""Training models on MNIST / Fashion-MNIST: what the ``compgraph`` command runs.

    from compgraph.train import make_config, train
    train(make_config("mlp", epochs=5), "runs/mlp")

Modules: ``config`` (settings and defaults), ``models`` (linear, mlp, cnn),
``loop`` (training, evaluation, resume), ``checkpoint`` (epoch-NNN.npz),
``metrics`` (metrics.jsonl), ``plot`` (curves.png), ``progress`` (the bar).
Names are imported on first use, so ``import compgraph.train`` stays cheap.
"""

import importlib

_EXPORTS = {
    "TrainConfig": "config", "make_config": "config", "MODEL_DEFAULTS": "config",
    "build_model": "models", "MODELS": "models",
    "train": "loop", "evaluate": "loop", "load_images": "loop",
    "model_from_checkpoint": "checkpoint", "latest_checkpoint": "checkpoint",
    "read_metrics": "metrics",
    "plot_runs": "plot", "plot_run": "plot",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'compgraph.train' has no attribute {name!r}")
    return getattr(importlib.import_module(f"compgraph.train.{module}"), name)
