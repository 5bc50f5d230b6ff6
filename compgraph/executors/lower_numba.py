"""compile(fn, backend="numba"): a whole SGD training step lowered to one native function.

The pattern is the NumPy fast path's (lower_numpy.sgd_step: zero_grad, a forward to a
one-element loss, its backward, a plain SGD step).  Instead of NumPy calls the plan is
written as the source of one `numba.njit(cache=True)` kernel:

* elementwise ops, forward and VJP, become statements in explicit loops; consecutive
  statements over the same shape share one loop nest (a chain is fused into one pass);
* linear's products go through np.dot (BLAS) except tiny ones (explicit loops) and outer
  products (batch 1: a loop, where a k=1 GEMM is several times slower);
* each parameter's SGD update p -= lr * g is a statement in the loop that writes its
  gradient into the .grad buffer, emitted once nothing else reads the parameter; a batch's
  weight gradient is written by the BLAS product itself into the .grad buffer;
* the loops vectorize: float division has NumPy's semantics (error_model="numpy": inf and
  nan, no check per division) and a float32 tanh is plain arithmetic (tanh32 below), where
  math.tanh would be one libm call per element;
* the kernel's temporaries are slices of one scratch buffer made with the plan (an
  np.empty per temporary per call was a tenth of xor's step), and a replay that passes the
  guard calls the compiled signature's entry point itself, not Numba's dispatcher, which
  would type every argument again: the guard pins those types (see wrapper()).

Shapes, dtypes and folded constants are literals in the source, so one source is one
signature; the source is written to $XDG_CACHE_HOME/compgraph/numba/<hash>.py and imported
from there, since Numba's on-disk cache (cache=True) keys on a real file: a second process
with the same step loads the machine code instead of compiling it.

Anything else in the step (another op, broadcasting other than by a scalar, mixed float
dtypes, momentum) raises UnsupportedError naming it: asking for the native backend and
silently getting the NumPy one would make every timing a lie.  (An optimizer switched to
momentum after compiling makes the guard step aside to the general NumPy path, which
computes the same thing.)
"""
import hashlib
import importlib.util
import math
import os
import sys

import numpy as np

from ..errors import UnsupportedError
from ..tensor import _make
from .lower_numpy import folded_constants, sgd_step

JIT_EXTRA = "pip install 'compgraph[jit]'"
_TINY = 256          # weight elements: below this a product is explicit loops, not BLAS
_COVERED = ("linear", "sigmoid", "tanh", "exp", "log", "add", "sub", "mul", "div", "neg",
            "pow (by a constant)", "sum (of everything)", "cross_entropy (mean, class indices)")
_modules = {}        # source hash -> the imported kernel

# tanh of a float32 in plain arithmetic, which LLVM vectorizes (math.tanh is a libm call per
# element: ~50x slower than NumPy's SIMD tanh on a 64x256 batch, ~10x slower than this).
# In float64: a = min(|x|, 10) (tanh 10 rounds to 1 in float32); u = e^(a/16) - 1 by its
# Taylor series to the 11th power (relative error < 1e-11 for a/16 <= 0.625); five times
# u <- u (u + 2), which is e^(2y) - 1 from e^y - 1, so u = e^(2a) - 1 with its relative
# accuracy kept (no cancellation near 0, where u ~ 2a); tanh a = u / (u + 2); the sign
# (and -0) from x, NaN passed through.  Rounded to float32 it equalled tanh computed in
# float64 and rounded, on 24 million samples over 1e-6..10 and the special values (NumPy's
# own float32 tanh is 1 ulp off on ~20% of them).  Written into the kernel's file, so that
# a change here changes the source hash and Numba's disk cache cannot serve a stale kernel.
_TANH32 = "\n".join(
    ["@numba.njit(inline='always', error_model='numpy')", "def tanh32(x):",
     "    xd = np.float64(x)", "    a = -xd if xd < 0 else xd", "    a = a if a < 10.0 else 10.0",
     "    y = a * 0.0625", f"    u = {1 / math.factorial(11)!r}"]
    + [f"    u = u * y + {1 / math.factorial(k)!r}" for k in range(10, 0, -1)]
    + ["    u = u * y"] + ["    u = u * (u + 2.0)"] * 5
    + ["    return math.copysign(u / (u + 2.0), xd) if xd == xd else xd", "", ""])


