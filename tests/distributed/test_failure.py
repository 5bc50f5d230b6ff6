"""(c) one failing rank ends the whole job quickly, with the reason in the output."""
from tests.distributed.mpi import run_job


def test_a_rank_that_raises_aborts_the_job(tmp_path):
    # a long collective timeout: the excepthook, not the deadline, must end the job
    rc, output, seconds = run_job(2, "crash", tmp_path, timeout=300, COMPGRAPH_DIST_TIMEOUT=600)
    assert rc != 0, output
    assert "injected failure on rank 1 at step 3" in output
    assert "rank 1 of 2: raised RuntimeError" in output
    assert seconds < 60, f"took {seconds:.0f} s to stop"
    assert not (tmp_path / "rank0.npz").exists()   # rank 0 did not carry on alone


def test_a_stalled_rank_hits_the_collective_deadline(tmp_path):
    # rank 1 sleeps without raising: rank 0 must give up on its allreduce and abort
    rc, output, seconds = run_job(2, "stall", tmp_path, timeout=300, COMPGRAPH_DIST_TIMEOUT=3)
    assert rc != 0, output
    assert "rank 0 of 2: allreduce of gradients" in output
    assert "did not complete within 3 s" in output
    assert seconds < 60, f"took {seconds:.0f} s to stop"
