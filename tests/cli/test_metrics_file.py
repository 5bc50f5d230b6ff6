"""metrics.jsonl: whole-file atomic rewrites, readable after damage."""
import json

from compgraph.train.metrics import append_metric, read_metrics, write_metrics


def test_append_then_read_round_trips(tmp_path):
    append_metric(tmp_path, {"epoch": 1, "train_loss": 0.5})
    append_metric(tmp_path, {"epoch": 2, "train_loss": 0.25})
    assert read_metrics(tmp_path) == [{"epoch": 1, "train_loss": 0.5},
                                      {"epoch": 2, "train_loss": 0.25}]
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]


def test_non_finite_numbers_are_written_as_null(tmp_path):
    write_metrics(tmp_path, [{"epoch": 1, "train_loss": float("nan"), "x": float("inf")}])
    text = (tmp_path / "metrics.jsonl").read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert read_metrics(tmp_path) == [{"epoch": 1, "train_loss": None, "x": None}]


def test_a_torn_last_line_is_skipped(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"epoch": 1}\n{"epoch": 2, "tra')
    assert read_metrics(tmp_path) == [{"epoch": 1}]


def test_rewrite_leaves_no_temporary_files(tmp_path):
    write_metrics(tmp_path, [{"epoch": 1}])
    write_metrics(tmp_path, [{"epoch": 1}, {"epoch": 2}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]
    assert read_metrics(tmp_path / "missing") == []
