"""metrics.jsonl: one JSON object per finished epoch, the run's learning curve.

Every write replaces the whole file atomically (the file is a few hundred
lines at most, so rewriting is cheap): a kill at any moment leaves either the
old or the new file, never a half-written line.  ``read_metrics`` still skips
a damaged line, so a file edited or truncated by hand does not stop a run.
"""

from __future__ import annotations

import json
import math
import os

from compgraph.io import atomic_write

__all__ = ["METRICS_FILE", "read_metrics", "write_metrics", "append_metric"]

METRICS_FILE = "metrics.jsonl"


def _path(run_dir) -> str:
    return os.path.join(os.fspath(run_dir), METRICS_FILE)


def _clean(value):
    # JSON has no NaN/Infinity; null keeps every line standard JSON (jq, pandas).
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def read_metrics(run_dir) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl`` in file order ([] if absent)."""
    records = []
    try:
        with open(_path(run_dir), encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
    except FileNotFoundError:
        pass
    return records


def write_metrics(run_dir, records) -> None:
    """Replace ``run_dir/metrics.jsonl`` with ``records``, atomically."""
    text = "".join(
        json.dumps({k: _clean(v) for k, v in record.items()}) + "\n" for record in records
    )
    with atomic_write(_path(run_dir), "w") as f:
        f.write(text)


def append_metric(run_dir, record: dict) -> None:
    """Add one epoch's record (rewriting the file atomically)."""
    write_metrics(run_dir, read_metrics(run_dir) + [record])
