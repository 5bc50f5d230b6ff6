"""Random numbers and data loading against real PyTorch.

compgraph's streams are not PyTorch's (PCG64, not Mersenne Twister), so values are not
compared draw by draw; what is compared: shapes, dtypes, batch structure, deterministic
outputs (unshuffled loaders, batch samplers), which calls raise and as which builtin class,
and that a seeded program repeats itself. Distributions are checked with fixed seeds on
large samples, against the exact moments (tolerances of several standard errors).
"""
import collections
import math

import numpy as np
import pytest
import torch

import compgraph as cg
from compgraph.errors import CompgraphError
import compgraph.utils.data as cgd
import torch.utils.data as td

LIBS = [(torch, td), (cg, cgd)]


def norm_dtype(dtype):
    return str(dtype).replace("torch.", "")


def struct(x):
    """A library-neutral description of a batch: containers, tensor dtypes/shapes/values."""
    if isinstance(x, (torch.Tensor, cg.Tensor)):
        return ("tensor", norm_dtype(x.dtype), tuple(x.shape), np.asarray(x.tolist()).tolist())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [struct(v) for v in x])
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [struct(v) for v in x])
    if isinstance(x, dict):
        return ("dict", [(k, struct(v)) for k, v in x.items()])
    return (type(x).__name__, x)


def raised(fn):
    try:
        fn()
    except Exception as e:      # noqa: BLE001 - which class is what the test compares
        return e
    return None


def assert_same_error(make):
    """make(lib, data) raises in both libraries; where PyTorch raises TypeError, ValueError
    or IndexError ours is that builtin too. PyTorch's RuntimeError / NotImplementedError
    (its C++ checks) are compgraph errors named for what went wrong (ShapeError,
    ArgumentValueError, DTypeError): their builtin bases are the error-class work of issue
    12, section 2, not this file's."""
    theirs, ours = raised(lambda: make(*LIBS[0])), raised(lambda: make(*LIBS[1]))
    assert theirs is not None, "PyTorch accepted it"
    assert ours is not None, f"compgraph accepted what PyTorch refuses ({theirs!r})"
    builtin = next(c for c in type(theirs).__mro__ if c.__module__ == "builtins")
    if builtin in (RuntimeError, NotImplementedError):
        assert isinstance(ours, (CompgraphError, builtin)), (theirs, ours)
    else:
        assert isinstance(ours, builtin), (theirs, ours)
    return ours


# --- Generator -------------------------------------------------------------------------------

@pytest.mark.parametrize("lib", [torch, cg])
def test_generator_api(lib):
    g = lib.Generator()
    assert g.initial_seed() == 67280421310721         # torch.Generator()'s default seed
    assert g.manual_seed(7) is g and g.initial_seed() == 7
    assert str(g.device) == "cpu"
    state = g.get_state()
    assert isinstance(state, lib.Tensor) and norm_dtype(state.dtype) == "uint8"
    a = lib.rand(5, generator=g)
    g.set_state(state)
    b = lib.rand(5, generator=g)
    assert a.tolist() == b.tolist()
    s = g.seed()
    assert isinstance(s, int) and g.initial_seed() == s
    assert lib.Generator().manual_seed(-1).initial_seed() == 2 ** 64 - 1


def test_generator_set_state_refuses_what_torch_refuses():
    ours = assert_same_error(lambda lib, _: lib.Generator().set_state(
        lib.Generator().get_state().float()))
    assert isinstance(ours, CompgraphError) and "uint8" in str(ours)
    ours = raised(lambda: cg.Generator().set_state(cg.Generator().get_state()[:10]))
    assert isinstance(ours, CompgraphError) and "10" in str(ours)
    with pytest.raises(RuntimeError):
        torch.Generator().set_state(torch.Generator().get_state()[:10])
    with pytest.raises(TypeError, match="Generator"):
        cg.rand(2, generator=np.random.default_rng(0))


