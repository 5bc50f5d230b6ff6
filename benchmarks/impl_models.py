"""The real-model workloads (models.py) on both libraries: one program, run once
with real PyTorch (the reference) and once with ``import compgraph as torch``."""

import models
from registry import workload_impl

WORKLOADS = ("gpt-nano", "gpt-small", "mnist-cnn", "lstm-lm")


def _register(workload, name, library, reference):
    @workload_impl(workload, name, reference=reference)
    def run(quick):
        return models.train(library(), workload, quick)
    return run


def _torch():
    import torch
    return torch


def _compgraph():
    import compgraph
    return compgraph


for _workload in WORKLOADS:
    _register(_workload, "pytorch", _torch, reference=True)
    _register(_workload, "compgraph", _compgraph, reference=False)
