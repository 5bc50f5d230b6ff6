"""Second derivatives of the compositions behind the new surface (the op-table entries get
theirs in tests/ops/test_generated.py): each is checked against finite differences of its
own first gradient, in float64."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.nn.functional as CF

R = np.random.default_rng(7)


def t(*shape):
    return cg.tensor(R.standard_normal(shape), requires_grad=True)


CASES = {
    "roll": (lambda x: cg.roll(x, (1, -2), (0, 1)) ** 2, [(3, 4)]),
    "diagonal": (lambda x: cg.diagonal(x, 1, 0, 2) ** 3, [(3, 2, 4)]),
    "diag": (lambda x: cg.diag(x, -1) ** 2, [(4,)]),
    "unfold": (lambda x: x.unfold(1, 3, 2) ** 2, [(2, 7)]),
    "repeat_interleave": (lambda x: cg.repeat_interleave(x, 2, dim=0) ** 3, [(3, 2)]),
    "masked_select": (lambda x: cg.masked_select(x, x > 0) ** 2, [(3, 4)]),
    "lerp": (lambda a, b, w: cg.lerp(a, b, w), [(3, 4), (3, 4), (4,)]),
    "meshgrid": (lambda a, b: cg.meshgrid(a, b, indexing="xy")[0] * cg.meshgrid(a, b, indexing="xy")[1], [(3,), (4,)]),
    "einsum_diag": (lambda x, y: cg.einsum("ii,...i->...", x, y) ** 2, [(3, 3), (2, 3)]),
    "std_mean": (lambda x: cg.std_mean(x, 1)[0] * cg.std_mean(x, 1)[1], [(3, 4)]),
    "scatter_reduce_mean": (lambda x, s: cg.scatter_reduce(x, 0, cg.tensor([1, 1, 0]), s, "mean") ** 2, [(3,), (3,)]),
    "celu": (lambda x: CF.celu(x, 0.7), [(3, 4)]),
    "selu": (lambda x: CF.selu(x), [(3, 4)]),
    "softsign": (lambda x: CF.softsign(x), [(3, 4)]),
    "softmin": (lambda x: CF.softmin(x, 1), [(3, 4)]),
    "interpolate_bilinear": (lambda x: CF.interpolate(x, scale_factor=1.5, mode="bilinear") ** 2, [(1, 2, 3, 4)]),
    "interpolate_nearest": (lambda x: CF.interpolate(x, size=(5, 3), mode="nearest") ** 2, [(1, 2, 3, 4)]),
    "pad_reflect": (lambda x: CF.pad(x, (2, 1, 1, 2), mode="reflect") ** 2, [(1, 2, 3, 4)]),
    "pad_circular": (lambda x: CF.pad(x, (1, 2), mode="circular") ** 2, [(2, 3, 4)]),
    "conv_transpose2d": (lambda x, w: CF.conv_transpose2d(x, w, stride=2, padding=1, output_padding=1) ** 2,
                         [(1, 2, 3, 3), (2, 3, 3, 2)]),
    "conv_transpose1d": (lambda x, w: CF.conv_transpose1d(x, w, stride=2) ** 2, [(1, 2, 4), (2, 2, 3)]),
    "conv3d": (lambda x, w: CF.conv3d(x, w, padding=1, stride=(2, 1, 1)) ** 2, [(1, 2, 3, 3, 3), (2, 2, 2, 2, 2)]),
    "avg_pool3d": (lambda x: CF.avg_pool3d(x, 2, padding=1, ceil_mode=True) ** 2, [(1, 1, 3, 4, 3)]),
    "max_unpool2d": (lambda x: CF.max_unpool2d(*CF.max_pool2d(x, 2, return_indices=True), 2) ** 2, [(1, 2, 4, 4)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivative(name):
    fn, shapes = CASES[name]
    xs = [t(*s) for s in shapes]
    assert cg.gradcheck(fn, xs)
    assert cg.gradgradcheck(fn, xs, atol=1e-4, rtol=1e-3)