@pytest.mark.parametrize("lib", [torch, cg])
def test_manual_seed_returns_the_default_generator_and_repeats(lib):
    assert isinstance(lib.manual_seed(3), lib.Generator)
    assert lib.initial_seed() == 3
    first = [lib.rand(3).tolist(), lib.randn(2).tolist(), lib.randint(0, 9, (4,)).tolist(),
             lib.randperm(6).tolist()]
    lib.manual_seed(3)
    again = [lib.rand(3).tolist(), lib.randn(2).tolist(), lib.randint(0, 9, (4,)).tolist(),
             lib.randperm(6).tolist()]
    assert first == again
    s = lib.seed()
    assert isinstance(s, int) and lib.initial_seed() == s


@pytest.mark.parametrize("lib", [torch, cg])
def test_rng_state_round_trip_and_fork_rng(lib):
    lib.manual_seed(0)
    state = lib.get_rng_state()
    a = lib.randn(4).tolist()
    lib.set_rng_state(state)
    assert lib.randn(4).tolist() == a
    lib.set_rng_state(state)
    with lib.random.fork_rng():
        lib.rand(10)
    assert lib.randn(4).tolist() == a
    lib.random.manual_seed(1)
    assert lib.random.initial_seed() == 1


@pytest.mark.parametrize("lib", [torch, cg])
def test_a_generator_leaves_the_default_stream_alone(lib):
    lib.manual_seed(5)
    plain = lib.rand(4).tolist()
    lib.manual_seed(5)
    g1, g2 = lib.Generator().manual_seed(9), lib.Generator().manual_seed(9)
    for draw in (lambda g: lib.rand(3, generator=g), lambda g: lib.randn(2, 2, generator=g),
                 lambda g: lib.randint(5, (3,), generator=g),
                 lambda g: lib.randperm(7, generator=g),
                 lambda g: lib.normal(0.0, 1.0, (3,), generator=g),
                 lambda g: lib.bernoulli(lib.full((4,), 0.5), generator=g),
                 lambda g: lib.multinomial(lib.ones(5), 3, generator=g),
                 lambda g: lib.rand_like(lib.zeros(2), generator=g),
                 lambda g: lib.zeros(3).uniform_(generator=g),
                 lambda g: lib.zeros(3).normal_(generator=g)):
        assert draw(g1).tolist() == draw(g2).tolist()
    assert lib.rand(4).tolist() == plain


# --- shapes and dtypes, case by case against torch -------------------------------------------

