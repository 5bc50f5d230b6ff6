"""What each op's backward reads: which input values, and whether its own output.

A graph node keeps its value until backward only if some VJP will read it: its own VJPs
(through `ans`) or a consumer's (through that consumer's inputs).  Everything else can be
freed after the forward (compgraph/freeing.py); the VJPs that read only `x.shape` or
`x.dtype` still run on a freed value, which keeps those.

Most answers are derived from the VJP's code: a parameter the function never loads is not
read, and one loaded only to take `.shape`, `.dtype`, `.ndim` or `.size` is read for its
metadata only.  Anything the bytecode cannot settle (a parameter passed on to a helper,
`*inputs`, a partial) counts as read.  An op may declare it instead, in defop(...,
reads=...): per VJP (one entry for vjp_all and vjp_n) a collection of "ans" and input
positions.  tests/ops/test_reads.py runs every op's VJPs with the values said to be unread
replaced by stand-ins that raise on use, so a wrong answer fails there.
"""
import dis
import inspect
from functools import partial

META = frozenset({"shape", "dtype", "ndim", "size"})   # what a freed value still answers
# Instructions naming a function's local variables: any opname with one of these parts.
# Newer Pythons fuse loads (3.13's LOAD_FAST_LOAD_FAST, 3.14's LOAD_FAST_BORROW...), whose
# argval is a tuple of names; matching by part keeps them counted as reads.
_LOCAL_PARTS = ("FAST", "DEREF", "CLOSURE")
_PLAIN_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"})
ALL = None   # "reads everything": what an undecidable VJP is taken to read


def derive(fn, n_fixed):
    """(reads_ans, input positions read, reads every input from some position on) for a
    VJP fn(*fixed, ans, *inputs, **attrs) with n_fixed leading parameters (xp, g), from
    its bytecode; ALL where that cannot be told."""
    code = getattr(fn, "__code__", None)
    if code is None or isinstance(fn, partial):
        return ALL
    names = code.co_varnames[:code.co_argcount]
    star = code.co_varnames[code.co_argcount + code.co_kwonlyargcount] \
        if code.co_flags & inspect.CO_VARARGS else None
    if len(names) <= n_fixed:
        return ALL                       # ans inside *args: cannot tell
    used = set()
    instrs = list(dis.get_instructions(code))
    for j, ins in enumerate(instrs):
        if not any(part in ins.opname for part in _LOCAL_PARTS):
            continue
        nxt = instrs[j + 1] if j + 1 < len(instrs) else None
        if (ins.opname in _PLAIN_LOADS and nxt is not None and nxt.opname == "LOAD_ATTR"
                and nxt.argval in META):
            continue                     # x.shape: metadata only
        if isinstance(ins.argval, tuple):
            used.update(ins.argval)      # a fused load of several locals
        else:
            used.add(ins.argval)
    used.update(code.co_cellvars)        # captured by an inner function: assume read
    params = names[n_fixed:]
    reads_ans = params[0] in used
    inputs = frozenset(k for k, name in enumerate(params[1:]) if name in used)
    rest = len(params) - 1 if star is not None and star in used else None
    return reads_ans, inputs, rest


def _declared(entry):
    entry = tuple(entry)
    return "ans" in entry, frozenset(k for k in entry if k != "ans"), None


def per_vjp(op):
    """Per VJP (or the single vjp_all / vjp_n), what it reads: a list of derive() answers."""
    if op.reads is not None:
        return [_declared(e) for e in op.reads]
    if op.vjp_all is not None:
        return [derive(op.vjp_all, 2)]
    if op.vjp_n is not None:
        return [derive(op.vjp_n, 3)]
    return [derive(f, 2) if f is not None else (False, frozenset(), None) for f in op.vjps]


def needs(op, mask):
    """(input positions whose values the backward reads, whether it reads the output)
    for a node of `op` whose inputs require grad as in `mask` (a tuple of bools): only
    the VJPs of inputs that require grad ever run.  Cached on the op per mask."""
    cache = op._needs
    hit = cache.get(mask)
    if hit is not None:
        return hit
    entries = per_vjp(op)
    n = len(mask)
    if op.vjp_all is not None or op.vjp_n is not None:
        active = entries if any(mask) else []
    else:
        active = [e for e, m in zip(entries, mask) if m]
    reads_ans, inputs = False, set()
    for e in active:
        if e is ALL:
            reads_ans, inputs = True, set(range(n))
            break
        a, ins, rest = e
        reads_ans = reads_ans or a
        inputs.update(k for k in ins if k < n)
        if rest is not None:
            inputs.update(range(rest, n))
    hit = cache[mask] = (frozenset(inputs), reads_ans)
    return hit
