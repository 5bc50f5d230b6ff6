"""compgraph graph (wired to compgraph.viz.draw_model) and compgraph data."""
import sys
import types

import pytest

from compgraph.cli import main


def test_graph_calls_draw_model_with_the_model_and_its_input_shape(tmp_path, capsys,
                                                                   monkeypatch):
    calls = []
    fake = types.ModuleType("compgraph.viz")
    fake.draw_model = lambda model, input_shape, path, format=None: calls.append(
        (model, input_shape, path, format)) or path
    monkeypatch.setitem(sys.modules, "compgraph.viz", fake)
    out = str(tmp_path / "graph.svg")
    assert main(["graph", "--model", "mlp", "--hidden", "32", "--out", out]) == 0
    (model, input_shape, path, fmt), = calls
    assert input_shape == (1, 1, 28, 28) and path == out and fmt == "svg"
    assert [tuple(p.shape) for p in model.parameters()] == [(32, 784), (32,), (10, 32), (10,)]
    assert f"wrote {out}" in capsys.readouterr().out


def test_graph_without_viz_says_so_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "compgraph.viz", None)  # import fails
    assert main(["graph", "--out", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err.strip()
    assert "compgraph.viz" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "g.svg").exists()


def test_data_reports_where_each_split_was_found(data_dir, capsys):
    assert main(["data", "--data-dir", data_dir, "--no-download"]) == 0
    out = capsys.readouterr().out.splitlines()
    train_line = next(line for line in out if line.startswith("fashion-mnist train:"))
    test_line = next(line for line in out if line.startswith("fashion-mnist test:"))
    assert "600 images 28x28" in train_line and "200 images" in test_line
    assert data_dir in train_line and data_dir in test_line


def test_graph_with_an_unknown_suffix_is_a_one_line_usage_error(tmp_path, capsys):
    assert main(["graph", "--out", str(tmp_path / "g.xyz")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "use .svg, .png, .pdf, .dot" in err and "'.xyz'" in err


@pytest.mark.parametrize("args", [["graph", "--out"], ["plot", "RUN", "-o"]])
def test_output_into_a_missing_folder_names_the_folder(args, tmp_path, capsys):
    (tmp_path / "RUN").mkdir()
    args = [str(tmp_path / "RUN") if a == "RUN" else a for a in args]
    target = tmp_path / "nodir" / ("g.svg" if args[0] == "graph" else "x.png")
    assert main(args + [str(target)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"the folder {tmp_path / 'nodir'} does not exist" in err and ".tmp" not in err
