"""(d) wrapping the model broadcasts rank 0's initial parameters to every rank."""
import numpy as np

from tests.distributed.mpi import run_job


def test_rank1_starts_from_rank0s_parameters(tmp_path):
    rc, output, _ = run_job(2, "broadcast", tmp_path)
    assert rc == 0, output
    before = [dict(np.load(tmp_path / f"before{r}.npz")) for r in range(2)]
    after = [dict(np.load(tmp_path / f"after{r}.npz")) for r in range(2)]
    assert before[0].keys() == after[1].keys()
    for name in before[0]:
        if name.endswith("weight"):   # seeded differently, so the test can fail
            assert not np.array_equal(before[0][name], before[1][name]), name
        np.testing.assert_array_equal(after[1][name], before[0][name], err_msg=name)
        np.testing.assert_array_equal(after[0][name], before[0][name], err_msg=name)
