"""nn.init: gains, fans, and the ranges / spreads of each initialiser."""
import math

import numpy as np
import pytest

import compgraph as cg
import compgraph.nn as nn
from compgraph.errors import ArgumentError, ShapeError
from compgraph.nn import init


def test_calculate_gain():
    assert init.calculate_gain("linear") == 1 and init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("conv2d") == 1
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ArgumentError):
        init.calculate_gain("swish")


def test_fans_include_the_receptive_field():
    w = cg.zeros(6, 4, 3, 2)
    assert init._calculate_fan_in_and_fan_out(w) == (24, 36)
    with pytest.raises(ShapeError):
        init.xavier_uniform_(cg.zeros(5))


def test_xavier_uniform_and_normal():
    cg.manual_seed(0)
    w = nn.Parameter(cg.zeros(300, 500))           # works on parameters that require grad
    assert init.xavier_uniform_(w, gain=2.0) is w
    a = 2.0 * math.sqrt(6 / 800)
    assert np.abs(w._value).max() <= a and np.abs(w._value).max() > 0.99 * a
    assert w._value.std() == pytest.approx(a / math.sqrt(3), rel=0.01)
    init.xavier_normal_(w)
    assert w._value.std() == pytest.approx(math.sqrt(2 / 800), rel=0.01)


def test_kaiming_uniform_and_normal():
    cg.manual_seed(1)
    w = cg.zeros(400, 250)
    init.kaiming_uniform_(w, nonlinearity="relu")
    bound = math.sqrt(2) * math.sqrt(3 / 250)
    assert np.abs(w._value).max() <= bound
    assert w._value.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w._value.std() == pytest.approx(math.sqrt(2 / 400), rel=0.01)
    init.kaiming_uniform_(w, a=math.sqrt(5))        # Linear's: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(w._value).max() <= 1 / math.sqrt(250)
    with pytest.raises(ArgumentError):
        init.kaiming_normal_(w, mode="fan_middle")


def test_constant_fillers_and_seeding():
    w = cg.ones(2, 3)
    assert not init.zeros_(w)._value.any()
    assert (init.ones_(w)._value == 1).all()
    assert (init.constant_(w, 0.25)._value == 0.25).all()
    init.uniform_(w, 2, 3)
    assert ((w._value >= 2) & (w._value < 3)).all()
    cg.manual_seed(5)
    a = init.normal_(cg.zeros(4), 1.0, 0.1)._value.copy()
    cg.manual_seed(5)
    np.testing.assert_array_equal(init.normal_(cg.zeros(4), 1.0, 0.1)._value, a)
    np.testing.assert_array_equal(init.eye_(cg.ones(2, 3))._value, np.eye(2, 3))
