"""Modules that exist only to give PyTorch's import paths (torch.nn.modules.linear,
torch.utils.data.sampler, ...).

Each such module names what PyTorch keeps there and looks each name up, on first use, in
the compgraph modules that hold it, so the path works for every name compgraph has, today
or once it is added elsewhere, with no second list to keep in step.  A PyTorch name that
compgraph lacks raises AttributeError (ImportError for `from ... import`) saying so.
"""
import importlib
import sys


def reexport(module_name, names, sources, renames=None):
    """(__getattr__, __dir__) for module `module_name`, which re-exports `names`, each from
    the first module in `sources` that has it (or from renames[name] = (module, attribute))."""
    names = tuple(names)
    renames = renames or {}

    def find(name):
        if name in renames:
            where, attr = renames[name]
            return getattr(importlib.import_module(where), attr, None)
        for source in sources:
            value = getattr(importlib.import_module(source), name, None)
            if value is not None:
                return value
        return None

    def __getattr__(name):
        if name == "__all__":
            return [n for n in names if find(n) is not None]
        if name in names:
            value = find(name)
            if value is not None:
                sys.modules[module_name].__dict__[name] = value      # found once
                return value
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}: PyTorch "
                                 f"has it there, compgraph does not have it (yet)")
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(sys.modules[module_name].__dict__) | set(__getattr__("__all__")))

    return __getattr__, __dir__
