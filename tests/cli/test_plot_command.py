"""compgraph plot and the curves.png of a run."""
import sys

import pytest

from compgraph.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def two_runs(data_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for model in ("linear", "mlp"):
        assert main(["train", "--model", model, "--epochs", "2", "--data-dir", data_dir,
                     "--out", str(root / model), "--no-progress", "--limit", "200",
                     *(["--hidden", "8"] if model == "mlp" else [])]) == 0
    return root / "linear", root / "mlp"


def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_overlay_of_two_runs(two_runs, tmp_path, capsys):
    out = tmp_path / "compare.png"
    code = main(["plot", *map(str, two_runs), "-o", str(out)])
    if _has_matplotlib():
        assert code == 0
        assert out.read_bytes().startswith(PNG_MAGIC)
        assert f"wrote {out}" in capsys.readouterr().out
        assert all((run / "curves.png").read_bytes().startswith(PNG_MAGIC) for run in two_runs)
    else:
        assert code == 1 and not out.exists()
        assert "pip install" in capsys.readouterr().err


def test_without_matplotlib_the_message_says_what_to_install(two_runs, tmp_path, capsys,
                                                              monkeypatch):
    # None in sys.modules makes `import matplotlib...` raise ImportError.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    out = tmp_path / "compare.png"
    assert main(["plot", *map(str, two_runs), "-o", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "matplotlib" in err and "pip install 'compgraph[plot]'" in err
    assert len(err.splitlines()) == 1 and not out.exists()


def test_training_without_matplotlib_skips_curves_with_a_message(data_dir, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for name in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    out = tmp_path / "run"
    assert main(["train", "--model", "linear", "--epochs", "1", "--data-dir", data_dir,
                 "--out", str(out), "--no-progress", "--limit", "100"]) == 0
    assert "skipping curves.png" in capsys.readouterr().err
    assert not (out / "curves.png").exists() and (out / "metrics.jsonl").exists()


def test_a_folder_without_metrics_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["plot", str(tmp_path / "empty"), "-o", str(tmp_path / "x.png")]) == 1
    assert "no metrics.jsonl" in capsys.readouterr().err


def test_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope"), "-o", str(tmp_path / "x.png")]) == 2
    assert "no such run folder" in capsys.readouterr().err
