"""One writer per job: checkpoints, metrics and log lines come from rank 0 only.

N ranks writing the same checkpoint file would race on the rename and waste
N times the disk bandwidth; N copies of every log line bury the one that
matters.  Every rank holds the same parameters after each step, so rank 0's
copy is the job's.
"""

from __future__ import annotations

import functools
import sys

from compgraph.distributed import comm

__all__ = ["main_only", "print0"]


def main_only(fn):
    """Decorator: run ``fn`` on rank 0 (or without MPI); return None on the other ranks."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if comm.is_main():
            return fn(*args, **kwargs)
        return None
    return wrapper


def print0(*args, file=None, **kwargs):
    """print() on rank 0 only (flushed, so lines are not lost if another rank aborts)."""
    if comm.is_main():
        print(*args, file=file or sys.stdout, flush=True, **kwargs)
