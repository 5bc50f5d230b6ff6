"""A per-epoch progress bar: tqdm when installed, else a plain status line.

The bar shows the running training loss and examples/s.  It is refreshed at
most every ``interval`` seconds, so the cost per batch is one clock read.
"""

from __future__ import annotations

import sys
import time

__all__ = ["epoch_progress"]


class _PlainLine:
    """Without tqdm: on a terminal, one line rewritten in place; in a log file,
    a line every ``log_interval`` seconds (so logs stay short)."""

    def __init__(self, desc: str, total: int, stream, interval: float, log_interval: float = 30.0):
        self.desc, self.total, self.stream = desc, total, stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.interval = interval if self.tty else log_interval
        self.start = self.last = time.perf_counter()
        self.done = 0
        self.postfix = ""

    def update(self, n: int, loss: float) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self.postfix = f"loss {loss:.4f}"
            self._write(now)

    def _write(self, now: float, end: str = "") -> None:
        rate = self.done / max(now - self.start, 1e-9)
        pct = 100.0 * self.done / max(self.total, 1)
        line = f"{self.desc}: {pct:5.1f}% {self.done}/{self.total} {self.postfix} {rate:,.0f} ex/s"
        if self.tty:
            self.stream.write("\r" + line + "\x1b[K" + end)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:  # wipe the line: the epoch summary replaces it
            self.stream.write("\r\x1b[K")
            self.stream.flush()


class _Tqdm:
    def __init__(self, desc: str, total: int, stream, interval: float):
        from tqdm import tqdm
        self.bar = tqdm(total=total, desc=desc, unit="ex", unit_scale=True, file=stream,
                        mininterval=interval, leave=False, dynamic_ncols=True)
        self.interval = interval
        self.last = time.perf_counter()

    def update(self, n: int, loss: float) -> None:
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self.bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


class _Silent:
    def update(self, n: int, loss: float) -> None:
        pass

    def close(self) -> None:
        pass


def epoch_progress(desc: str, total: int, enabled: bool = True, stream=None, interval: float = 0.5):
    """An object with ``update(n_examples, running_loss)`` and ``close()``."""
    if not enabled:
        return _Silent()
    stream = sys.stderr if stream is None else stream
    try:
        return _Tqdm(desc, total, stream, interval)
    except ImportError:  # tqdm is the optional extra compgraph[progress]
        return _PlainLine(desc, total, stream, interval)