CASES = {
    "rand": lambda L: L.rand(2, 3),
    "rand tuple": lambda L: L.rand((2, 3)),
    "rand f64": lambda L: L.rand(4, dtype=L.float64),
    "rand f16": lambda L: L.rand(4, dtype=L.float16),
    "rand 0-d": lambda L: L.rand(()),
    "randn": lambda L: L.randn(3, 1, 2),
    "randn empty": lambda L: L.randn(0, 3),
    "randint high": lambda L: L.randint(5, (3,)),
    "randint low high": lambda L: L.randint(-3, 5, (2, 2)),
    "randint size kw": lambda L: L.randint(2, 7, size=(4,)),
    "randint float": lambda L: L.randint(0, 3, (3,), dtype=L.float32),
    "randperm": lambda L: L.randperm(5),
    "randperm f32": lambda L: L.randperm(4, dtype=L.float32),
    "randperm 0": lambda L: L.randperm(0),
    "rand_like": lambda L: L.rand_like(L.zeros(2, 3, dtype=L.float64)),
    "randn_like": lambda L: L.randn_like(L.zeros(3)),
    "randint_like high": lambda L: L.randint_like(L.zeros(2, dtype=L.float64), 5),
    "randint_like low high": lambda L: L.randint_like(L.zeros(2, 2, dtype=L.int64), 3, 9),
    "normal t t": lambda L: L.normal(L.zeros(2, 3), L.ones(2, 3)),
    "normal t f": lambda L: L.normal(L.zeros(4, dtype=L.float64), 2.0),
    "normal f t": lambda L: L.normal(1.0, L.ones(3)),
    "normal broadcast": lambda L: L.normal(L.zeros(2, 1), L.ones(3)),
    "normal f f size": lambda L: L.normal(0.0, 1.0, (2, 5)),
    "normal f f size dtype": lambda L: L.normal(0.0, 1.0, size=(3,), dtype=L.float64),
    "bernoulli": lambda L: L.bernoulli(L.full((3, 2), 0.3)),
    "bernoulli f64": lambda L: L.bernoulli(L.full((3,), 0.3, dtype=L.float64)),
    "bernoulli p": lambda L: L.bernoulli(L.zeros(4), 0.5),
    "bernoulli method": lambda L: L.full((4,), 0.5).bernoulli(),
    "multinomial": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 2),
    "multinomial rows": lambda L: L.multinomial(L.ones(4, 6), 3),
    "multinomial replacement": lambda L: L.multinomial(L.tensor([1.0, 2.0]), 5, True),
    "multinomial kw": lambda L: L.multinomial(L.ones(3), num_samples=3, replacement=False),
    "multinomial method": lambda L: L.ones(2, 3).multinomial(2),
    "poisson": lambda L: L.poisson(L.full((2, 2), 3.0)),
    "uniform_": lambda L: L.zeros(3, dtype=L.float64).uniform_(-2, 2),
    "normal_": lambda L: L.zeros(2, 2).normal_(1.0, 0.5),
    "random_ float": lambda L: L.zeros(4).random_(0, 10),
    "random_ one bound": lambda L: L.zeros(4, dtype=L.int64).random_(7),
    "random_ int8": lambda L: L.zeros(6, dtype=L.int8).random_(),
    "random_ bool": lambda L: L.zeros(6, dtype=L.bool).random_(),
    "bernoulli_": lambda L: L.zeros(5).bernoulli_(0.5),
    "bernoulli_ tensor p": lambda L: L.zeros(3).bernoulli_(L.full((3,), 0.2)),
    "exponential_": lambda L: L.zeros(3).exponential_(2.0),
    "geometric_": lambda L: L.zeros(3).geometric_(0.3),
    "cauchy_": lambda L: L.zeros(3).cauchy_(),
    "log_normal_": lambda L: L.zeros(3, dtype=L.float64).log_normal_(),
    "dropout": lambda L: L.nn.functional.dropout(L.ones(4, 5), 0.5),
    "dropout eval": lambda L: L.nn.functional.dropout(L.ones(4, 5), 0.5, training=False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_dtype_and_repeatability_as_torch(name):
    make = CASES[name]
    expected = make(torch)
    cg.manual_seed(123)
    ours = make(cg)
    assert tuple(ours.shape) == tuple(expected.shape), name
    assert norm_dtype(ours.dtype) == norm_dtype(expected.dtype), name
    assert not ours.requires_grad
    cg.manual_seed(123)
    assert make(cg).tolist() == ours.tolist(), f"{name}: manual_seed did not repeat it"


def test_value_ranges():
    cg.manual_seed(0)
    u = np.asarray(cg.rand(10000, dtype=cg.float16).tolist())
    assert u.min() >= 0 and u.max() < 1
    v = np.asarray(cg.randint(-3, 5, (5000,)).tolist())
    assert set(v.tolist()) == set(range(-3, 5))
    assert sorted(cg.randperm(50).tolist()) == list(range(50))
    r = np.asarray(cg.zeros(2000, dtype=cg.int8).random_().tolist())
    assert r.min() >= 0 and r.max() <= 127 and r.max() > 120
    f = np.asarray(cg.zeros(2000).random_().tolist())
    assert f.min() >= 0 and f.max() <= 2 ** 24 and f.max() > 2 ** 23
    assert set(cg.zeros(200, dtype=cg.bool).random_().tolist()) == {False, True}
    assert min(cg.zeros(500).geometric_(0.5).tolist()) >= 1
    # without replacement every index appears at most once per row; weight-0 ones come last
    rows = cg.multinomial(cg.tensor([[1.0, 0.0, 2.0, 0.0, 3.0]] * 50), 5).tolist()
    assert all(sorted(row) == [0, 1, 2, 3, 4] and set(row[:3]) == {0, 2, 4} for row in rows)
    assert set(cg.multinomial(cg.tensor([0.0, 1.0, 0.0]), 20, True).tolist()) == {1}
    assert set(torch.multinomial(torch.tensor([0.0, 1.0, 0.0]), 20, True).tolist()) == {1}


# --- distributions ----------------------------------------------------------------------------

N = 200_000


def moments(t):
    a = np.asarray(t.tolist(), dtype=np.float64).reshape(-1)
    return a.mean(), a.var()


def close(value, expected, std, n=N, k=5):
    """Within k standard errors of the expected mean (std: that of one draw)."""
    return abs(value - expected) <= k * std / math.sqrt(n)


def test_distributions_have_the_right_moments():
    cg.manual_seed(2024)
    m, v = moments(cg.rand(N))
    assert close(m, 0.5, math.sqrt(1 / 12)) and abs(v - 1 / 12) < 2e-3
    m, v = moments(cg.randn(N))
    assert close(m, 0.0, 1.0) and abs(v - 1.0) < 0.02
    m, v = moments(cg.normal(3.0, 2.0, (N,)))
    assert close(m, 3.0, 2.0) and abs(v - 4.0) < 0.08
    m, v = moments(cg.normal(cg.full((N,), -1.0), cg.full((N,), 0.5)))
    assert close(m, -1.0, 0.5) and abs(v - 0.25) < 0.005
    m, _ = moments(cg.bernoulli(cg.full((N,), 0.3)))
    assert close(m, 0.3, math.sqrt(0.21))
    m, _ = moments(cg.poisson(cg.full((N,), 4.0)))
    assert close(m, 4.0, 2.0)
    m, _ = moments(cg.zeros(N).exponential_(2.0))
    assert close(m, 0.5, 0.5)
    m, _ = moments(cg.zeros(N).uniform_(-1, 3))
    assert close(m, 1.0, 4 / math.sqrt(12))
    m, _ = moments(cg.nn.functional.dropout(cg.ones(N), 0.25))
    assert close(m, 1.0, math.sqrt(0.25 / 0.75))     # kept values are scaled by 1/(1-p)


def test_multinomial_frequencies():
    cg.manual_seed(7)
    p = np.array([0.1, 0.2, 0.3, 0.4])
    draws = np.asarray(cg.multinomial(cg.tensor(p * 10), N, replacement=True).tolist())
    freq = np.bincount(draws, minlength=4) / N
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / N)), freq
    # without replacement: the first pick follows p, the second p renormalized without it
    rows = np.asarray(cg.multinomial(cg.tensor(np.tile(p, (20000, 1))), 2).tolist())
    first = np.bincount(rows[:, 0], minlength=4) / len(rows)
    assert np.all(np.abs(first - p) < 5 * np.sqrt(p * (1 - p) / len(rows))), first
    second_given_3 = rows[rows[:, 0] == 3, 1]
    q = p[:3] / p[:3].sum()
    got = np.bincount(second_given_3, minlength=4)[:3] / len(second_given_3)
    assert np.all(np.abs(got - q) < 5 * np.sqrt(q * (1 - q) / len(second_given_3))), got
    # torch agrees on the same statistics
    t_first = np.bincount(torch.multinomial(torch.tensor(np.tile(p, (20000, 1))), 2)[:, 0],
                          minlength=4) / 20000
    assert np.all(np.abs(t_first - first) < 0.02)


