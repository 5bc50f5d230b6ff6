"""python -m compgraph.demo: fetching the data, and the runs it leaves behind."""
import subprocess


from compgraph import demo
from compgraph.data import DataError


def test_demo_trains_both_models_and_says_where_they_are(data_dir, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setattr(demo, "DEMO_RUNS", (("linear", 2), ("mlp", 1)))
    out = tmp_path / "runs"
    assert demo.main(["--out", str(out), "--data-dir", data_dir]) == 0
    stdout = capsys.readouterr().out
    for model in ("linear", "mlp"):
        assert (out / f"demo-{model}" / "metrics.jsonl").exists()
        assert f"run folder: {out}/demo-{model}/" in stdout
    assert (out / "compare.png").exists() and f"{out}/compare.png" in stdout
    # Run again: the finished runs are resumed, not retrained or refused.
    assert demo.main(["--out", str(out), "--data-dir", data_dir]) == 0
    assert "epoch   1/" not in capsys.readouterr().out


def test_on_debian_as_root_it_announces_apt_get_before_running_it(monkeypatch, capsys):
    events = []

    def missing(*args, **kwargs):
        raise DataError("not here")

    def fake_run(cmd, **kwargs):
        events.append(("run", cmd, capsys.readouterr().out))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr("compgraph.data.load_dataset", missing)
    monkeypatch.setattr(demo, "_can_apt_install", lambda: True)
    monkeypatch.setattr(demo.subprocess, "run", fake_run)
    demo.ensure_data()
    (_, cmd, said_before), = events
    assert cmd == ["apt-get", "install", "-y", "dataset-fashion-mnist"]
    assert "apt-get install -y dataset-fashion-mnist" in said_before


def test_elsewhere_it_announces_the_download(monkeypatch, capsys):
    calls = []

    def load(name, split, data_dir=None, download=True, **kwargs):
        calls.append(download)
        if not download:
            raise DataError("not here")
        return None

    monkeypatch.setattr("compgraph.data.load_dataset", load)
    monkeypatch.setattr(demo, "_can_apt_install", lambda: False)
    demo.ensure_data()
    assert calls == [False, True, True]  # looked, then fetched both splits
    assert "downloading it" in capsys.readouterr().out


def test_no_data_at_all_is_a_clear_failure(monkeypatch, capsys, tmp_path):
    def missing(*args, **kwargs):
        raise DataError("could not load fashion-mnist; sources tried: ...")

    monkeypatch.setattr("compgraph.data.load_dataset", missing)
    monkeypatch.setattr(demo, "_can_apt_install", lambda: False)
    assert demo.main(["--out", str(tmp_path)]) == 1
    assert "demo: cannot get Fashion-MNIST" in capsys.readouterr().err
