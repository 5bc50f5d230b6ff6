"""DyNet's model files (its TextFileSaver / TextFileLoader format), read and written.

Each parameter is a header line and one or two lines of numbers:

    #Parameter# /W {2,3} 194 FULL_GRAD
    -3.00000012e-01 +1.28571436e-01 ... (the values, column-major, "%+.8e " each)
    +1.00000000e+00 ...                  (the gradient: only with FULL_GRAD)
    #LookupParameter# /_0 {2,3} 97 ZERO_GRAD
    ...                                  (a table's dims are (*row dims, rows), as DyNet's)

The number after the dims is the byte count of the lines that follow (16 bytes a value
plus a newline, per line); DyNet skips entries with it, so it has to be right.  Files from
real DyNet load here and files written here load in real DyNet (tests/dynet/reference).
Reading is plain text parsing: nothing in a file is executed.
"""
import numpy as np

from ..errors import ArgumentValueError, CheckpointError, MissingFileError, MissingKeyError, ShapeError

_F32 = np.float32
_KINDS = {"#Parameter#": "parameter", "#LookupParameter#": "lookup table"}


# --- layouts: compgraph's arrays <-> DyNet's memory order -------------------------------------

def _is_lookup(p):
    return hasattr(p, "_touched")


def _dyn_dims(p):
    s = p._value.shape
    return tuple(s[1:]) + (s[0],) if _is_lookup(p) else tuple(s)


def _flat(p, arr):
    """arr (of p's shape) in DyNet's memory order."""
    if _is_lookup(p):
        arr = np.moveaxis(arr, 0, -1)
    return arr.reshape(-1, order="F")


def _unflat(shape, lookup, values):
    if lookup:
        dyn = tuple(shape[1:]) + (shape[0],)
        return np.moveaxis(values.reshape(dyn, order="F"), -1, 0)
    return values.reshape(shape, order="F")


def _shape_of(dims, lookup):
    """compgraph's shape from DyNet's dims."""
    return (dims[-1],) + tuple(dims[:-1]) if lookup else tuple(dims)


# --- writing ------------------------------------------------------------------------------------

def _line(values):
    return "".join("%+.8e " % v for v in values.tolist()) + "\n"


def save(fname, entries, append=False):
    """entries: (key, Parameters or LookupParameters) pairs, written in that order."""
    for key, _ in entries:
        if not key or " " in key or "#" in key:
            raise ArgumentValueError(f"save: key could not be empty or include ' ' or '#': {key!r}")
    out = []
    for key, p in entries:
        values = _line(_flat(p, p._value))
        full = p._has_grad()
        tag = "#LookupParameter#" if _is_lookup(p) else "#Parameter#"
        dims = "{" + ",".join(str(d) for d in _dyn_dims(p)) + "}"
        size = len(values) * (2 if full else 1)
        out.append(f"{tag} {key} {dims} {size} {'FULL_GRAD' if full else 'ZERO_GRAD'}\n")
        out.append(values)
        if full:
            out.append(_line(_flat(p, p._grad)))
    with open(fname, "a" if append else "w", newline="\n") as fh:
        fh.write("".join(out))


# --- reading ------------------------------------------------------------------------------------

class _Entry:
    __slots__ = ("kind", "name", "dims", "values", "grads")


def _numbers(line, n, fname, name):
    try:
        v = np.array(line.split(), dtype=np.float64)
    except ValueError:
        raise CheckpointError(f"{fname}: the values of {name} are not numbers") from None
    if v.size != n:
        raise CheckpointError(f"{fname}: {name} has dims of {n} values, but its line holds {v.size}")
    return v.astype(_F32)


def read(fname):
    """Every entry of a DyNet model file, in order."""
    try:
        with open(fname, newline="") as fh:
            lines = fh.read().split("\n")
    except FileNotFoundError:
        raise MissingFileError(f"Could not read model from {fname}: no such file") from None
    entries, i = [], 0
    while i < len(lines):
        head = lines[i].rstrip("\r")
        i += 1
        if not head.strip():
            continue
        parts = head.split()
        if len(parts) < 4 or parts[0] not in _KINDS:
            raise CheckpointError(f"{fname}: bad parameter specification in model: {head[:80]!r}")
        e = _Entry()
        e.kind, e.name = parts[0], parts[1]
        body = parts[2].split("X")[0]
        try:
            e.dims = tuple(int(d) for d in body.strip("{}").split(",") if d)
        except ValueError:
            raise CheckpointError(f"{fname}: bad dims {parts[2]!r} of {e.name}") from None
        n = int(np.prod(e.dims)) if e.dims else 1
        if i >= len(lines):
            raise CheckpointError(f"{fname}: {e.name} has no values (the file is cut short)")
        e.values = _numbers(lines[i], n, fname, e.name)
        i += 1
        e.grads = None
        if len(parts) < 5 or parts[4] != "ZERO_GRAD":      # FULL_GRAD, or an old file's line
            if i >= len(lines):
                raise CheckpointError(f"{fname}: {e.name} has no gradient line (cut short)")
            e.grads = _numbers(lines[i], n, fname, e.name)
            i += 1
        entries.append(e)
    return entries


