"""Expected failures of a training run; the ``compgraph`` command prints them as one line."""

from compgraph.errors import CompgraphError

__all__ = ["TrainError", "RunExistsError", "ResumeMismatchError", "DivergedError",
           "PlotUnavailable", "NoMetricsError", "DamagedRunError", "ConfigFileError"]


class TrainError(CompgraphError):
    """Base class: a failure the user can fix; its message says how."""


class RunExistsError(TrainError, FileExistsError):
    """The run folder already holds checkpoints and resuming was not asked for."""


class DamagedRunError(TrainError, RuntimeError):
    """--resume found checkpoints it cannot read where continuing would overwrite them."""


class ConfigFileError(TrainError, ValueError):
    """A run folder's config.json is not valid JSON or not a valid configuration."""


class ResumeMismatchError(TrainError, ValueError):
    """The checkpoint to resume from was made with other settings."""


class DivergedError(TrainError, ArithmeticError):
    """The training loss became NaN or infinite."""


class PlotUnavailable(TrainError, ImportError):
    """matplotlib is not installed."""


class NoMetricsError(TrainError, ValueError):
    """A folder given as a run has no metrics to plot."""
