"""compgraph.heap: the C heap's thresholds are set on glibc, and never over the user's own."""
import ctypes
import os
import resource

import numpy as np
import pytest

from compgraph import heap

GLIBC = heap._glibc()


@pytest.mark.parametrize("env", [{"COMPGRAPH_HEAP": "default"},
                                 {"MALLOC_TRIM_THRESHOLD_": "1000"},
                                 {"MALLOC_MMAP_THRESHOLD_": "1000"},
                                 {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000"}])
def test_user_settings_are_left_alone(env, monkeypatch):
    called = []
    monkeypatch.setattr(ctypes, "CDLL", lambda *a: called.append(a))
    assert heap.tune(env) is False
    assert called == []                      # mallopt was not even looked up


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_tune_sets_the_thresholds_on_glibc():
    assert heap.tune({}) is True


@pytest.mark.skipif(not GLIBC or not heap.applied, reason="glibc, thresholds set at import")
def test_a_steps_arrays_reuse_the_heaps_pages():
    # 2 MB arrays made and dropped in turn, as a training step's: with glibc's defaults
    # each lands on fresh pages (512 page faults each); with the thresholds set the
    # second and later reuse the first one's
    def churn():
        for _ in range(20):
            a = np.ones(1 << 19, np.float32)
            b = a * 2
            del a, b
    churn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200, faults


def test_not_glibc_is_a_no_op(monkeypatch):
    monkeypatch.setattr(os, "confstr", lambda name: "musl")
    assert heap.tune({}) is False
