"""Process-wide switches read on the hot path: gradient recording and anomaly checks.

Set them through autograd.no_grad(), set_grad_enabled() and detect_anomaly().
"""
GRAD_ENABLED = True
ANOMALY = False

# While compgraph.compile traces a function, every node apply() makes is appended here.
TRACE = None

# When (in creation ids) a tensor was last changed in place (zero_, add_, x[i] = ...):
# backward checks the nodes made before then for values they need that have changed.
LAST_MODIFIED = -1

# Nodes whose value has at least this many elements have it freed during the forward once
# no backward reads it and nothing outside the graph holds them (compgraph/freeing.py).
# 2**15 float32 elements are 128 KiB, glibc's threshold for arrays it maps from the system
# and gives back on free: smaller ones stay in malloc's pools (and cost more bookkeeping
# than they save).  float('inf') keeps every value.
FREE_MIN_SIZE = 1 << 15