# --- errors -----------------------------------------------------------------------------------

ERRORS = {
    "rand int dtype": lambda L: L.rand(2, dtype=L.int64),
    "randn int dtype": lambda L: L.randn(2, dtype=L.int64),
    "randint empty range": lambda L: L.randint(3, 2, (2,)),
    "randperm negative": lambda L: L.randperm(-1),
    "multinomial too many": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 5),
    "multinomial zero sum": lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    "multinomial negative": lambda L: L.multinomial(L.tensor([-1.0, 2.0]), 1),
    "multinomial nan": lambda L: L.multinomial(L.tensor([float("nan"), 2.0]), 1),
    "multinomial 0-d": lambda L: L.multinomial(L.tensor(1.0), 1),
    "multinomial 3-d": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "multinomial int": lambda L: L.multinomial(L.tensor([1, 2]), 1),
    "multinomial 0 samples": lambda L: L.multinomial(L.tensor([1.0, 2.0]), 0),
    "bernoulli above 1": lambda L: L.bernoulli(L.tensor([2.0])),
    "bernoulli below 0": lambda L: L.bernoulli(L.tensor([-0.5])),
    "normal negative std": lambda L: L.normal(0.0, -1.0, (2,)),
    "normal tensor negative std": lambda L: L.normal(L.zeros(2), L.tensor([1.0, -1.0])),
    "normal floats no size": lambda L: L.normal(0.0, 1.0),
    "random_ empty range": lambda L: L.zeros(2).random_(3, 2),
    "uniform_ reversed": lambda L: L.zeros(2).uniform_(2.0, 1.0),
    "normal_ negative std": lambda L: L.zeros(2).normal_(0.0, -1.0),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_random_functions_refuse_what_torch_refuses(name):
    ours = assert_same_error(lambda L, _: ERRORS[name](L))
    assert isinstance(ours, CompgraphError) or type(ours) is NotImplementedError, (name, ours)


