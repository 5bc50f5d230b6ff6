"""compgraph train: the run folder it writes, and its refusals."""
import json

import numpy as np
import pytest

from compgraph import io
from compgraph.cli import main
from compgraph.train.checkpoint import FORMAT, list_checkpoints
from compgraph.train.metrics import read_metrics

EPOCH_KEYS = {"epoch", "train_loss", "test_error", "test_loss", "seconds", "examples_per_s"}


def train_args(data_dir, out, *extra):
    return ["train", "--data-dir", data_dir, "--out", str(out), "--no-progress",
            "--batch-size", "32", "--lr", "0.003", *extra]


def test_linear_run_writes_config_metrics_checkpoints(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "3")) == 0
    stdout = capsys.readouterr().out
    assert [line.split()[1] for line in stdout.splitlines() if line.startswith("epoch")] == \
        ["1/3", "2/3", "3/3"]

    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "linear" and config["epochs"] == 3 and config["batch_size"] == 32
    assert config["data_dir"] == data_dir

    records = read_metrics(out)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert all(EPOCH_KEYS <= set(r) for r in records)
    losses = [r["train_loss"] for r in records]
    assert losses[0] > losses[1] > losses[2]          # separable data: loss keeps falling
    assert records[-1]["test_error"] < 0.1
    assert all(r["seconds"] > 0 and r["examples_per_s"] > 0 for r in records)

    assert [e for e, _ in list_checkpoints(out)] == [1, 2, 3]
    state = io.load(str(out / "epoch-003.npz"))
    assert state["format"] == FORMAT and state["epoch"] == 3
    assert state["model"]["1.weight"].shape == (10, 784)
    assert state["metrics"] == records


@pytest.mark.parametrize("model, extra", [
    ("mlp", ["--hidden", "32,16", "--activation", "relu"]),
    ("cnn", ["--limit", "64"]),
])
def test_other_models_train(model, extra, data_dir, tmp_path, capsys):
    out = tmp_path / model
    assert main(train_args(data_dir, out, "--model", model, "--epochs", "1", *extra)) == 0
    (record,) = read_metrics(out)
    assert np.isfinite(record["train_loss"]) and 0 <= record["test_error"] <= 1
    if model == "mlp":
        state = io.load(str(out / "epoch-001.npz"))["model"]
        assert [state[k].shape for k in ("1.weight", "3.weight", "5.weight")] == \
            [(32, 784), (16, 32), (10, 16)]


