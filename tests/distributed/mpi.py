"""Running real `mpirun -np N` jobs from tests, and skipping cleanly where MPI is missing.

Without mpirun or mpi4py the MPI tests skip, naming what to install, unless
COMPGRAPH_REQUIRE_MPI=1 (CI sets it), where a missing MPI is a failure: a CI
machine that silently skipped them would prove nothing.
"""
import functools
import os
import shutil
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INSTALL = ("apt-get install -y openmpi-bin libopenmpi-dev && pip install mpi4py "
           "(or pip install 'compgraph[mpi]')")


@functools.lru_cache(maxsize=None)
def mpi_missing():
    """Why MPI jobs cannot run here, or None if they can."""
    if shutil.which("mpirun") is None:
        return "mpirun is not on PATH"
    probe = subprocess.run([sys.executable, "-c", "from mpi4py import MPI"],
                           capture_output=True, text=True, env=mpi_env(), timeout=60)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return f"mpi4py does not import ({last})"
    return None


def require_mpi():
    reason = mpi_missing()
    if reason is None:
        return
    message = f"MPI tests need MPI: {reason}; install with: {INSTALL}"
    if os.environ.get("COMPGRAPH_REQUIRE_MPI") == "1":
        pytest.fail(message + " (COMPGRAPH_REQUIRE_MPI=1 forbids skipping)")
    pytest.skip(message)


def mpi_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update({
        # CI and sandboxes run as root; Open MPI refuses that unless told
        "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        # loopback TCP only: no shared-memory segment, no InfiniBand/UCX probing
        "OMPI_MCA_btl": "self,tcp", "OMPI_MCA_btl_tcp_if_include": "lo",
        "OMPI_MCA_oob_tcp_if_include": "lo", "OMPI_MCA_pml": "ob1",
        # one BLAS thread per rank: ranks share a small machine
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_job(np_, scenario, out_dir, timeout=180, **env):
    """Run tests/distributed/workers.py SCENARIO on np_ ranks; (returncode, output, seconds).

    The subprocess timeout is generous: it only guards against a hang, which is a failure.
    """
    return mpirun(np_, ["-m", "tests.distributed.workers", scenario, str(out_dir)],
                  timeout=timeout, **env)


def mpirun(np_, python_args, timeout=180, cwd=REPO, **env):
    """`mpirun -np np_ python PYTHON_ARGS`; (returncode, stdout + stderr, seconds)."""
    require_mpi()
    cmd = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", str(np_),
           sys.executable, *python_args]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=mpi_env(**env), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        seen = "".join(_text(s) for s in (exc.stdout, exc.stderr))
        pytest.fail(f"mpirun {' '.join(python_args)} hung for {timeout} s (no abort): "
                    f"{seen[-4000:]}")
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def _text(data):
    # TimeoutExpired carries bytes even when run() was asked for text
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
