"""Expected failures of a training run; the ``compgraph`` command prints them as one line."""

__all__ = ["TrainError", "RunExistsError", "ResumeMismatchError", "DivergedError",
           "PlotUnavailable", "NoMetricsError"]


class TrainError(Exception):
    """Base class: a failure the user can fix; its message says how."""


class RunExistsError(TrainError):
    """The run folder already holds checkpoints and resuming was not asked for."""


class ResumeMismatchError(TrainError, ValueError):
    """The checkpoint to resume from was made with other settings."""


class DivergedError(TrainError, ArithmeticError):
    """The training loss became NaN or infinite."""


class PlotUnavailable(TrainError, ImportError):
    """matplotlib is not installed."""


class NoMetricsError(TrainError, ValueError):
    """A folder given as a run has no metrics to plot."""
