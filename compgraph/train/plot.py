"""Learning curves from metrics.jsonl: loss and test error per epoch, one run or several.

matplotlib is an optional extra (``pip install 'compgraph[plot]'``).  Figures
are drawn with the object API and the Agg canvas, never pyplot, so plotting
changes no global matplotlib state and needs no display.
"""

from __future__ import annotations

import os

from compgraph.io import atomic_write
from compgraph.train.errors import NoMetricsError, PlotUnavailable
from compgraph.train.metrics import read_metrics

__all__ = ["PlotUnavailable", "CURVES_FILE", "plot_runs", "plot_run"]

CURVES_FILE = "curves.png"


def _figure():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable("plotting needs matplotlib: pip install 'compgraph[plot]' "
                              "(or pip install matplotlib)") from None
    fig = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def plot_runs(run_dirs, path, labels=None) -> str:
    """Draw the runs' curves side by side (loss | test error) into the PNG ``path``.

    Train loss is solid and test loss dashed, in one colour per run.  Raises
    PlotUnavailable without matplotlib, NoMetricsError if a run has no metrics.
    """
    run_dirs = [os.fspath(d) for d in run_dirs]
    labels = labels or [os.path.basename(os.path.normpath(d)) or d for d in run_dirs]
    runs = []
    for run_dir in run_dirs:
        records = read_metrics(run_dir)
        if not records:
            raise NoMetricsError(f"{run_dir}: no metrics.jsonl records (is it a run folder of compgraph train?)")
        runs.append(records)

    fig = _figure()
    loss_ax, error_ax = fig.subplots(1, 2)
    for i, (records, label) in enumerate(zip(runs, labels)):
        colour = f"C{i % 10}"
        epochs = [r["epoch"] for r in records]
        loss_ax.plot(epochs, [r.get("train_loss") for r in records], "-", color=colour,
                     marker="o", markersize=3, label=f"{label} train")
        loss_ax.plot(epochs, [r.get("test_loss") for r in records], "--", color=colour,
                     label=f"{label} test")
        error_ax.plot(epochs, [_percent(r.get("test_error")) for r in records], "-",
                      color=colour, marker="o", markersize=3, label=label)
    loss_ax.set(title="cross-entropy loss", xlabel="epoch", ylabel="loss")
    error_ax.set(title="test error", xlabel="epoch", ylabel="error (%)")
    for ax in (loss_ax, error_ax):
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, format="png")
    return os.fspath(path)


def _percent(value):
    return None if value is None else 100.0 * value


def plot_run(run_dir) -> str:
    """``run_dir/curves.png`` for one run."""
    return plot_runs([run_dir], os.path.join(os.fspath(run_dir), CURVES_FILE))
