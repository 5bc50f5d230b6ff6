"""The cyclic collector is held off inside DyNet graphs and runs at renew_cg()
(compgraph/dynet/gcpause.py): garbage cycles are still collected, and a collector the user
turned off is left off."""
import gc
import weakref

import numpy as np

import compgraph.dynet as dy
from compgraph.dynet import gcpause


class _Cycle:
    def __init__(self):
        self.me = self


def test_cycles_made_between_graphs_are_collected_at_renew_cg():
    dy.renew_cg()
    assert not gc.isenabled()                  # held while the graph is alive
    probe = _Cycle()
    ref = weakref.ref(probe)
    del probe
    junk = [_Cycle() for _ in range(3 * gc.get_threshold()[0])]   # more than a threshold
    del junk
    x = dy.inputVector([1.0, 2.0])
    assert dy.sum_elems(dy.tanh(x)).value() == np.float32(np.tanh(1.0) + np.tanh(2.0))
    assert ref() is not None                   # nothing collected inside the graph
    dy.renew_cg()
    assert ref() is None                       # the catch-up collection found the cycle


def test_a_collector_the_user_disabled_stays_disabled():
    gcpause.release()
    gc.enable()
    gc.disable()
    try:
        dy.renew_cg()
        dy.tanh(dy.inputVector([1.0])).value()
        dy.renew_cg()
        assert not gc.isenabled()
        gcpause.release()                      # nothing to give back: ours was never taken
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_release_gives_the_collector_back():
    gc.enable()
    dy.renew_cg()
    assert gcpause.held() and not gc.isenabled()
    gcpause.release()
    assert gc.isenabled()
