"""compgraph test: the printed error rate is the model's error rate on the test split."""
import re

import pytest

from compgraph.cli import main
from compgraph.train.checkpoint import model_from_checkpoint
from compgraph.train.loop import evaluate, load_images


@pytest.fixture(scope="module")
def trained_run(data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    # One short epoch at a small lr leaves some errors, so the count is informative.
    assert main(["train", "--model", "mlp", "--hidden", "8", "--epochs", "1", "--lr", "0.0005",
                 "--data-dir", data_dir, "--out", str(out), "--no-progress"]) == 0
    return out


def _printed_rate(stdout):
    match = re.search(r"test error rate: ([\d.]+)% \((\d+)/(\d+)\)", stdout)
    assert match, stdout
    return float(match.group(1)), int(match.group(2)), int(match.group(3))


def test_prints_the_error_rate_of_a_direct_evaluation(trained_run, data_dir, capsys):
    capsys.readouterr()
    assert main(["test", "--checkpoint", str(trained_run / "epoch-001.npz")]) == 0
    percent, wrong, total = _printed_rate(capsys.readouterr().out)

    model, config, _ = model_from_checkpoint(trained_run / "epoch-001.npz")
    x, y = load_images(config.data, "test", data_dir)
    error, _ = evaluate(model, x, y)
    assert total == len(y) == 200
    assert wrong == round(error * len(y))
    assert percent == pytest.approx(100 * error, abs=0.005)
    assert 0 < wrong < 0.9 * total  # better than chance, not perfect: the count means something


def test_a_run_folder_means_its_newest_checkpoint(trained_run, capsys):
    assert main(["test", "--checkpoint", str(trained_run / "epoch-001.npz")]) == 0
    from_file = _printed_rate(capsys.readouterr().out)
    assert main(["test", "--checkpoint", str(trained_run)]) == 0
    assert _printed_rate(capsys.readouterr().out) == from_file


def test_damaged_checkpoint_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "epoch-001.npz"
    bad.write_bytes(b"not a zip file")
    assert main(["test", "--checkpoint", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("compgraph test: error:") and str(bad) in err
    assert len(err.splitlines()) == 1


def test_missing_checkpoint_is_a_one_line_error(tmp_path, capsys):
    assert main(["test", "--checkpoint", str(tmp_path / "nope.npz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("compgraph test: error:") and "nope.npz" in err


def test_a_folder_whose_only_checkpoint_is_damaged_names_it(trained_run, tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "epoch-001.npz").write_bytes((trained_run / "epoch-001.npz").read_bytes()[:1000])
    assert main(["test", "--checkpoint", str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no checkpoint in this folder loads" in err
    assert str(folder / "epoch-001.npz") in err and "not a zip" in err


def test_a_damaged_newest_checkpoint_is_reported_and_the_older_one_tested(trained_run, tmp_path,
                                                                         capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "epoch-001.npz").write_bytes((trained_run / "epoch-001.npz").read_bytes())
    (folder / "epoch-002.npz").write_bytes(b"junk")
    assert main(["test", "--checkpoint", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "testing epoch-001.npz" in captured.err and str(folder / "epoch-002.npz") in captured.err
    assert "after epoch 1" in captured.out
