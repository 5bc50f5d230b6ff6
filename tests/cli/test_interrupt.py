"""Ctrl-C during training: exit status 130 and a message saying how to continue."""
import signal
import subprocess
import sys
import time

from tests.cli.synthetic import subprocess_env, write_fake_mnist


def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(tmp_path):
    data_dir = write_fake_mnist(tmp_path / "data", n_train=3000, n_test=50)
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "compgraph.cli", "train", "--model", "mlp", "--hidden", "128",
         "--batch-size", "8", "--epochs", "50", "--data-dir", data_dir, "--out", str(out),
         "--no-progress"],
        env=subprocess_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "epoch-001.npz").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "interrupted; the last complete checkpoint is" in err
    assert f"--out {out} --resume" in err
    assert "Traceback" not in err
