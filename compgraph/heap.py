"""The C heap's settings for a process of array-sized temporaries (glibc only).

A training step makes and drops thousands of 50 KB - 30 MB arrays.  With glibc's
defaults such a block either comes from mmap (above the mmap threshold, which starts
at 128 KB) or from the top of the heap, which glibc gives back to the system as soon
as more than the trim threshold lies free there.  Either way the next step's arrays
land on fresh pages, and the kernel zeroes every page on first touch: measured 2,400
page faults a step on gpt-nano, 11,000 on gpt-small, 2,400 on the LSTM LM (PyTorch's
own runs: 150, 1,100, 17,700), costing 20-30 % of compgraph's CPU time there.

Keeping blocks up to 32 MB on the heap and the heap's free top up to 256 MB makes
those faults go away (0-70 a step): freed arrays are reused by the next step.  The
price is that memory freed at the end of a big step stays mapped to the process (up
to 256 MB of it) instead of going back to the system; the peak is unchanged.

This applies to the whole process (whatever else it runs allocates from the same
heap), so it is skipped when the user has chosen glibc's malloc settings already
(MALLOC_*_ or GLIBC_TUNABLES in the environment), when COMPGRAPH_HEAP=default, and
on any C library other than glibc.
"""
import ctypes
import os

# mallopt's parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20        # glibc's own ceiling for its sliding threshold
TRIM_THRESHOLD = 256 << 20

_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                  "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES")

applied = False                  # whether tune() changed the heap's settings


def _glibc():
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):      # not a GNU system
        return False


def tune(environ=os.environ):
    """Set the thresholds above unless the environment or the platform says not to;
    returns whether they were set."""
    global applied
    if environ.get("COMPGRAPH_HEAP", "") == "default":
        return False
    if any(name in environ for name in _USER_SETTINGS):
        return False
    if not _glibc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    # the mmap threshold first: setting either fixes both (glibc stops sliding them)
    applied = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return applied
