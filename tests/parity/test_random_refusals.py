"""Random functions refuse what PyTorch refuses, and what PyTorch gets silently wrong."""
import math

import pytest
import torch

import compgraph as cg


def test_normal_refuses_a_nan_std_as_pytorch_even_when_nothing_is_drawn():
    for lib in (torch, cg):
        with pytest.raises(RuntimeError, match="std"):
            lib.normal(lib.zeros(4, 0, 0), lib.tensor(math.nan))
    with pytest.raises(RuntimeError, match="std must be >= 0"):
        cg.normal(0.0, math.nan, (2,))


def test_poisson_refuses_rates_past_the_samplers_range():
    # PyTorch returns -2**63 for an infinite rate: a count no Poisson variable takes
    assert torch.poisson(torch.tensor([math.inf]))[0].item() == -2.0 ** 63
    with pytest.raises(RuntimeError, match=r"poisson: rates must be finite and at most .*inf"):
        cg.poisson(cg.tensor([math.inf, 2.0]))
    assert cg.poisson(cg.tensor([0.0, 0.0])).tolist() == [0.0, 0.0]


def test_in_place_subtraction_of_a_bool_refused_as_pytorch():
    for lib in (torch, cg):
        for other in (lib.tensor([True, False, True]), True):
            with pytest.raises(RuntimeError, match="[Ss]ubtraction"):
                lib.ones(3).sub_(other)
    x = cg.ones(3)
    x.sub_(cg.tensor([1.0, 2.0, 0.5]), alpha=2)
    assert x.tolist() == [-1.0, -3.0, 0.0]
