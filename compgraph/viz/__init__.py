"""Seeing the graph: draw() pictures it, explain() steps through it in a browser page,
profile() times each op.  Nothing here imports graphviz or a browser until it is used.

(The functions shadow their modules' names: the module of draw() is
importlib.import_module("compgraph.viz.draw").)
"""
from .draw import GraphvizNotFound, draw, draw_model, graphviz_available
from .explain import explain
from .profile import profile

__all__ = ["draw", "draw_model", "explain", "profile", "GraphvizNotFound", "graphviz_available"]