# --- DataLoader: batch structure as torch's --------------------------------------------------

Pair = collections.namedtuple("Pair", "x y")


def datasets(L, D):
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    return {
        "tensor dataset": D.TensorDataset(L.tensor(x), L.arange(6)),
        "tuples of numbers": [(i, float(i) / 2, i % 2 == 0) for i in range(6)],
        "numpy": [np.full((2,), i, np.float32) for i in range(6)],
        "numpy scalars": [np.float64(i) for i in range(6)],
        "dicts": [{"a": L.tensor([float(i)]), "label": i, "name": f"n{i}"} for i in range(6)],
        "named tuples": [Pair(L.tensor([i, i]), float(i)) for i in range(6)],
        "lists": [[i, [L.tensor(float(i)), i + 1]] for i in range(6)],
        "strings": [f"s{i}" for i in range(6)],
        "ints": list(range(6)),
    }


LOADER_ARGS = {
    "batch 4": dict(batch_size=4),
    "batch 4 drop_last": dict(batch_size=4, drop_last=True),
    "batch None": dict(batch_size=None),
    "sampler": dict(batch_size=2, sampler=[5, 0, 3]),
    "batch_sampler": dict(batch_sampler=[[0, 1, 2], [5], [4, 3]]),
}


@pytest.mark.parametrize("args", sorted(LOADER_ARGS))
@pytest.mark.parametrize("data", sorted(datasets(cg, cgd)))
def test_batches_have_torchs_structure(data, args):
    def batches(L, D):
        loader = D.DataLoader(datasets(L, D)[data], **LOADER_ARGS[args])
        return len(loader), [struct(b) for b in loader]
    assert batches(cg, cgd) == batches(torch, td)


def test_collate_fn_and_default_collate():
    for L, D in LIBS:
        assert D.default_collate([1, 2]).tolist() == [1, 2]
    lens = [list(D.DataLoader(range(7), batch_size=3, collate_fn=len)) for L, D in LIBS]
    assert lens[0] == lens[1] == [3, 3, 1]
    for bad in ([object(), object()], [[1, 2], [3]], [None, None]):
        ours = assert_same_error(lambda L, D: D.default_collate(bad))
        assert isinstance(ours, CompgraphError)


