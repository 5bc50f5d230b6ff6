"""Python's cyclic collector held off while a DyNet graph is built and run.

A DyNet graph is tens of thousands of small objects (nodes, their input tuples) made in a
burst and all alive until the graph is dropped; the collector, triggered every 700
allocations, scans them again and again while they are being made, and its full
collections walk every node of the graph -- a third of the time of building and running a
big graph, to find no garbage (the graph's nodes form no cycles: renew_cg() unlinks them,
see ComputationGraph._release).  So renew_cg() holds the collector off, and it is given
back (as it was) when the graph's values or gradients have been computed: the first
collection after that scans the graph once.  A program that builds graphs and never
evaluates them gets its collections at each renew_cg() (`catch_up`), a safe point.
A collector the user disabled is left alone.
"""
import gc

_held = [False]          # whether the collector is off because of us (and owed back)


def hold():
    if not _held[0] and gc.isenabled():
        gc.disable()
        _held[0] = True


def release():
    if _held[0]:
        _held[0] = False
        gc.enable()


def catch_up():
    """While held: the collection the collector would have run by now, if any (its own
    thresholds and counts decide the generation)."""
    if not _held[0]:
        return
    t0, t1, t2 = gc.get_threshold()
    c0, c1, c2 = gc.get_count()
    if t0 and c0 > t0:
        gc.collect(2 if c1 >= t1 and c2 >= t2 else 1 if c1 >= t1 else 0)
