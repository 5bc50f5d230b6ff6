"""TensorDataset and DataLoader: PyTorch semantics, seeded shuffling, resume."""

import math
import sys
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compgraph.data import DataLoader, TensorDataset


class Tensor:
    """Stand-in for compgraph.tensor.Tensor: the loader only needs _value."""

    def __init__(self, value, requires_grad=False):
        self._value = value
        self.requires_grad = requires_grad


@pytest.fixture(autouse=True)
def no_engine(monkeypatch):
    """By default, run as if compgraph.tensor did not exist (batches are NumPy).

    Keeps these tests independent of the engine, which is developed
    separately; ``fake_engine`` swaps in a stand-in where a test needs one.
    A None entry in sys.modules makes the import raise ImportError.
    """
    monkeypatch.setitem(sys.modules, "compgraph.tensor", None)


@pytest.fixture
def fake_engine(monkeypatch):
    module = types.ModuleType("compgraph.tensor")
    module.Tensor = Tensor
    module.from_numpy = lambda arr: Tensor(arr)
    monkeypatch.setitem(sys.modules, "compgraph.tensor", module)


def values(batch):
    """NumPy contents of a batch element, whether it came back as Tensor or array."""
    return batch._value if hasattr(batch, "_value") else batch


def make_data(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64) * 10
    return x, y


