"""Shape, dim and size arguments PyTorch refuses are refused here too, with errors that name
the function, the dims or shape, and what would fit (the parity audit's silent cases)."""
import numpy as np
import pytest

import compgraph as cg
from compgraph.errors import ArgumentError, BoundsError, ShapeError


def raises(kind, *words):
    """pytest.raises that also checks every word appears in the message."""
    class _Check:
        def __enter__(self):
            self.ctx = pytest.raises(kind)
            self.info = self.ctx.__enter__()
            return self.info

        def __exit__(self, *exc):
            out = self.ctx.__exit__(*exc)
            msg = str(self.info.value)
            for w in words:
                assert w in msg, (w, msg)
            return out
    return _Check()


X = cg.zeros(2, 3)


@pytest.mark.parametrize("d0,d1,bad", [(0, 5, "5"), (3, 4, "3"), (-3, 0, "-3")])
def test_transpose_dims_out_of_range(d0, d1, bad):
    with raises(ShapeError, "transpose", f"dim {bad}", "-2..1"):
        X.transpose(d0, d1)


def test_transpose_of_vectors_and_scalars_checks_dims_too():
    with raises(ShapeError, "transpose", "dim 1", "-1..0"):
        cg.zeros(3).transpose(0, 1)
    assert cg.zeros(3).transpose(0, -1).shape == (3,)
    assert cg.zeros(()).transpose(0, -1).shape == ()


def test_t_refuses_more_than_two_dims():
    with raises(ShapeError, "t:", "<= 2 dimensions", "(2, 3, 4)"):
        cg.zeros(2, 3, 4).t()
    assert cg.zeros(3).t().shape == (3,) and X.t().shape == (3, 2)


def test_flatten_dims():
    with raises(ShapeError, "flatten", "dim 5", "-2..1"):
        cg.flatten(X, 5)
    with raises(ShapeError, "flatten", "dim 7", "-3..2"):
        cg.flatten(cg.zeros(2, 3, 4), 1, 7)
    with raises(ShapeError, "flatten", "start_dim 2", "end_dim 1"):
        cg.flatten(cg.zeros(2, 3, 4), 2, 1)
    assert cg.flatten(cg.zeros(2, 3, 4), 1).shape == (2, 12)
    assert cg.flatten(cg.zeros(()), 0, 0).shape == (1,)


def test_gather_checks_dim_rank_and_index_values():
    with raises(ShapeError, "gather", "dim 3", "-2..1"):
        cg.gather(X, 3, cg.tensor([[0], [1]]))
    with raises(ShapeError, "gather", "same number of dimensions", "(2,)", "(2, 3)"):
        cg.gather(X, 1, cg.tensor([0, 1]))
    with raises(BoundsError, "gather", "index -1", "size 3", "0..2"):
        cg.gather(X, 1, cg.tensor([[-1], [0]]))
    with raises(BoundsError, "gather", "index 3"):
        cg.gather(X, 1, cg.tensor([[3], [0]]))
    with raises(ShapeError, "gather", "no larger"):
        cg.gather(X, 1, cg.zeros(3, 4, dtype=cg.int64))
    x = cg.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(cg.gather(x, 1, cg.tensor([[2]])).numpy(), [[2.0]])


def test_index_select_wants_a_vector_of_valid_ints():
    with raises(ShapeError, "index_select", "vector", "(1, 1)"):
        cg.index_select(X, 0, cg.tensor([[0]]))
    with raises(BoundsError, "index_select", "index 5", "size 2"):
        cg.index_select(X, 0, cg.tensor([5]))
    with raises(BoundsError, "index_select", "index -1"):
        cg.index_select(X, 0, cg.tensor([-1]))
    with raises(ArgumentError, "index_select", "integer"):
        cg.index_select(X, 0, cg.tensor([0.0]))
    assert cg.index_select(X, 0, cg.tensor(1)).shape == (1, 3)


@pytest.mark.parametrize("chunks", [-2, 0])
def test_chunk_needs_positive_chunks(chunks):
    with raises(ShapeError, "chunk", "greater than 0", str(chunks)):
        cg.chunk(cg.zeros(6), chunks)


