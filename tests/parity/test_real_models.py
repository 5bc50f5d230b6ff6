"""The benchmark's real-model programs (benchmarks/models.py: minGPT, the MNIST CNN, the
word-level LSTM language model), run for a few steps on compgraph and on real PyTorch from
the same weights and data: the losses after training must agree."""
import os
import sys

import numpy as np
import pytest
import torch

import compgraph

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
import models  # noqa: E402


@pytest.mark.parametrize("workload", ["gpt-nano", "gpt-small", "mnist-cnn", "lstm-lm"])
def test_same_losses_as_pytorch(workload):
    steps, _, expected = models.train(torch, workload, quick=True)
    got_steps, _, got = models.train(compgraph, workload, quick=True)
    assert got_steps == steps
    np.testing.assert_allclose(got, expected, rtol=1e-4)
