"""compgraph runs without mpi4py; compgraph.distributed says what to install."""
import subprocess
import sys

from tests.distributed.mpi import REPO, mpi_env

# `sys.modules['mpi4py'] = None` makes `import mpi4py` fail as if it were not installed
HIDE_MPI4PY = "import sys; sys.modules['mpi4py'] = None\n"


def _run(code):
    return subprocess.run([sys.executable, "-c", HIDE_MPI4PY + code], cwd=REPO,
                          env=mpi_env(), capture_output=True, text=True, timeout=120)


def test_import_compgraph_does_not_need_mpi4py():
    proc = _run("import compgraph, compgraph.distributed as d\n"
                "assert d.is_main() and len(d.DistributedSampler(10, 2, 0)) == 5\n"
                "print('ok')")
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_missing_mpi4py_names_what_to_install():
    proc = _run("import compgraph.distributed as d\n"
                "try:\n    d.init()\nexcept d.MPIUnavailableError as e:\n    print(e)\n"
                "else:\n    print('no error')")
    assert proc.returncode == 0, proc.stderr
    assert "pip install mpi4py" in proc.stdout
    assert "apt-get install -y openmpi-bin libopenmpi-dev" in proc.stdout


def test_distributed_and_training_errors_are_compgraph_errors():
    from compgraph.distributed.comm import MPIUnavailableError
    from compgraph.distributed.ddp import DDPUsageError
    from compgraph.errors import CompgraphError
    from compgraph.train.errors import DamagedRunError, RunExistsError, TrainError
    for cls, builtin in [(DDPUsageError, RuntimeError), (MPIUnavailableError, ImportError),
                         (TrainError, Exception), (RunExistsError, FileExistsError),
                         (DamagedRunError, RuntimeError)]:
        assert issubclass(cls, CompgraphError) and issubclass(cls, builtin), cls
