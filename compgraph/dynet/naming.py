"""Errors name the dialect function the user called.

An error raised while a dy function builds its nodes comes from the engine, which names its
own op ("mul: shapes (3,) and (4,) do not broadcast" for dy.cmult) or a helper of the dialect
("<listcomp>: expected an Expression").  The namer below, registered with compgraph.errors,
finds the outermost frame of this package -- the function the user's line called -- and
puts its name first: "cmult (mul): shapes (3,) and (4,) ...".  It runs only when an error
is made."""
import sys

from ..errors import add_namer

_OPERATORS = {"__add__": "+", "__radd__": "+", "__sub__": "-", "__rsub__": "-",
              "__mul__": "*", "__rmul__": "*", "__truediv__": "/", "__rtruediv__": "/",
              "__neg__": "unary -", "__pow__": "**"}
# x[...] is DyNet's pick or strided_select, whose messages name them and the index already
_AS_RAISED = {"_getitem", "__getitem__"}


def _called():
    """The name of the compgraph.dynet function the user's code called, or None."""
    f, name = sys._getframe(2), None
    while f is not None:
        mod = f.f_globals.get("__name__", "")
        if mod == "compgraph.dynet.checks":
            # checks.py's wrapper names the function it wraps; its checks name it themselves
            if f.f_code.co_name == "checked":
                name = f.f_locals["fn"].__name__
        elif mod.startswith("compgraph.dynet"):
            name = f.f_code.co_name
            if name == "__init__" and "self" in f.f_locals:
                name = type(f.f_locals["self"]).__name__      # a constructor: its class
        elif not mod.startswith("compgraph") and name is not None:
            if name in _AS_RAISED:
                return None
            return _OPERATORS.get(name, name.lstrip("_") or name)
        f = f.f_back
    return None


def _name(msg):
    fn = _called()
    if fn is None or msg.startswith(fn + ":") or msg.startswith(fn + " "):
        return msg
    head, sep, rest = msg.partition(": ")
    if not sep or " " in head or len(head) > 40:
        return f"{fn}: {msg}"                   # a message that names nothing
    if head.rstrip("()").rsplit(".", 1)[-1] == fn or head[:1].isupper():
        return msg                              # names the call already, or a class of DyNet's
    if head.startswith("<"):
        return f"{fn}: {rest}"                  # a comprehension's frame names nothing
    return f"{fn} ({head}): {rest}"             # what raised (an op, a dy function it called)


add_namer(_name)