def test_split_needs_positive_size():
    with raises(ShapeError, "split", "positive", "length 6"):
        cg.split(cg.zeros(6), 0)
    with raises(ShapeError, "split", "-1"):
        cg.split(cg.zeros(6), -1)
    assert [c.shape for c in cg.chunk(cg.zeros(6), 4)] == [(2,), (2,), (2,)]


def test_expand_minus_one_only_for_existing_dims():
    with raises(ShapeError, "expand", "-1", "new leading", "(3,)"):
        cg.zeros(3).expand(-1, 3)
    with raises(ShapeError, "expand", "non-negative"):
        cg.zeros(3).expand(-2)
    assert cg.zeros(3).expand(2, -1).shape == (2, 3)


def test_non_integer_sizes_and_dims_are_refused():
    with raises(ArgumentError, "reshape", "integers", "2.5"):
        cg.zeros(4).reshape(2.5, 2)
    with raises(ArgumentError, "sum", "dim", "1.5"):
        cg.zeros(4).sum(1.5)
    with raises(ArgumentError, "unsqueeze", "dim", "0.5"):
        cg.unsqueeze(cg.zeros(4), 0.5)
    assert cg.zeros(4).reshape(cg.tensor(2), 2).shape == (2, 2)


def test_einsum_bad_spec_is_named():
    with raises(ShapeError, "einsum", "'l'", "no operand"):
        cg.einsum("ij,jk->il", cg.zeros(2, 3), cg.zeros(3, 4))
    with raises(ShapeError, "einsum", "'!'", "letters"):
        cg.einsum("i!j", cg.zeros(2, 3))


def test_arange_step():
    with raises(ShapeError, "arange", "nonzero"):
        cg.arange(0, 5, 0)
    with raises(ShapeError, "arange", "sign"):
        cg.arange(0, 5, -1)
    assert cg.arange(5, 0, -2).tolist() == [5, 3, 1]


@pytest.mark.parametrize("make", [lambda: cg.randn(-1, 3), lambda: cg.zeros(-1),
                                  lambda: cg.ones(2, -1), lambda: cg.full((-1,), 2.0),
                                  lambda: cg.rand(-2), lambda: cg.empty(-1),
                                  lambda: cg.eye(-1), lambda: cg.linspace(0, 1, -1),
                                  lambda: cg.randperm(-1), lambda: cg.randint(0, 5, (-1,))])
def test_creation_refuses_negative_sizes(make):
    with raises(ShapeError, "non-negative"):
        make()


def test_creation_refuses_float_sizes():
    with raises(ArgumentError, "rand", "integers", "1.5"):
        cg.rand(1.5)


def test_manual_seed_as_pytorch():
    cg.manual_seed(-1)                  # accepted: the seed's 64-bit two's complement
    a = cg.rand(3)
    cg.manual_seed(2 ** 64 - 1)
    assert cg.rand(3).tolist() == a.tolist()
    cg.manual_seed(1.5)                 # truncated, as torch.manual_seed does
    b = cg.rand(3)
    cg.manual_seed(1)
    assert cg.rand(3).tolist() == b.tolist()
    with pytest.raises(ValueError, match="64-bit"):
        cg.manual_seed(2 ** 64)
    with raises(ArgumentError, "manual_seed"):
        cg.manual_seed("x")


def test_randint_forms():
    cg.manual_seed(0)
    r = cg.randint(10, (3,))
    assert r.shape == (3,) and r.dtype == np.int64 and 0 <= r.numpy().min() <= r.numpy().max() < 10
    r = cg.randint(3, 10, (2, 2))
    assert r.shape == (2, 2) and r.numpy().min() >= 3
    assert cg.randint(3, 10, size=(4,)).shape == (4,)
    assert cg.randint(10, size=(4,)).shape == (4,)
    assert cg.randint(low=2, high=5, size=(2,)).shape == (2,)
    with raises(ArgumentError, "randint", "size must be a tuple"):
        cg.randint(5, 2)
    with raises(ShapeError, "randint", "low=5", "high=2"):
        cg.randint(5, 2, (3,))
