"""The tutorial's scripts, end to end on small generated data:
--init, two epochs of training (one example at a time), then the test error rate."""
import os
import re
import subprocess
import sys

import pytest

from tests.cli.synthetic import REPO, subprocess_env, write_fake_mnist

TUTORIAL = os.path.join(REPO, "examples", "tutorial")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tutorial")
    env = subprocess_env(tmp)
    env["TUTORIAL_DATA_DIR"] = write_fake_mnist(tmp / "data", n_train=300, n_test=100)
    env.pop("TUTORIAL_LIMIT", None)
    return env


def run(script, *args, env, cwd):
    return subprocess.run([sys.executable, os.path.join(TUTORIAL, script), *map(str, args)],
                          env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _error_rate(stdout):
    match = re.fullmatch(r"test error rate: ([\d.]+) \((\d+)/(\d+)\)\n", stdout)
    assert match, stdout
    return float(match.group(1)), int(match.group(3))


@pytest.mark.parametrize("kind, init_args", [("lin", []), ("mlp", [32])])
def test_init_train_twice_then_test(kind, init_args, env, tmp_path):
    assert run(f"{kind}-train.py", "--init", f"{kind}-param-0", *init_args,
               env=env, cwd=tmp_path).returncode == 0
    logs = []
    for epoch in (1, 2):
        done = run(f"{kind}-train.py", f"{kind}-param-{epoch - 1}", f"{kind}-param-{epoch}",
                   env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        (tmp_path / f"log-{epoch}").write_text(done.stdout)
        losses = [float(line) for line in done.stdout.splitlines()]
        assert len(losses) == 300  # one loss line per training example
        logs.append(sum(losses) / len(losses))
    assert logs[1] < logs[0]  # the second epoch starts from the first's parameters

    done = run(f"{kind}-test.py", f"{kind}-param-2", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rate, total = _error_rate(done.stdout)
    assert total == 100
    assert rate < 0.5  # chance is 0.9 on ten classes


def test_usage_message_without_arguments(env, tmp_path):
    done = run("lin-train.py", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "lin-train.py lin-param-0 lin-param-1" in done.stderr
