"""(a) 2 ranks with batch B each train exactly what 1 process with batch 2B trains."""
import json

import numpy as np

from compgraph import autograd
from compgraph.nn import CrossEntropyLoss
from tests.distributed import problem as P
from tests.distributed.mpi import run_job


def test_two_ranks_match_one_process_with_the_global_batch(tmp_path):
    rc, output, _ = run_job(2, "train", tmp_path)
    assert rc == 0, output
    expected = P.train_one_process()
    ranks = [dict(np.load(tmp_path / f"rank{r}.npz")) for r in range(2)]
    start = P.params_of(P.make_model(P.SEED))
    for name, want in expected.items():
        # the run must have moved the weights, or equality would prove nothing
        assert not np.allclose(want, start[name], atol=1e-3), name
        # both ranks apply the same averaged gradients: bitwise the same weights
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=name)
        np.testing.assert_allclose(ranks[0][name], want, rtol=1e-5, atol=1e-6, err_msg=name)


def test_reduced_metric_is_the_whole_dataset_mean(tmp_path):
    rc, output, _ = run_job(2, "train", tmp_path)
    assert rc == 0, output
    info = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    # the shards hold 25 and 24 examples: an unweighted mean would be off
    x, y = P.make_data()
    model = P.make_model(P.SEED)
    model.load_state_dict({k: P.torch.from_numpy(v) for k, v in np.load(tmp_path / "rank0.npz").items()})
    with P.torch.no_grad():
        whole = CrossEntropyLoss()(model(P.torch.from_numpy(x)), P.torch.from_numpy(y)).item()
    for r in range(2):
        assert abs(info[r]["loss"] - whole) < 1e-5, (info[r], whole)
        assert info[r]["buckets"] > 1          # the gradient really was split
        assert info[r]["steps"] == P.EPOCHS * 7  # ceil(49 / 8) steps per epoch on both ranks
        # buckets start during backward exactly when the engine offers the per-leaf hook
        hook = hasattr(autograd, "register_post_accumulate_grad_hook")
        assert info[r]["overlap"] == hook
        assert (info[r]["early_starts"] > 0) == hook