def test_existing_run_needs_resume(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1")) == 1
    err = capsys.readouterr().err.strip()
    assert "already holds a run" in err and "--resume" in err and len(err.splitlines()) == 1


def test_resume_refuses_changed_settings(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1")) == 0
    capsys.readouterr()
    args = train_args(data_dir, out, "--model", "linear", "--epochs", "2", "--resume")
    args[args.index("--lr") + 1] = "0.5"
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "--lr 0.5 differs" in err and len(err.splitlines()) == 1
    assert [e for e, _ in list_checkpoints(out)] == [1]


def test_resume_continues_to_more_epochs_bitwise(data_dir, tmp_path, capsys):
    """1 epoch, then --resume --epochs 2 == 2 epochs straight (parameters bitwise)."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    common = ["--model", "mlp", "--hidden", "24", "--seed", "5"]
    assert main(train_args(data_dir, straight, *common, "--epochs", "2")) == 0
    assert main(train_args(data_dir, resumed, *common, "--epochs", "1")) == 0
    # Typed only --epochs: every other setting comes from the run's config.json.
    assert main(["train", "--out", str(resumed), "--resume", "--epochs", "2", "--no-progress"]) == 0
    a = io.load(str(straight / "epoch-002.npz"))
    b = io.load(str(resumed / "epoch-002.npz"))
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert np.array_equal(a["model"][key].numpy(), b["model"][key].numpy()), key
    assert [r["epoch"] for r in read_metrics(resumed)] == [1, 2]


def test_resume_without_checkpoint_starts_fresh(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1", "--resume")) == 0
    assert "no checkpoint" in capsys.readouterr().err
    assert [e for e, _ in list_checkpoints(out)] == [1]


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    # mnist has no system package, and the cache is empty: only a download could
    # help, so point the mirrors nowhere by refusing it through the data command.
    assert main(["data", "--data", "mnist", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert "compgraph data: error: could not load mnist" in err
    assert "apt-get" not in err.splitlines()[0]


@pytest.mark.parametrize("command", ["train", "data"])
@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_given_data_dir_that_does_not_work_is_an_error(command, damage, data_dir, tmp_path,
                                                         capsys, monkeypatch):
    """No quiet fallback to the cache: a good copy there must not be used instead."""
    import shutil
    from compgraph.data import cache_dir
    shutil.copytree(data_dir, cache_dir("fashion-mnist"))
    broken = tmp_path / "broken"
    if damage == "truncated":
        shutil.copytree(data_dir, broken)
        for f in broken.iterdir():
            f.write_bytes(f.read_bytes()[:100])
    args = (train_args(str(broken), tmp_path / "run", "--epochs", "1") if command == "train"
            else ["data", "--data-dir", str(broken), "--no-download"])
    assert main(args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"from data_dir {broken}" in err[0], err
    assert ("no such directory" if damage == "missing" else "broken/") in err[0]
    assert not list_checkpoints(tmp_path / "run")


def test_test_command_with_a_given_data_dir_that_is_missing_is_an_error(data_dir, tmp_path,
                                                                        capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1")) == 0
    capsys.readouterr()
    assert main(["test", "--checkpoint", str(out), "--data-dir", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err.strip()
    assert f"from data_dir {tmp_path / 'nowhere'}: no such directory" in err
    assert len(err.splitlines()) == 1


def _damage(path, how):
    data = bytearray(path.read_bytes())
    if how == "flipped byte":
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    elif how == "truncated":
        path.write_bytes(bytes(data[:len(data) // 2]))
    else:  # a checkpoint of a newer compgraph
        state = io.load(str(path))
        state["format"] = "compgraph-train-run/2"
        io.save(state, str(path))


@pytest.mark.parametrize("how", ["flipped byte", "truncated", "newer format"])
def test_resume_refuses_to_overwrite_checkpoints_that_do_not_load(how, data_dir, tmp_path,
                                                                  capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "2")) == 0
    for _, path in list_checkpoints(out):
        _damage(__import__("pathlib").Path(path), how)
    before = {p: open(p, "rb").read() for _, p in list_checkpoints(out)}
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "3", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"cannot resume {out}: no checkpoint loads" in err
    assert str(out / "epoch-001.npz") in err and str(out / "epoch-002.npz") in err
    assert "left untouched" in err and "new --out" in err
    assert {p: open(p, "rb").read() for _, p in list_checkpoints(out)} == before


def test_resume_refuses_while_a_newer_checkpoint_does_not_load(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "2")) == 0
    newest = out / "epoch-002.npz"
    _damage(newest, "truncated")
    damaged = newest.read_bytes()
    capsys.readouterr()
    resume = ["train", "--out", str(out), "--resume", "--epochs", "3", "--no-progress"]
    assert main(resume) == 1
    err = capsys.readouterr().err
    assert "the newest checkpoint that loads is epoch-001.npz" in err and str(newest) in err
    assert newest.read_bytes() == damaged
    newest.rename(tmp_path / "epoch-002.npz.damaged")   # what the message says to do
    assert main(resume) == 0
    assert "from epoch-001.npz" in capsys.readouterr().err
    assert [e for e, _ in list_checkpoints(out)] == [1, 2, 3]


def test_resume_with_a_damaged_config_json_is_a_one_line_error(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--model", "linear", "--epochs", "1")) == 0
    (out / "config.json").write_text("{garbage")
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{out / 'config.json'} is not valid JSON" in err
    assert (out / "config.json").read_text() == "{garbage"


def test_bad_config_values_are_compgraph_value_errors():
    from compgraph.errors import CompgraphError
    from compgraph.train.config import TrainConfig
    with pytest.raises(ValueError, match="epochs must be at least 1, got 0") as info:
        TrainConfig(epochs=0)
    assert isinstance(info.value, CompgraphError)