def require_numba():
    """The numba module, or a clear error naming the extra that installs it."""
    try:
        import numba
    except ImportError:
        raise UnsupportedError("compile(backend='numba') needs Numba, an optional extra: "
                               f"{JIT_EXTRA} (or use backend='numpy')") from None
    return numba


def _unsupported(why):
    raise UnsupportedError(f"compile(backend='numba'): {why}; the Numba lowering covers whole "
                           "SGD training steps (zero_grad, forward, loss.backward(), "
                           "optimizer.step() of a plain SGD) made of " + ", ".join(_COVERED)
                           + "; use backend='numpy' for this function")


def lower_step(fn_items, out, names, arg_tensors, externals, trace_mark):
    """(fast step function, kernel source) for this trace; UnsupportedError outside it."""
    require_numba()
    found = sgd_step(fn_items, out)
    if found is None:
        _unsupported("this function is not one such training step")
    nodes, opt = found
    k = _Kernel(nodes, out, names, arg_tensors, externals, trace_mark, opt)
    return k.build()


def _idx(shape):
    return ", ".join(f"i{d}" for d in range(len(shape)))


class _Kernel:
    def __init__(self, nodes, out, names, args, externals, trace_mark, opt):
        self.nodes, self.out, self.names, self.opt = nodes, out, dict(names), opt
        self.args, self.externals = args, externals
        self.const = folded_constants(externals, trace_mark)
        self.dt = out.dtype
        if self.dt.kind != "f":
            _unsupported(f"the loss has dtype {self.dt}, not a float")
        self.lines, self.allocs = [], []
        self.helpers = set()              # source of the jitted helpers the kernel calls
        self.group = None                 # (shape, statements) of the open loop nest
        self.n = 0

    # --- writing -------------------------------------------------------------------------
    def new(self, shape=None):
        """A fresh variable; with a shape, an array allocated at the kernel's top."""
        name = f"w{self.n}"
        self.n += 1
        if shape is not None:
            self.alloc(name, shape)
        return name

    def alloc(self, name, shape):
        """An array variable of the kernel's dtype, written before it is read on every call:
        a slice of the scratch buffer S (allocated once, with the plan), not an np.empty per
        call (Numba's allocation is ~25 ns each: on xor's eleven, a tenth of the step)."""
        self.allocs.append((name, tuple(shape)))

    def flush(self):
        if self.group is None:
            return
        shape, stmts = self.group
        self.group = None
        pad = "    "
        for d, n in enumerate(shape):
            self.lines.append(pad + f"for i{d} in range({n}):")
            pad += "    "
        self.lines += [pad + s for s in stmts]

    def loop(self, shape, stmt):
        """A statement at index (i0, i1, ...) of shape; fused with the open nest if it has
        the same shape (all statements are pointwise, so any order inside one pass holds)."""
        shape = tuple(shape)
        if not shape:
            return self.emit(stmt)
        if self.group is None or self.group[0] != shape:
            self.flush()
            self.group = (shape, [])
        self.group[1].append(stmt)

    def emit(self, *lines):
        self.flush()
        self.lines += ["    " + line for line in lines]

    def val(self, x, shape):
        """x's value at the loop index of shape (a constant, a scalar or an element)."""
        if id(x) in self.const:
            return repr(float(self.const[id(x)]))
        name = self.names[id(x)]
        if x.shape == ():
            if self.is_array_input(x):
                _unsupported(f"a 0-d tensor made outside the step ({name}) is read")
            return name
        if tuple(x.shape) != tuple(shape):
            _unsupported(f"broadcasting shape {x.shape} to {tuple(shape)}")
        return f"{name}[{_idx(shape)}]"

    def is_array_input(self, x):
        return id(x) not in self.const and self.names[id(x)][0] in "ae"

    # --- forward -------------------------------------------------------------------------
    def check_dtypes(self, t):
        for j, x in enumerate(t.inputs):
            if t.op.name == "cross_entropy" and j == 1:
                if x.dtype.kind not in "iu" or x.requires_grad:
                    _unsupported(f"cross_entropy with targets of dtype {x.dtype}")
            elif id(x) not in self.const and x.dtype != self.dt:
                _unsupported(f"{t.op.name} mixes dtypes {x.dtype} and {self.dt}")

    def forward(self, t):
        op, ins, v, shape = t.op.name, t.inputs, self.names[id(t)], tuple(t.shape)
        self.check_dtypes(t)
        if op in _ELEMENTWISE and not t.attrs:
            if op == "pow" and id(ins[1]) not in self.const:
                _unsupported("pow with a tensor exponent")
            if all(id(x) in self.const for x in ins):
                _unsupported(f"{op} of constants only")
            expr = _ELEMENTWISE[op](*[self.val(x, shape) for x in ins])
            if op == "tanh" and self.dt == np.float32:
                expr = f"tanh32({self.val(ins[0], shape)})"
                self.helpers.add(_TANH32)
            if shape == ():
                return self.emit(f"{v} = {expr}")
            self.alloc(v, shape)
            return self.loop(shape, f"{v}[{_idx(shape)}] = {expr}")
        if op == "linear" and not t.attrs and len(ins) == 3 and ins[0].ndim in (1, 2) \
                and ins[1].ndim == 2 and ins[2].ndim == 1:
            return self.linear(t)
        if op == "sum" and t.attrs == {"axis": None, "keepdims": False} and ins[0].shape != ():
            self.emit(f"{v} = 0.0")
            self.loop(ins[0].shape, f"{v} += {self.val(ins[0], ins[0].shape)}")
            return self.flush()            # the sum is read only after its loop
        if op == "cross_entropy" and self.plain_xent(t):
            return self.xent(t)
        detail = f" with {t.attrs}" if t.attrs else ""
        _unsupported(f"the op {op!r}{detail} (operand shapes "
                     + ", ".join(str(x.shape) for x in ins) + ") is not covered")

    def linear(self, t):
        x, W, b = (self.names[id(y)] for y in t.inputs)
        v, (m, n) = self.names[id(t)], t.inputs[1].shape
        if t.inputs[0].ndim == 1:
            if m * n <= _TINY:
                self.alloc(v, (m,))
                self.emit(f"for i in range({m}):", f"    s = {b}[i]",
                          f"    for j in range({n}):", f"        s += {W}[i, j] * {x}[j]",
                          f"    {v}[i] = s")
            else:
                self.emit(f"{v} = np.dot({W}, {x})")
                self.loop((m,), f"{v}[i0] += {b}[i0]")
            return
        rows = t.inputs[0].shape[0]
        if m * n <= _TINY:
            self.alloc(v, (rows, m))
            self.emit(f"for r in range({rows}):", f"    for i in range({m}):",
                      f"        s = {b}[i]", f"        for j in range({n}):",
                      f"            s += {W}[i, j] * {x}[r, j]", f"        {v}[r, i] = s")
        elif rows == 1:                    # a matrix-vector product, not a 1-row GEMM
            self.emit(f"{v} = np.dot({W}, {x}[0]).reshape(1, {m})")
            self.loop((1, m), f"{v}[i0, i1] += {b}[i1]")
        else:
            self.emit(f"{v} = np.dot({x}, {W}.T)")
            self.loop((rows, m), f"{v}[i0, i1] += {b}[i1]")

    def plain_xent(self, t):
        logits, target = t.inputs
        return (t.attrs.get("reduction", "mean") == "mean" and len(t.attrs) <= 1
                and logits.ndim == 2 and target.ndim == 1 and target.dtype.kind in "iu"
                and not target.requires_grad and id(target) not in self.const)

    def xent(self, t):
        z, k = (self.names[id(y)] for y in t.inputs)
        v, (rows, c) = self.names[id(t)], t.inputs[0].shape
        self.alloc(f"{v}_p", (rows, c))
        # every class index is checked before anything is written (NumPy would wrap
        # negative ones, Numba would read outside the row)
        self.emit(f"for r in range({rows}):",
                  f"    if {k}[r] < 0 or {k}[r] >= {c}:",
                  f"        raise BoundsError('cross_entropy: a class index is out of range "
                  f"for {c} classes (valid: 0 to {c - 1})')",
                  f"{v} = 0.0",
                  f"for r in range({rows}):",
                  f"    m = {z}[r, 0]",
                  f"    for j in range(1, {c}):",
                  f"        m = max(m, {z}[r, j])",
                  f"    s = 0.0",
                  f"    for j in range({c}):",
                  f"        e = math.exp({z}[r, j] - m)",
                  f"        {v}_p[r, j] = e",
                  f"        s += e",
                  f"    for j in range({c}):",
                  f"        {v}_p[r, j] /= s",
                  f"    {v} += math.log(s) + m - {z}[r, {k}[r]]",
                  f"{v} /= {rows}")

    # --- backward ------------------------------------------------------------------------
    # A gradient is (kind, name, owned): kind "arr", an array of the tensor's shape, or
    # "sc", a scalar (for a 0-d tensor, or spread over the shape); owned: this name may be
    # written in place (not shared with another tensor's gradient).
    def g(self, x, shape):
        kind, name, _ = self.grads[id(x)]
        return name if kind == "sc" else f"{name}[{_idx(shape)}]"

    def target(self, x):
        """The array a first gradient of x is written into: its .grad buffer for a leaf."""
        j = self.leaf_slot.get(id(x))
        return f"G{j}" if j is not None else self.new(x.shape)

    def add_grad(self, x, expr, shape):
        """Add the elementwise expression (at the index of shape) to x's gradient."""
        xs = tuple(x.shape)
        if xs != tuple(shape):             # x is 0-d, spread over shape: a sum
            acc = self.new()
            self.emit(f"{acc} = 0.0")
            self.loop(shape, f"{acc} += {expr}")
            self.flush()
            expr, shape = acc, ()
        have = self.grads.get(id(x))
        if xs == ():
            name = have[1] if have and have[2] else self.new()
            self.emit(f"{name} = {have[1]} + {expr}" if have else f"{name} = {expr}")
            self.grads[id(x)] = ("sc", name, True)
            return
        i = _idx(xs)
        if have is None:
            name = self.target(x)
            self.loop(xs, f"{name}[{i}] = {expr}")
        elif have[0] == "arr" and have[2]:
            name = have[1]
            self.loop(xs, f"{name}[{i}] += {expr}")
        else:
            name = self.target(x)
            self.loop(xs, f"{name}[{i}] = {self.g(x, xs)} + {expr}")
        self.grads[id(x)] = ("arr", name, True)

    def share_grad(self, x, t):
        """x's gradient is t's, unchanged (add; sub's first operand; sum's spread)."""
        if id(x) in self.grads or (tuple(x.shape) != tuple(t.shape) and t.shape != ()):
            # a scalar gradient (t 0-d) reads the same at every index of x
            return self.add_grad(x, self.g(t, t.shape), x.shape if t.shape == () else t.shape)
        kind, name, _ = self.grads[id(t)]
        self.grads[id(x)] = (kind, name, False)

    def array_grad(self, t):
        """t's gradient as an array variable (a scalar spread is written out)."""
        kind, name, _ = self.grads[id(t)]
        if kind == "arr":
            return name
        arr = self.new(t.shape)
        self.loop(t.shape, f"{arr}[{_idx(t.shape)}] = {name}")
        self.grads[id(t)] = ("arr", arr, True)
        return arr

    def vjp(self, t, i):
        op, ins, shape = t.op.name, t.inputs, tuple(t.shape)
        x = ins[i]
        if op in _ELEMENTWISE:
            if op == "add" or op == "sub" and i == 0:
                return self.share_grad(x, t)
            g, a = self.g(t, shape), self.val(t, shape)
            xs = [self.val(y, shape) for y in ins]
            expr = {"sub": lambda: f"-{g}",
                    "mul": lambda: f"{g} * {xs[1 - i]}",
                    "div": lambda: f"{g} / {xs[1]}" if i == 0 else f"-({g} * {a} / {xs[1]})",
                    "neg": lambda: f"-{g}",
                    "pow": lambda: (f"{g} * 2.0 * {xs[0]}" if self.const[id(ins[1])] == 2
                                    else f"{g} * {xs[1]} * {xs[0]} ** ({xs[1]} - 1.0)"),
                    "sigmoid": lambda: f"{g} * {a} * (1.0 - {a})",
                    "tanh": lambda: f"{g} * (1.0 - {a} * {a})",
                    "exp": lambda: f"{g} * {a}",
                    "log": lambda: f"{g} / {xs[0]}"}[op]()
            return self.add_grad(x, f"({expr})", shape)
        if op == "sum":
            return self.share_grad(x, t)
        if op == "cross_entropy":
            v, k = self.names[id(t)], self.names[id(ins[1])]
            rows = x.shape[0]
            g = self.g(t, ())
            return self.add_grad(x, f"({v}_p[i0, i1] - (1.0 if i1 == {k}[i0] else 0.0)) * "
                                    f"({g} / {rows})", x.shape)
        return self.linear_vjp(t, i)

    def linear_vjp(self, t, i):
        x, W, b = t.inputs
        xn, Wn = self.names[id(x)], self.names[id(W)]
        (m, n), g = W.shape, self.array_grad(t)
        if i == 0:                           # g @ W
            if x.ndim == 1 and m * n <= _TINY:
                tmp = self.new((n,))
                self.emit(f"for j in range({n}):", "    s = 0.0", f"    for i in range({m}):",
                          f"        s += {g}[i] * {Wn}[i, j]", f"    {tmp}[j] = s")
            elif x.ndim == 1:
                tmp = self.new()
                self.emit(f"{tmp} = np.dot({g}, {Wn})")
            elif x.shape[0] == 1:
                tmp = self.new()
                self.emit(f"{tmp} = np.dot({g}[0], {Wn}).reshape(1, {n})")
            else:
                tmp = self.new()
                self.emit(f"{tmp} = np.dot({g}, {Wn})")
            return self._take(x, tmp)
        if i == 2:                           # g summed over the batch
            if x.ndim == 1:
                return self.add_grad(b, f"{g}[i0]", (m,))
            if x.shape[0] == 1:
                return self.add_grad(b, f"{g}[0, i0]", (m,))
            tmp = self.new((m,))
            self.loop((m,), f"{tmp}[i0] = 0.0")
            self.loop(t.shape, f"{tmp}[i1] += {g}[i0, i1]")
            return self._take(b, tmp)
        if x.ndim == 1:                      # an outer product, with the update fused in
            return self.add_grad(W, f"{g}[i0] * {xn}[i1]", (m, n))
        if x.shape[0] == 1:
            return self.add_grad(W, f"{g}[0, i0] * {xn}[0, i1]", (m, n))
        j = self.leaf_slot.get(id(W))
        if j is not None and id(W) not in self.grads and W._value.flags.c_contiguous:
            # straight into the .grad buffer (C-ordered like W): no 800 KB product to
            # allocate and copy on every call
            self.emit(f"np.dot({g}.T, {xn}, G{j})")
            self.grads[id(W)] = ("arr", f"G{j}", True)
            return
        tmp = self.new()
        self.emit(f"{tmp} = np.dot({g}.T, {xn})")
        return self._take(W, tmp)

    def _take(self, x, arr):
        """x's gradient gets the fresh array arr (made for it: owned)."""
        if id(x) in self.grads:
            return self.add_grad(x, f"{arr}[{_idx(x.shape)}]", x.shape)
        self.grads[id(x)] = ("arr", arr, True)

    def finish_leaf(self, x):
        """x's gradient into its .grad buffer, then SGD's update: nothing reads x after."""
        j, p, i = self.leaf_slot[id(x)], self.names[id(x)], _idx(x.shape)
        if self.grads.get(id(x)) is None:
            _unsupported(f"the parameter {p} gets no gradient")
        if self.grads[id(x)][:2] != ("arr", f"G{j}"):
            self.loop(x.shape, f"G{j}[{i}] = {self.g(x, x.shape)}")
        self.loop(x.shape, f"{p}[{i}] -= lr{self.group_of[id(x)]} * G{j}[{i}]")

    def backward(self):
        consumers = {}
        for t in self.nodes:
            for x in t.inputs:
                consumers[id(x)] = consumers.get(id(x), 0) + 1
        self.grads = {id(self.out): ("sc", "1.0", False) if self.out.shape == () else None}
        if self.out.shape != ():
            name = self.new(self.out.shape)
            self.loop(self.out.shape, f"{name}[{_idx(self.out.shape)}] = 1.0")
            self.grads[id(self.out)] = ("arr", name, True)
        for t in reversed(self.nodes):
            if id(t) not in self.grads or not t.requires_grad:
                continue
            order = [0, 2, 1] if t.op.name == "linear" else range(len(t.inputs))
            done = []
            for i in order:
                x = t.inputs[i]
                if x.requires_grad:
                    self.vjp(t, i)
                    done.append(x)
            # a parameter is updated once its last reader is done; the one written last
            # first, so its update joins the loop that wrote its gradient
            for x in reversed(done):
                consumers[id(x)] -= 1
                if id(x) in self.leaf_slot and consumers[id(x)] == 0:
                    self.finish_leaf(x)

    # --- the whole thing -----------------------------------------------------------------
    def build(self):
        opt = self.opt
        params = [p for g in opt.param_groups for p in g["params"]]
        pids = {id(p) for p in params}
        if any(x.requires_grad for x in self.args):
            _unsupported("a tensor argument requires grad (parameters are read, not passed)")
        leaves = [x for x in self.externals if x.requires_grad]
        if any(id(x) not in pids for x in leaves):
            _unsupported("a tensor that requires grad is not one of the optimizer's parameters")
        if len(pids) != len(params):
            _unsupported("a parameter is listed twice in the optimizer")
        for x in leaves:
            if x.dtype != self.dt or x.shape == ():
                _unsupported(f"a parameter of shape {x.shape} and dtype {x.dtype}")
        self.leaf_slot = {id(x): j for j, x in enumerate(leaves)}
        self.group_of = {id(p): gi for gi, g in enumerate(opt.param_groups) for p in g["params"]}
        for t in self.nodes:
            self.forward(t)
        self.backward()
        self.flush()
        missing = [x for x in leaves if id(x) not in self.grads]
        if missing:
            _unsupported("a parameter gets no gradient")
        ins = [f"a{k}" for k in range(len(self.args))]
        ins += [f"e{k}" for k, e in enumerate(self.externals) if id(e) not in self.const]
        ins += [f"G{j}" for j in range(len(leaves))]
        ins += [f"lr{gi}" for gi in range(len(opt.param_groups))]
        res = self.names[id(self.out)]
        allocs, self.scratch = [], 0
        for name, shape in self.allocs:
            if name == res:                # the result leaves the call: an array of its own
                allocs.append(f"    {name} = np.empty({shape}, np.{self.dt.name})")
                continue
            n = math.prod(shape)
            allocs.append(f"    {name} = S[{self.scratch}:{self.scratch + n}].reshape({shape})")
            self.scratch += -(-n // 16) * 16   # slices start 16 elements apart: whole vectors
        if self.scratch:
            ins.append("S")
        source = "\n".join([
            '"""A training step compiled by compgraph (executors/lower_numba.py)."""',
            "import math", "import numpy as np", "import numba",
            "from compgraph.errors import BoundsError", "", ""] + sorted(self.helpers) + [
            # error_model="numpy": a float division by zero gives inf or nan, as NumPy (and
            # eager code) does, instead of a check per division that keeps LLVM from
            # vectorizing the loop
            "@numba.njit(cache=True, nogil=True, error_model='numpy')",
            f"def kernel({', '.join(ins)}):"] + allocs + self.lines
            + [f"    return {res}", ""])
        kernel = _load(source)
        return self.wrapper(kernel, leaves, params, ins), source

    def wrapper(self, kernel, leaves, params, ins):
        """The Python side: the guard (one chain of comparisons), the .grad buffers, the call.

        A replay that passes the guard calls the compiled signature's entry point directly:
        Numba's dispatcher would work out the type of each of the kernel's arguments again
        (~20 ns each).  That is safe because the guard pins every type the entry point was
        compiled for: each argument's shape, strides, dtype and alignment (Numba types an
        array as aligned or not, and code compiled for aligned data may use aligned vector
        loads: a buffer at an odd byte offset must go through the dispatcher), and each
        parameter's array by identity (arrays held here, so no other can take their ids).
        After rebind() the dispatcher makes the call; the entry point takes the later ones
        again only where the new arrays have the traced Numba types (EXACT)."""
        numba = require_numba()
        env = {"np": np, "kernel": kernel, "rc": sys.getrefcount, "DT": self.dt,
               "arr": np.array}
        for j, x in enumerate(leaves):
            env[f"G{j}"] = np.empty_like(x._value)
            env[f"GT{j}"] = _make(env[f"G{j}"])
            env[f"P{j}"] = x

        def renew():
            """A new buffer for each .grad (or its array) someone else holds, so that the
            step does not overwrite what they hold (as PyTorch's step makes a new .grad)."""
            for j, x in enumerate(leaves):
                if sys.getrefcount(env[f"GT{j}"]) > 3 or sys.getrefcount(env[f"G{j}"]) > 3:
                    env[f"G{j}"] = np.empty_like(env[f"G{j}"])
                    x._grad = env[f"GT{j}"] = _make(env[f"G{j}"])
        env["renew"] = renew
        if self.scratch:
            env["S"] = np.empty(self.scratch, self.dt)
        # the guard: a chain of comparisons with literals and held objects (no tuple built,
        # no id() calls), cheapest first; EXACT is False while a rebound parameter array
        # has another Numba type than the traced one (rebind below)
        conds = ["EXACT"]
        for k, a in enumerate(self.args):
            v = a._value
            env[f"C{k}"], env[f"D{k}"] = a.__class__, v.dtype
            conds += [f"a{k}.__class__ is C{k}", f"x{k}.shape == {v.shape!r}",
                      f"x{k}.strides == {v.strides!r}", f"x{k}.dtype is D{k}",
                      f"x{k}.flags.aligned", f"a{k}.requires_grad is {a.requires_grad}"]
        leaf_ids = {id(x) for x in leaves}
        for k, e in enumerate(self.externals):
            if id(e) in self.const:
                continue
            env[f"E{k}"] = e
            if id(e) in leaf_ids:
                # a parameter, updated in place: checked by the identity of its array (held
                # here, so that no other array can take its id) and passed as that array
                env[f"V{k}"] = e._value
                conds += [f"E{k}._value is V{k}", f"E{k}.requires_grad"]
            else:
                v = e._value
                env[f"D{k}e"] = v.dtype
                conds += [f"(y{k} := E{k}._value).shape == {v.shape!r}",
                          f"y{k}.strides == {v.strides!r}", f"y{k}.dtype is D{k}e",
                          f"y{k}.flags.aligned",
                          f"E{k}.requires_grad is {e.requires_grad}"]
        env["EXACT"] = True
        env["rebind"] = self._rebinder(env, leaf_ids, numba)
        groups = self.opt.param_groups
        for gi, group in enumerate(groups):
            env[f"group{gi}"] = group
        others = [p for p in params if id(p) not in self.leaf_slot]
        env["others"] = others
        call = []
        for name in ins:
            call.append({"a": f"x{name[1:]}",
                         "e": f"V{name[1:]}" if f"V{name[1:]}" in env else f"E{name[1:]}._value",
                         "G": name, "l": f"group{name[2:]}['lr']", "S": "S"}[name[0]])
        res = "arr(loss, DT)" if self.out.shape == () else "loss"
        argn = ", ".join(f"a{k}" for k in range(len(self.args)))
        n = len(leaves)
        lines = ["def fast(*args):",
                 f"    if len(args) != {len(self.args)}: return None",
                 f"    {argn}{',' if len(self.args) == 1 else ''} = args" if self.args else "    pass",
                 "    try:",
                 "        " + "; ".join(f"x{k} = a{k}._value" for k in range(len(self.args)))
                 if self.args else "        pass",
                 "    except AttributeError:            # an argument that is not a Tensor",
                 "        return None",
                 f"    if {' and '.join(conds)}: run = ep",
                 "    elif rebind(args): run = kernel",
                 "    else: return None",
                 # (the test of _plain_sgd, inline: a call costs more than the test)
                 "    if " + " or ".join(f"group{gi}['momentum'] or group{gi}['weight_decay'] or "
                                         f"group{gi}['maximize']" for gi in range(len(groups)))
                 + ": return None",
                 ] + [f"    P{j}._grad = GT{j}" for j in range(n)] + [
                 # then the references to a .grad tensor are this module's, P._grad's and
                 # rc's argument; to its array this module's, the tensor's and rc's
                 "    if " + " or ".join(f"rc(GT{j}) > 3 or rc(G{j}) > 3" for j in range(n))
                 + ": renew()",
                 f"    loss = run({', '.join(call)})"]
        if others:
            lines.append("    for p in others: p._grad = None")
        lines.append(f"    return {res}")
        env["__source__"] = "\n".join(lines) + "\n"   # (for profile_compiled.py and tests)
        exec(compile(env["__source__"], "<compgraph.compile numba>", "exec"), env)
        # compile (or load from the disk cache) now, for the traced argument types, so the
        # first replay is not the one that waits for Numba
        values = {"a": lambda k: self.args[k]._value, "e": lambda k: self.externals[k]._value,
                  "G": lambda k: env[f"G{k}"], "l": lambda k: float(groups[k]["lr"]),
                  "S": lambda k: env["S"]}
        slot = {"S": lambda n: 0, "l": lambda n: int(n[2:])}
        sig = tuple(numba.typeof(values[n[0]](slot.get(n[0], lambda n: int(n[1:]))(n)))
                    for n in ins)
        env["ep"] = kernel.compile(sig)
        return env["fast"]

    def _rebinder(self, env, leaf_ids, numba):
        """rebind(args): after the guard failed, whether the same kernel still applies --
        every tensor of the traced shape, dtype and requires_grad -- with parameters whose
        arrays were replaced (p.data = ..., load_state_dict(assign=True)); if so the new
        arrays are held (the guard's identities), and EXACT says whether they all have the
        traced Numba types (layout, alignment, writability): then later calls take the
        entry point again; otherwise every call comes here and Numba's dispatcher (which
        compiles for any layout) makes it.  An input of other strides comes here too."""
        args = [(a.__class__, a._value.shape, a._value.dtype, a.requires_grad) for a in self.args]
        exts = [(k, e, (e._value.shape, e._value.dtype, e.requires_grad), numba.typeof(e._value))
                for k, e in enumerate(self.externals) if id(e) not in self.const]

        def rebind(given):
            if [(a.__class__, a._value.shape, a._value.dtype, a.requires_grad)
                    for a in given] != args:
                return False
            if any((e._value.shape, e._value.dtype, e.requires_grad) != m for _, e, m, _ in exts):
                return False
            exact = True
            for k, e, m, typ in exts:
                exact = exact and numba.typeof(e._value) == typ
                if id(e) in leaf_ids:
                    env[f"V{k}"] = e._value
            env["EXACT"] = exact
            return True
        return rebind


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "compgraph", "numba")


