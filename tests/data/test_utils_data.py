"""compgraph.utils.data: torch.utils.data's names (Dataset, Subset, ConcatDataset,
random_split, DataLoader, TensorDataset) over compgraph.data."""
import numpy as np
import pytest

import compgraph as cg
import compgraph.data
from compgraph.errors import ArgumentError, ArgumentValueError
from compgraph.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                  random_split)


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return cg.tensor([float(i)]), i * i


def test_names_point_at_compgraph_data():
    assert DataLoader is compgraph.data.DataLoader and TensorDataset is compgraph.data.TensorDataset
    assert isinstance(TensorDataset(np.zeros(3)), Dataset)
    import compgraph.utils.data as tud
    assert cg.utils.data is tud


def test_a_dataset_subclass_feeds_the_dataloader():
    loader = DataLoader(Squares(5), batch_size=2)
    batches = list(loader)
    assert len(batches) == 3 == len(loader)
    x, y = batches[0]
    np.testing.assert_array_equal(x._value, [[0.0], [1.0]])
    np.testing.assert_array_equal(y._value, [0, 1])
    np.testing.assert_array_equal(batches[2][1]._value, [16])
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]


def test_dataloader_takes_pytorchs_keywords():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return samples

    loader = DataLoader(Squares(4), batch_size=3, shuffle=False, num_workers=2, pin_memory=True,
                        collate_fn=collate)
    assert [len(b) for b in loader] == [3, 1] and seen == [3, 1]
    with pytest.raises(ArgumentError, match="not both"):
        DataLoader(Squares(2), collate=collate, collate_fn=collate)


def test_subset_and_concat():
    ds = Squares(6)
    sub = Subset(ds, [4, 1])
    assert len(sub) == 2 and sub[0][1] == 16 and sub[-1][1] == 1
    assert [s[1] for s in sub[[1, 0]]] == [1, 16]
    both = ds + Squares(2)
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert both[6][1] == 0 and both[5][1] == 25 and both[-1][1] == 1
    with pytest.raises(IndexError):
        both[8]


def test_random_split_lengths_fractions_and_seeding():
    cg.manual_seed(0)
    a, b = random_split(Squares(10), [7, 3])
    assert (len(a), len(b)) == (7, 3)
    assert sorted(a.indices + b.indices) == list(range(10))
    # fractions: floor(n f) each, remainder one by one from the first
    parts = random_split(TensorDataset(np.arange(11)), [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [6, 3, 2]
    assert sorted(i for p in parts for i in p.indices) == list(range(11))
    same = [random_split(Squares(8), [4, 4], generator=np.random.default_rng(5))[0].indices
            for _ in range(2)]
    assert same[0] == same[1]
    assert random_split(Squares(8), [4, 4], generator=5)[0].indices == same[0]
    cg.manual_seed(1)
    first = random_split(Squares(8), [4, 4])[0].indices
    cg.manual_seed(1)
    assert random_split(Squares(8), [4, 4])[0].indices == first
    batches = list(DataLoader(a, batch_size=7))
    np.testing.assert_array_equal(batches[0][1]._value, np.array(a.indices) ** 2)
    with pytest.raises(ArgumentValueError, match="does not equal the length"):
        random_split(Squares(5), [2, 2])
    with pytest.raises(ArgumentError, match="non-negative ints"):
        random_split(Squares(5), [6, -1])


def test_utils_data_is_an_attribute_as_torch_utils_data_is():
    # `import compgraph as torch; torch.utils.data.DataLoader` without importing the submodule
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", "import compgraph as torch, sys; "
                          "assert 'compgraph.data' not in sys.modules; "
                          "print(torch.utils.data.DataLoader.__name__)"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "DataLoader"
