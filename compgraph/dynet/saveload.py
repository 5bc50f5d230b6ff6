"""dy.save / dy.load: DyNet's high-level saving of parameters, lookup tables and builders.

    dy.save("model", [E, builder, W])      # writes model.data and model.meta
    E2, builder2, W2 = dy.load("model", pc)

As DyNet's (_dynet.pyx): `.data` is a DyNet model file (textfile.py) holding each object's
parameters under their names; `.meta` is a sequence of pickles, one per object:
("Parameters", name), ("LookupParameters", name), or (class, spec, collection name) for a
builder, whose class `from_spec(spec, model)` makes it again.  Files are interchangeable
with real DyNet's: builder classes are written as `_dynet.<Name>`, DyNet's module.

Reading a .meta file executes nothing: the pickles are read by an unpickler whose every
global is an inert name, mapped afterwards to this dialect's builder classes (or to a class
of the user's program that is already loaded, as DyNet's own load would use it).
"""
import io
import pickle
import struct
import sys

import numpy as np

from ..errors import ArgumentError, CheckpointError, MissingFileError
from .params import LookupParameters, Parameters

_DYNET_MODULE = "_dynet"


def _builders():
    from . import rnn
    return {c.__name__: c for c in (rnn.SimpleRNNBuilder, rnn.GRUBuilder, rnn.CoupledLSTMBuilder,
                                     rnn.VanillaLSTMBuilder, rnn.SparseLSTMBuilder,
                                     rnn.CompactVanillaLSTMBuilder, rnn.FastLSTMBuilder,
                                     rnn.BiRNNBuilder)}


# --- writing: a small pickle (protocol 2) of tuples, numbers, strings and class names ---------

def _global(cls):
    if _builders().get(cls.__name__) is cls:
        return _DYNET_MODULE, cls.__name__
    return cls.__module__, cls.__qualname__


def _emit(o, out):
    if o is None:
        out.append(b"N")
    elif o is True or o is False or isinstance(o, np.bool_):
        out.append(b"\x88" if o else b"\x89")
    elif isinstance(o, (int, np.integer)):
        o = int(o)
        if -2 ** 31 <= o < 2 ** 31:
            out.append(b"J" + struct.pack("<i", o))
        else:
            raw = o.to_bytes((o.bit_length() + 8) // 8, "little", signed=True)
            out.append(b"\x8a" + bytes([len(raw)]) + raw)
    elif isinstance(o, (float, np.floating)):
        out.append(b"G" + struct.pack(">d", float(o)))
    elif isinstance(o, str):
        raw = o.encode("utf-8")
        out.append(b"X" + struct.pack("<I", len(raw)) + raw)
    elif isinstance(o, (tuple, list)):
        out.append(b"(" if isinstance(o, tuple) else b"](")
        for x in o:
            _emit(x, out)
        out.append(b"t" if isinstance(o, tuple) else b"e")
    elif isinstance(o, type):
        module, name = _global(o)
        out.append(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
    else:
        raise ArgumentError(f"dy.save: a builder's spec may hold numbers, strings, tuples, "
                            f"lists and classes, not {type(o).__name__} ({o!r:.60})")


def _pickle(o):
    out = [b"\x80\x02"]
    _emit(o, out)
    out.append(b".")
    return b"".join(out)


def save(basename, objects):
    """Write basename.data (the values) and basename.meta (what each object is)."""
    data, meta = basename + ".data", []
    open(data, "w").close()
    for obj in objects:
        if isinstance(obj, Parameters):
            meta.append(_pickle(("Parameters", obj.name())))
            obj.save(data, append=True)
        elif isinstance(obj, LookupParameters):
            meta.append(_pickle(("LookupParameters", obj.name())))
            obj.save(data, append=True)
        else:
            try:
                spec, pc = obj.spec, obj.param_collection()
            except AttributeError:
                raise ArgumentError(f"dy.save: {type(obj).__name__} cannot be saved: it needs a "
                                    f".spec, a from_spec(spec, model) and a param_collection() "
                                    f"(as DyNet's builders)") from None
            meta.append(_pickle((type(obj), spec, pc.name())))
            pc.save(data, append=True)
    with open(basename + ".meta", "wb") as fh:
        fh.write(b"".join(meta))


# --- reading -----------------------------------------------------------------------------------

class _Name:
    """A global named in a .meta pickle: only a name, nothing is imported or called."""
    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        return _Name(module, name)


def _resolve(o, fname):
    if isinstance(o, tuple):
        return tuple(_resolve(x, fname) for x in o)
    if isinstance(o, list):
        return [_resolve(x, fname) for x in o]
    if isinstance(o, _Name):
        if o.module in (_DYNET_MODULE, "dynet"):
            cls = _builders().get(o.name)
        else:            # a class of the program itself, only if it is loaded already
            mod = sys.modules.get(o.module)
            cls = getattr(mod, o.name, None) if mod is not None else None
        if not isinstance(cls, type) or not hasattr(cls, "from_spec"):
            raise CheckpointError(f"dy.load: {fname} names {o.module}.{o.name}, which is not a "
                                  f"builder this dialect knows (or a loaded class with "
                                  f"from_spec)")
        return cls
    return o


def _records(fname):
    try:
        with open(fname, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise MissingFileError(f"dy.load: no such file {fname}") from None
    stream = io.BytesIO(raw)
    while stream.tell() < len(raw):
        try:
            rec = _Unpickler(stream).load()
        except Exception as e:      # anything a damaged or foreign pickle raises
            raise CheckpointError(f"dy.load: {fname} is not a DyNet .meta file (at byte "
                                  f"{stream.tell()}: {type(e).__name__}: {e})") from None
        yield _resolve(rec, fname)


def load_generator(basename, params):
    data = basename + ".data"
    for rec in _records(basename + ".meta"):
        if not isinstance(rec, tuple) or not rec:
            raise CheckpointError(f"dy.load: {basename}.meta holds {rec!r:.60}, not a record")
        if rec[0] == "Parameters" and len(rec) == 2:
            yield params.load_param(data, rec[1])
        elif rec[0] == "LookupParameters" and len(rec) == 2:
            yield params.load_lookup_param(data, rec[1])
        elif len(rec) == 3 and isinstance(rec[0], type):
            cls, spec, name = rec
            obj = cls.from_spec(spec, params)
            obj.param_collection().populate(data, name)
            yield obj
        else:
            raise CheckpointError(f"dy.load: {basename}.meta holds {rec!r:.60}, not a record "
                                  f"of a parameter or a builder")


def load(basename, params):
    """The objects saved by save(basename, ...), made again in the collection `params`."""
    return list(load_generator(basename, params))