def _load(source):
    """The kernel of this source, imported from its file in the cache folder (written once;
    Numba's cache=True keeps the machine code beside it, in __pycache__)."""
    numba = require_numba()
    digest = hashlib.sha256((numba.__version__ + "\n" + source).encode()).hexdigest()[:20]
    if digest in _modules:
        return _modules[digest]
    folder = cache_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"step_{digest}.py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(source)
        os.replace(tmp, path)          # atomic: another process may write the same file
    spec = importlib.util.spec_from_file_location(f"compgraph_numba_step_{digest}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module    # Numba's cache finds the kernel's globals by this name
    spec.loader.exec_module(module)
    _modules[digest] = module.kernel
    return module.kernel


_ELEMENTWISE = {
    "add": lambda a, b: f"({a} + {b})",
    "sub": lambda a, b: f"({a} - {b})",
    "mul": lambda a, b: f"({a} * {b})",
    "div": lambda a, b: f"({a} / {b})",
    "neg": lambda a: f"(-{a})",
    "pow": lambda a, c: f"({a} * {a})" if c in ("2.0",) else f"({a} ** {c})",
    "sigmoid": lambda a: f"(1.0 / (1.0 + math.exp(-{a})))",
    "tanh": lambda a: f"math.tanh({a})",
    "exp": lambda a: f"math.exp({a})",
    "log": lambda a: f"math.log({a})",
}
