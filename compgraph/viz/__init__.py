"""Seeing the graph: draw() pictures it, explain() steps through it in a browser page,
profile() times each op.  Nothing here imports graphviz or a browser until it is used.

(The functions shadow their modules' names: the module of draw() is
importlib.import_module("compgraph.viz.draw").)
"""
from .draw import GraphvizNotFound, draw, draw_model, graphviz_available
from .explain import explain
from .profile import profile

__all__ = ["draw", "draw_model", "explain", "profile", "GraphvizNotFound", "graphviz_available"]


def svg_or_none(tensor_or_graph):
    """The SVG drawing for Jupyter's _repr_svg_, or None (no Graphviz, or a graph freed by
    backward) so that Jupyter falls back to the text repr instead of a traceback."""
    from ..errors import CompgraphError
    try:
        return draw(tensor_or_graph, format="svg")
    except (CompgraphError, ImportError, OSError):
        return None
