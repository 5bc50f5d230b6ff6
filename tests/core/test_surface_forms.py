"""PyTorch forms that programs use without thinking: the Tensor constructor, formatting a
loss, comparing with None."""
import numpy as np
import pytest

import compgraph as cg


def test_Tensor_of_data_is_float32():
    t = cg.Tensor([1, 2])
    assert t.dtype == np.float32 and t.tolist() == [1.0, 2.0]
    assert cg.Tensor((2, 3)).tolist() == [2.0, 3.0]          # a tuple is data, as in torch
    assert cg.Tensor(np.array([1, 2])).dtype == np.float32
    assert cg.Tensor(cg.tensor([1, 2])).dtype == np.int64     # a tensor keeps its dtype
    assert cg.Tensor(np.ones(2), dtype=cg.float64).dtype == np.float64


def test_Tensor_of_sizes_is_a_float32_tensor_of_that_shape():
    t = cg.Tensor(2, 3)
    assert t.shape == (2, 3) and t.dtype == np.float32
    assert cg.Tensor(4).shape == (4,)
    assert cg.Tensor().shape == (0,)
    t = cg.Tensor(np.ones(2, np.float32), requires_grad=True)
    assert t.requires_grad and t.is_leaf


def test_format_spec_on_a_scalar_tensor():
    assert f"{cg.tensor(0.123456):.4f}" == "0.1235"
    assert f"{cg.tensor(3):d}" == "3"
    assert f"{cg.tensor([0.5, 1.0])}" == str(cg.tensor([0.5, 1.0]))
    with pytest.raises(TypeError, match="Tensor.__format__"):
        f"{cg.tensor([0.5]):.2f}"                         # torch refuses this too


def test_comparison_with_None():
    t = cg.tensor([1, 2])
    assert (t == None) is False           # noqa: E711
    assert (t != None) is True            # noqa: E711
    assert (t == 1).tolist() == [True, False]
