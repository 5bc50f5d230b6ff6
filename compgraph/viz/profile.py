"""profile(): time every op's forward and backward, per op type.

    with cg.profile() as prof:
        loss = model(x).sum(); loss.backward()
    print(prof.table())            # or prof.stats, plain data

The engine has no timing hook, so inside the `with` block every Op of the table has its
`fwd` and its VJPs replaced by timing wrappers; they are put back on exit.  Times are
exclusive: a VJP that runs other ops (create_graph=True) is not charged for their time.
Not thread-safe, and the wrappers add roughly a microsecond per call.
"""
import time

from ..ops import OPS

SORT_KEYS = {"total": lambda r: -r["total_s"], "calls": lambda r: -r["calls"],
             "mean": lambda r: -r["mean_us"], "op": lambda r: (r["op"], r["phase"])}


class profile:
    """Context manager collecting (op, phase) -> calls and time; see table() and stats."""

    def __init__(self):
        self._calls = {}              # (op name, "forward"/"backward") -> [calls, seconds]
        self._saved = None
        self._child = []              # time spent in nested timed calls, per open call
        self._last_node = None        # (op, id of output) of the last backward call

    # --- patching the op table ------------------------------------------------------------
    def __enter__(self):
        if self._saved is not None:
            raise RuntimeError("profile: this profiler is already active")
        # the VJPs' array namespace binds ops' forwards when first built: build it now,
        # so that it binds the real ones and never keeps a wrapper after we leave
        import numpy as np
        from ..autograd import array_namespace
        array_namespace(np)
        self._saved = {}
        for op in OPS.values():
            self._saved[op] = (op.fwd, op.vjps, op.vjp_n, op.vjp_all)
            op.fwd = self._timed(op.fwd, op.name, "forward")
            if op.vjp_all is not None:   # all inputs' gradients in one call (lstm_layer)
                op.vjp_all = self._timed_vjp(op.vjp_all, op.name, 2)
            op.vjps = tuple(self._timed_vjp(v, op.name, 2) if v is not None else None
                            for v in op.vjps)
            if op.vjp_n is not None:
                # vjps_for(n) caches partials of vjp_n: wrap it and drop the cache
                op.vjp_n = self._timed_vjp(op.vjp_n, op.name, 3)
                op._vjp_cache.clear()
        return self

    def __exit__(self, *exc):
        for op, (fwd, vjps, vjp_n, vjp_all) in self._saved.items():
            op.fwd, op.vjps, op.vjp_n, op.vjp_all = fwd, vjps, vjp_n, vjp_all
            if vjp_n is not None:
                op._vjp_cache.clear()     # cached partials of the wrapper must go too
            op._needs.clear()             # what the wrappers were found to read (everything)
        self._saved = None
        return False

    def _timed(self, fn, name, phase):
        def timed(*args, **kwargs):
            if self._saved is None:   # kept by a cache (a compiled replay plan) after exit
                return fn(*args, **kwargs)
            self._child.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._charge(name, phase, time.perf_counter() - start, True)
        return timed

    def _timed_vjp(self, fn, name, ans_pos):
        def timed(*args, **kwargs):
            if self._saved is None:
                return fn(*args, **kwargs)
            # the VJPs of one node's inputs run back to back with the same output array
            # `ans` (at ans_pos: vjp(xp, g, ans, ...), vjp_n(i, xp, g, ans, ...)): count
            # them as one backward call of the op, as the forward counts one
            key = (name, id(args[ans_pos]))
            new_node = key != self._last_node
            self._last_node = key
            self._child.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._charge(name, "backward", time.perf_counter() - start, new_node)
        return timed

    def _charge(self, name, phase, elapsed, new_call):
        nested = self._child.pop()
        if self._child:
            self._child[-1] += elapsed    # the enclosing call must not count this time
        entry = self._calls.setdefault((name, phase), [0, 0.0])
        entry[0] += new_call
        entry[1] += elapsed - nested

    # --- reports ------------------------------------------------------------------------------
    @property
    def stats(self):
        """A list of dicts: op, phase, calls, total_s, mean_us, share (of all timed time)."""
        total = sum(s for _, s in self._calls.values()) or 1.0
        rows = []
        for (name, phase), (calls, secs) in self._calls.items():
            rows.append(dict(op=name, phase=phase, calls=calls, total_s=secs,
                             mean_us=1e6 * secs / calls if calls else 0.0, share=secs / total))
        return sorted(rows, key=SORT_KEYS["total"])

    def total(self, phase=None):
        """Timed seconds, of one phase or of both."""
        return sum(s for (_, p), (_, s) in self._calls.items() if phase in (None, p))

    def table(self, sort="total", phase=None, limit=None):
        """The stats as aligned text; sort by 'total', 'calls', 'mean' or 'op'."""
        if sort not in SORT_KEYS:
            raise ValueError(f"profile.table: sort must be one of {sorted(SORT_KEYS)}, got {sort!r}")
        rows = sorted((r for r in self.stats if phase in (None, r["phase"])), key=SORT_KEYS[sort])
        if limit is not None:
            rows = rows[:limit]
        head = f"{'op':<20} {'phase':<9} {'calls':>8} {'total ms':>10} {'share':>7} {'mean us':>10}"
        lines = [head, "-" * len(head)]
        for r in rows:
            lines.append(f"{r['op']:<20} {r['phase']:<9} {r['calls']:>8} "
                         f"{1e3 * r['total_s']:>10.3f} {100 * r['share']:>6.1f}% "
                         f"{r['mean_us']:>10.1f}")
        lines.append("-" * len(head))
        lines.append(f"{'total':<20} {'':<9} {sum(r['calls'] for r in rows):>8} "
                     f"{1e3 * sum(r['total_s'] for r in rows):>10.3f}")
        return "\n".join(lines)

    def __repr__(self):
        return f"<profile: {len(self._calls)} op/phase entries, {1e3 * self.total():.3f} ms timed>"