def _fits(p, e):
    return (e.kind == "#LookupParameter#") == _is_lookup(p) and e.dims == _dyn_dims(p)


def _assign(pairs):
    for p, e in pairs:
        lookup = _is_lookup(p)
        p._assign(_unflat(p._value.shape, lookup, e.values))
        p._zero_grad()
        if e.grads is not None:
            p._grad[...] = _unflat(p._value.shape, lookup, e.grads)
            if lookup:
                p._all_touched = True       # a trainer's next update uses every row


def _what(p):
    return f"{p._name} is a {_KINDS['#LookupParameter#' if _is_lookup(p) else '#Parameter#']} " \
           f"of shape {p._value.shape}"


def populate_collection(fname, pc, key=""):
    """DyNet's populate: the file's parameters (under key) fill pc's parameters in order,
    its lookup tables pc's tables; checked whole before any value is copied."""
    prefix = key + ("" if not key or key.endswith("/") else "/")
    entries = [e for e in read(fname) if not key or e.name.startswith(prefix)]
    want = {"#Parameter#": pc.parameters_list(), "#LookupParameter#": pc.lookup_parameters_list()}
    taken = {"#Parameter#": 0, "#LookupParameter#": 0}
    pairs = []
    for e in entries:
        ps, k = want[e.kind], taken[e.kind]
        got = f"{e.name} in {fname} is a {_KINDS[e.kind]} of shape {_shape_of(e.dims, e.kind != '#Parameter#')}"
        if k >= len(ps):
            left = [p for p in pc._all() if p not in [q for q, _ in pairs]]
            nxt = f" (the next one to fill: {_what(left[0])})" if left else ""
            raise ShapeError(f"populate: {got}, but this collection has no more "
                             f"{_KINDS[e.kind]}s to fill{nxt}; nothing was loaded")
        p = ps[k]
        taken[e.kind] = k + 1
        if not _fits(p, e):
            raise ShapeError(f"populate: {got}, but {_what(p)}; nothing was loaded")
        pairs.append((p, e))
    missing = [p for kind, ps in want.items() for p in ps[taken[kind]:]]
    if missing:
        raise ShapeError(f"populate: {fname} holds {len(entries)} parameters"
                         f"{f' under {key!r}' if key else ''}, this collection has "
                         f"{len(pairs) + len(missing)} ({_what(missing[0])}, left without a "
                         f"value); nothing was loaded")
    _assign(pairs)


def _find(fname, key, lookup, fn):
    if not key:
        raise ArgumentValueError(f"{fn}: requires a non-empty key (the parameter's full name, "
                                 f"such as '/_0')")
    tag = "#LookupParameter#" if lookup else "#Parameter#"
    for e in read(fname):
        if e.kind == tag and e.name == key:
            return e
    raise MissingKeyError(f"{fn}: could not find the {_KINDS[tag]} {key!r} in the model file {fname}")


def populate_one(fname, p, key):
    e = _find(fname, key, _is_lookup(p), "populate")
    if not _fits(p, e):
        raise ShapeError(f"populate: {key} in {fname} has shape "
                         f"{_shape_of(e.dims, _is_lookup(p))}, but {_what(p)}")
    _assign([(p, e)])


def load_one(fname, pc, key, cls):
    lookup = cls.__name__ == "LookupParameters"
    e = _find(fname, key, lookup, "load_lookup_param" if lookup else "load_param")
    shape = _shape_of(e.dims, lookup)
    p = (pc.add_lookup_parameters(shape, init=0.0) if lookup else pc.add_parameters(shape, init=0.0))
    p._name = e.name                    # DyNet keeps the saved name
    _assign([(p, e)])
    return p
