"""The ops added beside the promotion rule follow it too: their result dtypes against real
PyTorch for integer, mixed and float operands (fmod of an int64 tensor and 2.5 was float64)."""
import pytest
import torch

import compgraph as cg

BINARY = ["fmod", "copysign", "remainder", "atan2", "logaddexp", "hypot"]
PAIRS = [([1, 2, 3], [2, 2, 2]), ([1, 2, 3], [2.0, 3.0, 4.0]), ([1.0, 2.0], [1, 1]),
         ([True, False], [2.0, 3.0])]
UNARY = ["tan", "erf", "erfc", "exp2", "log2", "log10", "sinh", "cosh", "expm1", "arcsinh",
         "arctan", "sin", "exp", "sqrt", "sigmoid"]


def _dtype_or_error(fn):
    try:
        return str(fn().dtype).replace("torch.", "")
    except Exception:
        return "error"


@pytest.mark.parametrize("name", [n for n in BINARY if hasattr(cg, n)])
@pytest.mark.parametrize("x,y", PAIRS)
def test_binary_tensor_operands(name, x, y):
    ours = _dtype_or_error(lambda: getattr(cg, name)(cg.tensor(x), cg.tensor(y)))
    theirs = _dtype_or_error(lambda: getattr(torch, name)(torch.tensor(x), torch.tensor(y)))
    assert ours == theirs


@pytest.mark.parametrize("name", ["fmod", "remainder", "copysign"])
@pytest.mark.parametrize("number", [2, 2.5])
def test_binary_with_a_python_number(name, number):
    ours = _dtype_or_error(lambda: getattr(cg, name)(cg.tensor([1, 2, 3]), number))
    theirs = _dtype_or_error(lambda: getattr(torch, name)(torch.tensor([1, 2, 3]), number))
    assert ours == theirs


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("x", [[1, 2], [True, False], [1.0, 2.0]])
def test_unary_of_integers_and_bools(name, x):
    ours = _dtype_or_error(lambda: getattr(cg, name)(cg.tensor(x)))
    theirs = _dtype_or_error(lambda: getattr(torch, name)(torch.tensor(x)))
    assert ours == theirs
