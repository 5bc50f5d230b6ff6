"""`*` with a one-element side is DyNet's matrix product, not an elementwise product that
broadcasts.  Expected dims and values were produced by real DyNet 2.1.2 running the same
expressions (W (4,1) = [1,2,3,4], R (1,3) = [1,2,3]); "raises" is DyNet's ValueError."""
import numpy as np
import pytest

import compgraph.dynet as dy

DYNET = {
    "W*[2]": (((4,), 1), [2.0, 4.0, 6.0, 8.0]),
    "[2]*R": (((1, 3), 1), [[2.0, 4.0, 6.0]]),
    "v3*[2]": (((3,), 1), [2.0, 4.0, 6.0]),
    "[2]*v3": "raises",
    "s*s": (((1,), 1), [6.0]),
    "s*M": "raises",
    "M*s": "raises",
    "m11*M": (((1, 2), 1), [[1.0, 1.0]]),
    "bs*v": "raises",
    "v3*bs": (((3,), 2), [[2.0, 3.0], [4.0, 6.0], [6.0, 9.0]]),
    "v*3": (((2,), 1), [3.0, 6.0]),
}


def _build(tag, W, R):
    return {
        "W*[2]": lambda: W * dy.inputVector([2.0]),
        "[2]*R": lambda: dy.inputVector([2.0]) * R,
        "v3*[2]": lambda: dy.inputVector([1., 2., 3.]) * dy.inputVector([2.0]),
        "[2]*v3": lambda: dy.inputVector([2.0]) * dy.inputVector([1., 2., 3.]),
        "s*s": lambda: dy.scalarInput(2) * dy.scalarInput(3),
        "s*M": lambda: dy.scalarInput(3) * dy.inputTensor(np.ones((2, 2))),
        "M*s": lambda: dy.inputTensor(np.ones((2, 2))) * dy.scalarInput(3),
        "m11*M": lambda: dy.inputTensor(np.ones((1, 1))) * dy.inputTensor(np.ones((1, 2))),
        "bs*v": lambda: dy.inputTensor(np.ones((1, 3)), batched=True) * dy.inputVector([1., 2.]),
        "v3*bs": lambda: dy.inputVector([1., 2., 3.]) * dy.inputTensor(np.array([[2., 3.]]),
                                                                      batched=True),
        "v*3": lambda: dy.inputVector([1., 2.]) * 3,
    }[tag]


@pytest.mark.parametrize("tag", sorted(DYNET))
def test_product_with_a_one_element_side_as_dynet(tag):
    m = dy.ParameterCollection()
    W = m.add_parameters((4, 1))
    W.set_value(np.arange(1., 5.).reshape(4, 1))
    R = m.add_parameters((1, 3))
    R.set_value(np.arange(1., 4.).reshape(1, 3))
    dy.renew_cg()
    build = _build(tag, dy.parameter(W), dy.parameter(R))
    if DYNET[tag] == "raises":
        with pytest.raises(ValueError, match="matrix product"):
            build()
        return
    dims, value = DYNET[tag]
    e = build()
    assert e.dim() == dims
    np.testing.assert_allclose(e.npvalue(), np.array(value), rtol=1e-6)