def test_iterable_dataset_batches_as_torch():
    def batches(L, D, **kw):
        class Stream(D.IterableDataset):
            def __iter__(self):
                return iter(range(7))
        return [struct(b) for b in D.DataLoader(Stream(), **kw)]
    for kw in (dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)):
        assert batches(cg, cgd, **kw) == batches(torch, td, **kw)
    assert cgd.get_worker_info() is None and td.get_worker_info() is None

    class Stream(cgd.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    for kw in (dict(shuffle=True), dict(sampler=[0])):
        with pytest.raises(ValueError, match="IterableDataset"):
            cgd.DataLoader(Stream(), **kw)
    with pytest.raises(TypeError):
        len(cgd.DataLoader(Stream()))


LOADER_ERRORS = {
    "sampler and shuffle": lambda D, ds: D.DataLoader(ds, sampler=D.SequentialSampler(ds),
                                                      shuffle=True),
    "batch_sampler and batch_size": lambda D, ds: D.DataLoader(ds, batch_sampler=[[0]],
                                                               batch_size=2),
    "batch_sampler and shuffle": lambda D, ds: D.DataLoader(ds, batch_sampler=[[0]], shuffle=True),
    "batch_sampler and sampler": lambda D, ds: D.DataLoader(ds, batch_sampler=[[0]], sampler=[0]),
    "batch_sampler and drop_last": lambda D, ds: D.DataLoader(ds, batch_sampler=[[0]],
                                                              drop_last=True),
    "batch_size None and drop_last": lambda D, ds: D.DataLoader(ds, batch_size=None,
                                                                drop_last=True),
    "negative workers": lambda D, ds: D.DataLoader(ds, num_workers=-1),
    "negative timeout": lambda D, ds: D.DataLoader(ds, timeout=-1),
    "persistent without workers": lambda D, ds: D.DataLoader(ds, persistent_workers=True),
    "prefetch without workers": lambda D, ds: D.DataLoader(ds, prefetch_factor=2),
    "batch_size 0": lambda D, ds: D.DataLoader(ds, batch_size=0),
    "batch_size float": lambda D, ds: D.DataLoader(ds, batch_size=2.5),
    "BatchSampler size 0": lambda D, ds: D.BatchSampler(ds, 0, False),
    "BatchSampler size bool": lambda D, ds: D.BatchSampler(ds, True, False),
    "BatchSampler drop_last int": lambda D, ds: D.BatchSampler(ds, 2, 1),
    "RandomSampler replacement int": lambda D, ds: D.RandomSampler(ds, replacement=1),
    "RandomSampler num_samples 0": lambda D, ds: D.RandomSampler(ds, num_samples=0),
    "RandomSampler num_samples float": lambda D, ds: D.RandomSampler(ds, num_samples=2.0),
    "Weighted num_samples 0": lambda D, ds: D.WeightedRandomSampler([1.0, 2.0], 0),
    "Weighted 2-d weights": lambda D, ds: D.WeightedRandomSampler([[1.0, 2.0]], 2),
    "Weighted replacement int": lambda D, ds: D.WeightedRandomSampler([1.0, 2.0], 2,
                                                                      replacement=0),
    "Weighted too many": lambda D, ds: list(D.WeightedRandomSampler([1.0, 2.0], 3,
                                                                    replacement=False)),
    "Sampler base": lambda D, ds: iter(D.Sampler()),
}


@pytest.mark.parametrize("name", sorted(LOADER_ERRORS))
def test_loader_and_samplers_refuse_what_torch_refuses(name):
    ours = assert_same_error(lambda L, D: LOADER_ERRORS[name](D, list(range(5))))
    assert isinstance(ours, CompgraphError) or type(ours) is NotImplementedError, (name, ours)


# --- samplers ---------------------------------------------------------------------------------

def test_deterministic_samplers_match_torch():
    for make in (lambda D: list(D.SequentialSampler(range(5))),
                 lambda D: list(D.BatchSampler(range(10), 3, False)),
                 lambda D: list(D.BatchSampler(range(10), 3, True)),
                 lambda D: list(D.BatchSampler(D.SequentialSampler(range(4)), 4, False)),
                 lambda D: len(D.BatchSampler(range(10), 3, False)),
                 lambda D: len(D.BatchSampler(range(10), 3, True)),
                 lambda D: len(D.RandomSampler(range(3), num_samples=7)),
                 lambda D: len(D.SubsetRandomSampler([4, 9])),
                 lambda D: len(D.WeightedRandomSampler([1.0, 2.0], 5)),
                 lambda D: [sorted(D.RandomSampler(range(3), num_samples=7)).count(i) >= 2
                            for i in range(3)],
                 lambda D: sorted(D.RandomSampler(range(6))),
                 lambda D: sorted(D.SubsetRandomSampler([4, 9, 2])),
                 lambda D: sorted(D.WeightedRandomSampler([0.0, 1.0, 1.0], 3, False)),
                 lambda D: set(D.WeightedRandomSampler([0.0, 1.0, 0.0], 6)),
                 lambda D: [type(i) for i in D.RandomSampler(range(3))],
                 lambda D: [type(i) for i in D.WeightedRandomSampler([1.0, 1.0], 2)],
                 lambda D: [type(i) for i in D.SubsetRandomSampler([4, 9])],
                 lambda D: type(D.DataLoader(range(4), shuffle=True).sampler).__name__,
                 lambda D: type(D.DataLoader(range(4)).sampler).__name__,
                 lambda D: type(D.DataLoader(range(4)).batch_sampler).__name__,
                 lambda D: D.DataLoader(range(4), batch_size=None).batch_sampler,
                 lambda D: len(iter(D.DataLoader(range(5), batch_size=2))),
                 lambda D: len(D.DataLoader(range(5), batch_size=None)),
                 lambda D: [b.tolist() for b in D.DataLoader(range(7), batch_size=3,
                                                             num_workers=1,
                                                             persistent_workers=True,
                                                             prefetch_factor=2)],
                 lambda D: (D.DataLoader(range(4)).batch_size,
                            D.DataLoader(range(4), batch_sampler=[[0]]).batch_size)):
        assert make(cgd) == make(td)


def test_random_sampler_draws():
    cg.manual_seed(0)
    with_repl = list(cgd.RandomSampler(range(4), replacement=True, num_samples=4000))
    assert set(with_repl) == {0, 1, 2, 3}
    counts = np.bincount(with_repl)
    assert np.all(np.abs(counts / 4000 - 0.25) < 0.04)
    two_rounds = list(cgd.RandomSampler(range(5), num_samples=10))
    assert sorted(two_rounds[:5]) == sorted(two_rounds[5:]) == list(range(5))
    weighted = np.bincount(list(cgd.WeightedRandomSampler([1.0, 3.0], 20000)), minlength=2)
    assert abs(weighted[1] / 20000 - 0.75) < 0.02


@pytest.mark.parametrize("make", [
    lambda D, g: D.RandomSampler(range(20), generator=g),
    lambda D, g: D.RandomSampler(range(20), replacement=True, generator=g),
    lambda D, g: D.SubsetRandomSampler(list(range(5, 25)), generator=g),
    lambda D, g: D.WeightedRandomSampler(list(range(1, 21)), 10, generator=g),
], ids=["random", "replacement", "subset", "weighted"])
def test_samplers_repeat_with_a_seeded_generator_and_with_manual_seed(make):
    for L, D in LIBS:
        a = list(make(D, L.Generator().manual_seed(4)))
        b = list(make(D, L.Generator().manual_seed(4)))
        assert a == b
        g = L.Generator().manual_seed(4)
        s = make(D, g)
        assert list(s) != list(s)           # the generator advances between epochs
        L.manual_seed(11)
        c = list(make(D, None)), list(make(D, None))
        L.manual_seed(11)
        assert (list(make(D, None)), list(make(D, None))) == c


# --- shuffling under manual_seed (issue 12, section 1 item 9) ---------------------------------

@pytest.mark.parametrize("lib, data", LIBS, ids=["torch", "compgraph"])
def test_a_seeded_program_shuffles_the_same_way_every_run(lib, data):
    """The loader is made before manual_seed, as programs often do; every epoch differs and
    the whole run repeats."""
    def run():
        loader = data.DataLoader(data.TensorDataset(lib.arange(20)), batch_size=6, shuffle=True)
        lib.manual_seed(42)
        return [[b[0].tolist() for b in loader] for _ in range(3)]
    first, second = run(), run()
    assert first == second
    assert first[0] != first[1] != first[2]
    assert sorted(sum(first[0], [])) == list(range(20))


@pytest.mark.parametrize("lib, data", LIBS, ids=["torch", "compgraph"])
def test_loader_generator_drives_the_shuffle(lib, data):
    def orders(seed):
        g = lib.Generator().manual_seed(seed)
        loader = data.DataLoader(list(range(12)), batch_size=12, shuffle=True, generator=g)
        return [next(iter(loader)).tolist() for _ in range(2)]
    lib.manual_seed(1)
    a = orders(3)
    lib.manual_seed(2)                       # the default generator plays no part
    assert orders(3) == a and orders(4) != a and a[0] != a[1]


@pytest.mark.parametrize("lib, data", LIBS, ids=["torch", "compgraph"])
def test_random_split_with_a_generator(lib, data):
    parts = [data.random_split(range(10), [3, 7], generator=lib.Generator().manual_seed(5))
             for _ in range(2)]
    assert [list(p) for p in parts[0]] == [list(p) for p in parts[1]]
    assert sorted(list(parts[0][0]) + list(parts[0][1])) == list(range(10))
    assert [len(p) for p in parts[0]] == [3, 7]


def test_compgraph_loader_state_still_resumes_a_seeded_shuffle():
    cg.manual_seed(0)
    ds = cgd.TensorDataset(cg.arange(15))
    loader = cgd.DataLoader(ds, batch_size=4, shuffle=True)
    epochs = [[b[0].tolist() for b in loader] for _ in range(3)]
    resumed = cgd.DataLoader(ds, batch_size=4, shuffle=True)
    resumed.load_state_dict({"epoch": 2, "seed": loader.seed})
    assert [b[0].tolist() for b in resumed] == epochs[2]
    assert resumed.epoch_order(1).tolist() == sum(epochs[1], [])


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "xavier_normal_",
                                  "kaiming_uniform_", "kaiming_normal_"])