def epoch_rows(loader):
    """The example indices one epoch visits (column 0 of x is 3*index)."""
    return np.concatenate([values(x)[:, 0] // 3 for x, _ in loader]).astype(int)


# --------------------------------------------------------------------------
# TensorDataset
# --------------------------------------------------------------------------


def test_tensor_dataset_len_and_items():
    x, y = make_data(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    item = ds[3]
    assert isinstance(item, tuple) and len(item) == 2
    np.testing.assert_array_equal(item[0], x[3])
    assert item[1] == 30


def test_tensor_dataset_accepts_tensors():
    x, y = make_data(4)
    ds = TensorDataset(Tensor(x), y)
    np.testing.assert_array_equal(ds[2][0], x[2])


def test_tensor_dataset_mismatched_sizes_name_them():
    with pytest.raises(ValueError, match=r"same first dimension.*arrays\[0\]=5, arrays\[1\]=4"):
        TensorDataset(np.zeros((5, 2)), np.zeros(4))


def test_tensor_dataset_rejects_nothing_and_scalars():
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="argument 1 is 0-d"):
        TensorDataset(np.zeros(3), np.float32(1))


# --------------------------------------------------------------------------
# Batching
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n, batch_size, drop_last, expected_len, last_size",
    [(10, 3, False, 4, 1), (10, 3, True, 3, 3), (9, 3, False, 3, 3), (9, 3, True, 3, 3),
     (2, 5, False, 1, 2), (2, 5, True, 0, None), (0, 4, False, 0, None), (7, 1, False, 7, 1)],
)
def test_len_and_batch_sizes(n, batch_size, drop_last, expected_len, last_size):
    loader = DataLoader(TensorDataset(*make_data(n)), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == expected_len == len(batches)
    if batches:
        assert all(len(values(x)) == batch_size for x, _ in batches[:-1])
        assert len(values(batches[-1][0])) == last_size


def test_unshuffled_batches_are_in_order():
    x, y = make_data(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [type(b) for b in batches] == [list] * 3   # as torch: default_collate makes lists
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(batches[2][1], y[8:])


def test_batches_are_tensors_made_by_from_numpy(fake_engine):
    x, y = make_data(6)
    (bx, by), *_ = DataLoader(TensorDataset(x, y), batch_size=4)
    assert isinstance(bx, Tensor) and isinstance(by, Tensor)
    np.testing.assert_array_equal(bx._value, x[:4])


def test_without_engine_batches_are_numpy():
    (bx, by), = DataLoader(TensorDataset(*make_data(3)), batch_size=3)
    assert type(bx) is np.ndarray and type(by) is np.ndarray


def test_batches_do_not_alias_the_dataset():
    x, y = make_data(4)
    bx, _ = next(iter(DataLoader(TensorDataset(x, y), batch_size=4)))
    bx[:] = -1
    assert x.min() >= 0


def test_tensor_dataset_fast_path_does_not_index_examples_one_by_one(monkeypatch):
    def per_example(self, index):
        raise AssertionError("per-example __getitem__ called on the fast path")

    monkeypatch.setattr(TensorDataset, "__getitem__", per_example)
    loader = DataLoader(TensorDataset(*make_data(10)), batch_size=3, shuffle=True, seed=1)
    assert sorted(epoch_rows(loader)) == list(range(10))


class PairDataset:
    """A plain map-style dataset (not a TensorDataset): goes through collate."""

    def __init__(self, n):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.calls += 1
        return np.full((2,), i, dtype=np.float32), i


def test_generic_dataset_uses_default_collate():
    ds = PairDataset(5)
    batches = list(DataLoader(ds, batch_size=2))
    assert ds.calls == 5
    features, labels = batches[0]
    np.testing.assert_array_equal(features, [[0, 0], [1, 1]])
    np.testing.assert_array_equal(labels, [0, 1])
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(batches[-1][1], [4])


def test_collated_batches_are_tensors_too(fake_engine):
    features, labels = next(iter(DataLoader(PairDataset(3), batch_size=3)))
    assert isinstance(features, Tensor) and isinstance(labels, Tensor)
    np.testing.assert_array_equal(labels._value, [0, 1, 2])


def test_default_collate_keeps_dicts_and_lists():
    class DictDataset:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": np.array([i, i]), "pair": [i, Tensor(np.float32(i))]}

    (batch,) = DataLoader(DictDataset(), batch_size=3)
    assert set(batch) == {"x", "pair"}
    np.testing.assert_array_equal(batch["x"], [[0, 0], [1, 1], [2, 2]])
    assert isinstance(batch["pair"], list)
    np.testing.assert_array_equal(batch["pair"][1], np.array([0, 1, 2], dtype=np.float32))


def test_custom_collate_receives_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(samples)
        return len(samples)

    x, y = make_data(5)
    loader = DataLoader(TensorDataset(x, y), batch_size=2, collate=collate)
    assert list(loader) == [2, 2, 1]
    assert isinstance(seen[0], list) and isinstance(seen[0][0], tuple)
    np.testing.assert_array_equal(seen[0][1][0], x[1])


# --------------------------------------------------------------------------
# Shuffling, epochs, resume
# --------------------------------------------------------------------------


def test_shuffle_is_a_permutation_and_changes_each_epoch():
    loader = DataLoader(TensorDataset(*make_data(50)), batch_size=7, shuffle=True, seed=3)
    orders = [epoch_rows(loader) for _ in range(3)]
    for order in orders:
        assert sorted(order) == list(range(50))
    assert not np.array_equal(orders[0], orders[1])
    assert not np.array_equal(orders[1], orders[2])
    assert not np.array_equal(orders[0], np.arange(50))


def test_labels_stay_with_their_examples_when_shuffled():
    x, y = make_data(20)
    for bx, by in DataLoader(TensorDataset(x, y), batch_size=6, shuffle=True, seed=0):
        np.testing.assert_array_equal(by, (bx[:, 0] // 3).astype(np.int64) * 10)


def test_same_seed_same_orders_different_seed_different_order():
    ds = TensorDataset(*make_data(40))
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    c = DataLoader(ds, batch_size=8, shuffle=True, seed=12)
    for _ in range(2):
        order_a = epoch_rows(a)
        np.testing.assert_array_equal(order_a, epoch_rows(b))
    assert not np.array_equal(epoch_rows(c), epoch_rows(DataLoader(ds, batch_size=8, shuffle=True, seed=11)))


def test_iter_advances_the_epoch_even_if_not_consumed():
    loader = DataLoader(TensorDataset(*make_data(4)), shuffle=True, seed=0)
    iter(loader)
    iter(loader)
    assert loader.state_dict()["epoch"] == 2


def test_set_epoch_selects_that_epochs_order():
    ds = TensorDataset(*make_data(30))
    reference = DataLoader(ds, batch_size=4, shuffle=True, seed=5)
    orders = [epoch_rows(reference) for _ in range(4)]
    other = DataLoader(ds, batch_size=4, shuffle=True, seed=5)
    other.set_epoch(3)
    np.testing.assert_array_equal(epoch_rows(other), orders[3])
    np.testing.assert_array_equal(other.epoch_order(1), orders[1])


def test_state_dict_round_trip_resumes_the_run():
    ds = TensorDataset(*make_data(30))
    original = DataLoader(ds, batch_size=4, shuffle=True)  # seed drawn at random
    epoch_rows(original)
    epoch_rows(original)
    state = original.state_dict()
    assert state["epoch"] == 2 and isinstance(state["seed"], int)
    resumed = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
    resumed.load_state_dict(state)
    np.testing.assert_array_equal(epoch_rows(resumed), epoch_rows(original))


def test_random_seeds_differ_between_loaders():
    ds = TensorDataset(*make_data(3))
    assert DataLoader(ds).state_dict()["seed"] != DataLoader(ds).state_dict()["seed"]


def test_load_state_dict_requires_both_keys():
    loader = DataLoader(TensorDataset(*make_data(3)))
    with pytest.raises(KeyError, match="seed"):
        loader.load_state_dict({"epoch": 1})


@pytest.mark.parametrize("kwargs, needle", [
    ({"batch_size": 0}, "batch_size must be a positive int"),
    ({"batch_size": 2.5}, "batch_size must be a positive int"),
    ({"batch_size": True}, "batch_size must be a positive int"),
    ({"seed": -1}, "seed must be a non-negative int"),
    ({"seed": "abc"}, "seed must be a non-negative int"),
])
def test_bad_arguments_are_rejected(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        DataLoader(TensorDataset(*make_data(3)), **kwargs)


def test_bad_epoch_is_rejected():
    with pytest.raises(ValueError, match="epoch must be a non-negative int"):
        DataLoader(TensorDataset(*make_data(3))).set_epoch(-1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans(),
       shuffle=st.booleans(), seed=st.integers(0, 2**32))
def test_every_example_seen_once_per_epoch(n, batch_size, drop_last, shuffle, seed):
    loader = DataLoader(TensorDataset(*make_data(n)), batch_size=batch_size,
                        drop_last=drop_last, shuffle=shuffle, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader) == (n // batch_size if drop_last else math.ceil(n / batch_size))
    rows = np.concatenate([values(x)[:, 0] // 3 for x, _ in batches]).astype(int) if batches else np.array([], int)
    expected_count = n - n % batch_size if drop_last else n
    assert len(rows) == expected_count
    assert len(set(rows.tolist())) == expected_count
    if not shuffle:
        np.testing.assert_array_equal(rows, np.arange(expected_count))


def test_argument_errors_are_compgraph_errors_of_the_matching_builtin():
    from compgraph.errors import CompgraphError
    ds = TensorDataset(np.zeros((10, 3)), np.arange(10))
    cases = [
        (lambda: DataLoader(ds, batch_size=0), ValueError, "batch_size must be a positive int, got 0"),
        (lambda: DataLoader(ds, batch_size=-2), ValueError, "batch_size must be a positive int, got -2"),
        (lambda: TensorDataset(np.zeros(10), np.zeros(5)), ValueError, "arrays[0]=10, arrays[1]=5"),
        (lambda: ds[10], IndexError, "index 10 is out of range for a dataset of 10 examples"),
        (lambda: ds[-11], IndexError, "valid: -10..9"),
        (lambda: ds[1.5], IndexError, "cannot be indexed with 1.5"),
        (lambda: DataLoader(ds).load_state_dict({}), KeyError, "missing keys ['epoch', 'seed']"),
        (lambda: DataLoader(ds).set_epoch(-1), ValueError, "epoch must be a non-negative int"),
        (lambda: DataLoader(5), TypeError, "dataset must support len() and indexing"),
        (lambda: list(DataLoader([np.ones(2), np.ones(3)], batch_size=2)), ValueError,
         "got shapes (2,), (3,)"),
    ]
    for make, builtin, needle in cases:
        with pytest.raises(builtin) as info:
            make()
        assert isinstance(info.value, CompgraphError), (needle, type(info.value))
        assert needle in str(info.value)
