"""Python's cyclic collector held off while DyNet graphs are built and run.

A DyNet graph is tens of thousands of small objects (nodes, their input tuples) made in a
burst and all alive until the graph is dropped; the collector, triggered every 700
allocations, scans them again and again while they are being made, and its full
collections walk every node of the graph -- a fifth to a third of the time of building and
running a big graph, to find no garbage (a graph's nodes form no cycles: renew_cg()
unlinks them, see ComputationGraph._release, and they go by reference counting).

So the first renew_cg() turns the collector off (unless the user already has), and each
renew_cg() is the safe point where it runs instead: `catch_up` collects when the objects
that stayed alive since the previous renew_cg() exceed the collector's own threshold --
what it would have done, less the graph that is still alive (the loss the user holds
until the next step), which it would only have scanned to find nothing.  `release()`
gives the collector back (dy.renew_cg is the only place that takes it).
"""
import gc

_state = {"held": False, "mark": 0}


def hold():
    if not _state["held"] and gc.isenabled():
        gc.disable()
        _state["held"] = True
        _state["mark"] = gc.get_count()[0]


def release():
    if _state["held"]:
        _state["held"] = False
        gc.enable()


def held():
    return _state["held"]


def catch_up():
    """At renew_cg(), while held: the collection the collector would have run by now, if
    the objects that survived since the last renew_cg() (net of those freed) exceed its
    threshold; its counts decide the generation, as they would."""
    if not _state["held"]:
        return
    t0, t1, t2 = gc.get_threshold()
    c0, c1, c2 = gc.get_count()
    if t0 and (c0 - _state["mark"] > t0 or c0 > 100 * t0 + 1_000_000):
        gc.collect(2 if c1 >= t1 and c2 >= t2 else 1 if c1 >= t1 else 0)
    _state["mark"] = gc.get_count()[0]