def test_nn_init_takes_a_generator(name):
    for L in (torch, cg):
        init = getattr(L.nn.init, name)
        a = init(L.zeros(4, 5), generator=L.Generator().manual_seed(3)).tolist()
        b = init(L.zeros(4, 5), generator=L.Generator().manual_seed(3)).tolist()
        assert a == b and a != L.zeros(4, 5).tolist()


@pytest.mark.parametrize("lib", [torch, cg])
def test_manual_seed_repeats_a_models_initial_weights(lib):
    def weights():
        lib.manual_seed(17)
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Conv2d(1, 2, 3), lib.nn.LSTM(2, 3),
                                lib.nn.Embedding(5, 2))
        return {k: v.tolist() for k, v in net.state_dict().items()}
    assert weights() == weights()


def test_tensor_dataset_items_and_tensors_as_torch():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    for L, D in LIBS:
        ds = D.TensorDataset(L.tensor(x), L.tensor([0, 1, 2]))
        assert struct(ds[1]) == struct(td.TensorDataset(torch.tensor(x),
                                                         torch.tensor([0, 1, 2]))[1])
        assert [struct(t) for t in ds.tensors] == [struct(torch.tensor(x)),
                                                   struct(torch.tensor([0, 1, 2]))]


def test_an_older_checkpoints_rng_state_still_restores():
    """Before get_rng_state returned a uint8 tensor it returned NumPy's state dict; training
    checkpoints written then hold that dict."""
    old = np.random.default_rng(5).bit_generator.state
    cg.set_rng_state(old)
    a = cg.rand(3).tolist()
    cg.set_rng_state(old)
    assert cg.rand(3).tolist() == a


@pytest.mark.parametrize("make", [
    lambda L, o: L.rand(2, 3, out=o),
    lambda L, o: L.randn(2, 3, out=o),
    lambda L, o: L.normal(0.0, 1.0, (2, 3), out=o),
    lambda L, o: L.normal(L.zeros(2, 3), L.ones(2, 3), out=o),
    lambda L, o: L.bernoulli(L.full((2, 3), 0.5), out=o),
], ids=["rand", "randn", "normal floats", "normal tensors", "bernoulli"])
def test_out_is_written(make):
    for L in (torch, cg):
        out = L.full((2, 3), 7.0)
        result = make(L, out)
        assert result is out and 7.0 not in out.tolist()[0] + out.tolist()[1]


def test_out_is_written_for_integer_draws():
    for L in (torch, cg):
        out = L.full((5,), -1, dtype=L.int64)
        assert L.randint(0, 3, (5,), out=out) is out and min(out.tolist()) >= 0
        assert L.randperm(5, out=out) is out and sorted(out.tolist()) == list(range(5))
        idx = L.full((2,), -1, dtype=L.int64)
        assert L.multinomial(L.ones(4), 2, out=idx) is idx and min(idx.tolist()) >= 0
