"""Executors: strategies that run the same graph data (lazy, autobatch, replay).

autobatch   BatchingGraph and the autobatch() scope: agenda-based automatic operation
            batching (DyNet's on-the-fly batching), forward and backward.  Import it as
            compgraph.executors.autobatch; compgraph exports autobatch() itself.
"""

from . import static  # noqa: F401,E402  (registers the static-graph hook on Graph)
