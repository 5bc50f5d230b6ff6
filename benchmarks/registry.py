"""A tiny registry of benchmark implementations.

Every implementation of a workload is a plain function registered with the
``workload_impl`` decorator::

    from registry import workload_impl

    @workload_impl("mlp-batch", "pytorch", reference=True)
    def mlp_batch(quick):
        ...                      # setup: untimed
        start = time.perf_counter()
        ...                      # the work being measured
        seconds = time.perf_counter() - start
        ...                      # untimed: compute the check value
        return units, seconds, check_value

The function takes one argument, ``quick`` (True for the shrunken smoke-test
size of the workload), and returns a 3-tuple:

``units``
    how many units of work it did (updates, examples, sentences; see
    ``workloads.WORKLOADS``), an int;
``seconds``
    the wall-clock seconds of the timed part only, a float;
``check_value``
    a float that all implementations of the workload (in the same
    ``check_group``) should agree on, computed untimed after training.  The
    workloads module provides a helper per workload that turns the final
    parameters into this number (``xor_check``, ``mlp_check``,
    ``rnn_check``), so implementations need only hand their final weights
    over in the canonical layout.  ``None`` skips the check.

``reference=True`` marks the implementation whose median rate the others are
divided by in the results table (PyTorch for every workload here).

``check_group`` separates implementations that compute different things on
purpose: e.g. the rnn-tagger ``pytorch-padded`` implementation makes one
update per 32 sentences, so its final loss is compared only with other
implementations in the ``"batch32"`` group, not with per-sentence ones.

run.py imports this module both as ``registry`` and as
``benchmarks.registry``; either import spelling reaches the same registry.
"""

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass
class Impl:
    workload: str
    name: str
    fn: Callable
    reference: bool
    check_group: str
    module: str


# (workload, name) -> Impl, in registration order
REGISTRY: dict = {}


def workload_impl(workload: str, name: str, reference: bool = False,
                  check_group: str = "default"):
    """Register ``fn(quick) -> (units, seconds, check_value)`` as the
    implementation ``name`` of ``workload``."""

    def register(fn):
        key = (workload, name)
        if key in REGISTRY:
            raise ValueError(f"implementation {name!r} of {workload!r} "
                             f"registered twice ({REGISTRY[key].module} and "
                             f"{fn.__module__})")
        REGISTRY[key] = Impl(workload, name, fn, reference, check_group,
                             fn.__module__)
        return fn

    return register


def impls_for(workload: str) -> list:
    """The implementations of one workload, the reference first."""
    found = [impl for impl in REGISTRY.values() if impl.workload == workload]
    return sorted(found, key=lambda impl: not impl.reference)


def reference_for(workload: str) -> Optional[Impl]:
    for impl in REGISTRY.values():
        if impl.workload == workload and impl.reference:
            return impl
    return None
