"""(b) sharding: every example exactly once per epoch, ranks in step, any world size."""
import numpy as np
import pytest

from compgraph.data import DataLoader, TensorDataset
from compgraph.distributed import DistributedSampler, shard_indices

SIZES = [0, 1, 5, 7, 64, 100, 1001]
WORLDS = [1, 2, 3, 4, 8]


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("batch", [1, 4, 6, 64])
def test_each_example_once_per_epoch_and_same_step_count(n, world, batch):
    for epoch in (0, 3):
        shards = [shard_indices(n, batch, world, r, epoch=epoch, seed=11) for r in range(world)]
        assert len({len(s) for s in shards}) == 1          # every rank runs the same steps
        assert len(shards[0]) == -(-n // batch)
        seen = np.concatenate([np.concatenate(s) if s else np.array([], int) for s in shards])
        assert sorted(seen.tolist()) == list(range(n))     # all of them, none twice
        for step in range(len(shards[0])):
            sizes = [len(s[step]) for s in shards]
            assert max(sizes) - min(sizes) <= 1            # balanced within a step


@pytest.mark.parametrize("world", WORLDS)
def test_global_batches_do_not_depend_on_the_world_size(world):
    # the union over ranks of step k is the one-process batch k: what makes runs equal
    n, batch, seed = 103, 8, 4
    loader = DataLoader(TensorDataset(np.arange(n)), batch_size=batch, shuffle=True, seed=seed)
    loader.set_epoch(2)
    expected = [sorted(b[0].numpy().tolist()) for b in loader]
    per_rank = [shard_indices(n, batch, world, r, epoch=2, seed=seed) for r in range(world)]
    got = [sorted(np.concatenate([s[k] for s in per_rank]).tolist()) for k in range(len(expected))]
    assert got == expected


@pytest.mark.parametrize("n,world", [(10, 3), (9, 3), (2, 4), (1000, 7)])
def test_sampler_iter_is_a_partition(n, world):
    samplers = [DistributedSampler(n, world, r, seed=1) for r in range(world)]
    for s in samplers:
        s.set_epoch(5)
    parts = [list(s) for s in samplers]
    assert [len(p) for p in parts] == [len(s) for s in samplers]
    assert sorted(sum(parts, [])) == list(range(n))


def test_epochs_differ_and_repeat_with_the_seed():
    a = DistributedSampler(50, 2, 0, seed=3)
    b = DistributedSampler(50, 2, 0, seed=3)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)
    assert list(DistributedSampler(50, 2, 0, seed=4)) != first
    assert list(DistributedSampler(50, 2, 0, shuffle=False)) == list(range(0, 50, 2))


def test_drop_last_drops_only_the_short_global_batch():
    s = DistributedSampler(10, 2, 1, seed=0, drop_last=True)
    assert s.num_steps(4) == 2 and s.global_batch_sizes(4) == [4, 4]
    assert [len(b) for b in s.batches(4)] == [2, 2]
    s = DistributedSampler(10, 2, 1, seed=0)
    assert s.global_batch_sizes(4) == [4, 4, 2]


def test_state_is_rank_independent():
    s = DistributedSampler(20, 4, 3, seed=9)
    s.set_epoch(7)
    t = DistributedSampler(20, 1, 0)
    t.load_state_dict(s.state_dict())
    assert t.state_dict() == {"epoch": 7, "seed": 9}
    np.testing.assert_array_equal(t.epoch_order(), s.epoch_order())


@pytest.mark.parametrize("args", [(5, 2, 2), (5, 0, 0), (5, 2, -1), (-1, 1, 0)])
def test_bad_arguments_are_refused(args):
    with pytest.raises(ValueError):
        DistributedSampler(*args)


@pytest.mark.parametrize("world,batch", [(2, 8), (3, 6), (4, 4)])
def test_iter_is_the_steps_in_order_when_the_batch_divides(world, batch):
    for r in range(world):
        s = DistributedSampler(37, world, r, seed=2)
        s.set_epoch(1)
        assert list(s) == np.concatenate(s.batches(batch)).tolist()
