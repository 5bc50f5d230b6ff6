"""The NumPy backend's fast path for a whole training step: zero_grad, forward, backward,
plain SGD step, traced inside compile() and lowered to one generated function.

    def fast(*args):                      # the guard, then the step, then the result
        if len(args) == 2:
            a0, a1 = args
            if (a0.__class__, a0._value.shape, ..., e0._value.shape, ...) == KEY:
                ...straight-line NumPy...
                return make(v8)
        return None                       # compile.__call__ takes its general path

What makes it cheap, compared with the general writer in replay.py:

* the guard is one tuple comparison (argument classes, shapes, dtypes, requires_grad, and
  the parameters' shapes and dtypes), instead of a signature built per argument;
* the ops it knows (linear, sigmoid, tanh, add/sub/mul/pow, sum) become NumPy calls with
  out= into buffers allocated once per plan, and their VJPs too; scalar constants made while
  tracing (0.5 * x, x ** 2) are folded into the code as Python numbers; any other op runs its
  own table entry, as in the general writer;
* products write where their result lives: an outer-product weight gradient (batch 1) by
  BLAS gemm with k = 1 straight into .grad (2x NumPy's broadcast multiply), and the mean's
  1/n is put on the output gradient before its product with the weight, not on the larger
  gradient after it;
* buffers follow their operands' memory order: a batch's linear output is the
  Fortran-ordered (W @ X^T)^T, so tanh's buffer, its VJP's and the hidden gradient are
  Fortran-ordered too (a ufunc reading across the order into a C buffer takes 3-4x a
  contiguous pass); the products then read them in another BLAS layout, which sums in
  another order: those gradients agree with eager's within rounding, not bit for bit;
* the optimizer is not called: zero_grad(set_to_none=True) and SGD's update (no momentum,
  weight decay or maximize; the group's lr is read on every call, so schedulers work) are
  written inline: the weight gradient goes straight into the .grad buffer and the update is
  one in-place multiply-subtract (one BLAS axpy where SciPy is there).

.grad stays exactly what eager code leaves: the step hands each parameter a .grad tensor
over its own buffer, and reuses the buffer on the next call only if nothing but the
parameter holds it (sys.getrefcount); a gradient kept by the caller gets a fresh buffer.
Anything outside this pattern returns None from lower_step and the general writer is used.
"""
import re
import sys

import numpy as np

from ..autograd import array_namespace
from ..tensor import Tensor, _make

try:                                   # SciPy is optional: axpy does p -= lr * g in one pass,
    from scipy.linalg.blas import daxpy as _daxpy, saxpy as _saxpy   # ger p -= lr * outer(g, x)
    from scipy.linalg.blas import dger as _dger, sger as _sger
    from scipy.linalg.blas import dgemm as _dgemm, sgemm as _sgemm    # outer(g, x) into .grad
    _AXPY = {np.dtype(np.float32): _saxpy, np.dtype(np.float64): _daxpy}
    _GER = {np.dtype(np.float32): _sger, np.dtype(np.float64): _dger}
    _GEMM = {np.dtype(np.float32): _sgemm, np.dtype(np.float64): _dgemm}
except ImportError:                    # pragma: no cover - SciPy is installed for the tests
    _AXPY = _GER = _GEMM = {}


def _gemm_in_place(dtype):
    """The BLAS gemm that writes outer(g, x) straight into a C-ordered buffer (through its
    transpose, which is Fortran-ordered), or None.  Checked once per dtype on a small case:
    SciPy's wrapper would silently write into a copy if it ever needed one, and the .grad
    buffer would keep stale numbers."""
    dtype = np.dtype(dtype)
    if dtype not in _GEMM_OK:
        gemm, ok = _GEMM.get(dtype), False
        if gemm is not None:
            g, x = np.array([[1.5, -2.0, 3.0]], dtype), np.array([[0.5, 4.0]], dtype)
            buf = np.full((3, 2), np.nan, dtype)
            got = gemm(1.0, x, g, beta=0.0, c=buf.T, overwrite_c=1, trans_a=1)
            ok = np.shares_memory(got, buf) and np.array_equal(buf, g.T * x)
        _GEMM_OK[dtype] = gemm if ok else None
    return _GEMM_OK[dtype]


_GEMM_OK = {}

try:
    from scipy.special import expit as _expit
except ImportError:                    # pragma: no cover
    _expit = None


def _bad_target(target, classes):
    from ..errors import BoundsError
    raise BoundsError(f"cross_entropy: class index {int(target.min()) if target.min() < 0 else int(target.max())} "
                      f"is out of range for {classes} classes (valid: 0 to {classes - 1})")


_OPS = {"multiply": "*", "add": "+", "subtract": "-", "divide": "/"}
_BINARY_OUT = re.compile(r"^(\s*)(\w+ = )?np\.(multiply|add|subtract|divide)\(([\w.]+), ([\w.]+)"
                         r"(?:, out=(B\d+))?\)$")
_SMALL = 4096          # elements: below this a fresh array beats a ufunc's out= keyword


def _small(line, shapes):
    """Rewrite one generated line for tiny arrays, where the call overhead is all there is:
    a ufunc with out= into a small buffer becomes an operator on a fresh array (bound to
    the buffer's name, which the following lines read), np.sum(x) becomes x.sum(), and
    np.copyto(b, x) becomes b[...] = x.  Large arrays keep their buffers."""
    m = _BINARY_OUT.match(line)
    if m:
        indent, lhs, fn, a, b, dst = m.groups()
        if dst is None or int(np.prod(shapes.get(dst, (_SMALL,)))) < _SMALL:
            bind = (lhs or "") + (f"{dst} = " if dst else "")
            return f"{indent}{bind}{a} {_OPS[fn]} {b}"
        return line
    m = re.match(r"^(\s*)(\w+) = ([\w.]+)\((\w+), out=(B\d+)\)$", line)
    if m and int(np.prod(shapes.get(m.group(5), (_SMALL,)))) < _SMALL:
        return f"{m.group(1)}{m.group(2)} = {m.group(5)} = {m.group(3)}({m.group(4)})"
    m = re.match(r"^(\s*)(\w+) = np\.sum\((\w+)\)$", line)
    if m:          # x.sum() and np.sum(x) are Python wrappers around this one call
        return f"{m.group(1)}{m.group(2)} = np.add.reduce({m.group(3)}, axis=None)"
    m = re.match(r"^(\s*)np\.copyto\((\w+), ([\w.]+)\)$", line)
    if m:
        return f"{m.group(1)}{m.group(2)}[...] = {m.group(3)}"
    return line


def _pow2(x):
    m, _ = np.frexp(x)
    return abs(m) == 0.5


def _plain_sgd(group):
    return not (group["momentum"] or group["weight_decay"] or group["maximize"])


def lower_step(fn_items, out, names, arg_tensors, externals, trace_mark):
    """The fast step function for this trace, or None when it is outside the pattern."""
    found = sgd_step(fn_items, out)
    if found is None:
        return None
    nodes, opt = found
    try:
        return _Lowering(nodes, out, names, arg_tensors, externals, trace_mark, opt).build()
    except _Unsupported:
        return None


def sgd_step(fn_items, out):
    """(the forward nodes, the SGD optimizer) when the trace is zero_grad, a forward to a
    one-element loss, its backward and a plain SGD step, in that order; else None.
    (lower_numba.py lowers the same pattern.)"""
    from ..optim.sgd import SGD          # optim imports executors: import it late
    from ..optim.optimizer import Optimizer
    from .replay import Backward, Replayed
    items = list(fn_items)
    if len(items) < 4 or not isinstance(items[0], Replayed) or not isinstance(items[-1], Replayed):
        return None
    zero, stepcall, back = items[0].call, items[-1].call, items[-2]
    if not isinstance(back, Backward) or back.root is not out:
        return None
    nodes = items[1:-2]
    if not nodes or not all(isinstance(t, Tensor) for t in nodes) or nodes[-1] is not out:
        return None
    # the recorded calls hold the undecorated methods (replay.replayed wraps them)
    if (getattr(zero, "func", None) is not getattr(Optimizer.zero_grad, "__wrapped__", None)
            or getattr(stepcall, "func", None) is not getattr(SGD.step, "__wrapped__", None)):
        return None
    opt = zero.args[0] if zero.args else None
    if (stepcall.args != (opt,) or stepcall.keywords or len(zero.args) != 1
            or zero.keywords not in ({}, {"set_to_none": True}) or type(opt) is not SGD):
        return None
    if not all(_plain_sgd(g) for g in opt.param_groups) or out.numel() != 1:
        return None
    return nodes, opt


def folded_constants(externals, trace_mark):
    """id(tensor) -> Python number for the scalar constants made while tracing: no one
    outside can change them, so they are folded into the code (and the shared scalar
    constants of tensor.scalar_constant, never written to)."""
    from ..tensor import _constants
    shared = {id(c) for c in _constants.values()}
    return {id(e): e._value.item() for e in externals
            if (e._id > trace_mark or id(e) in shared) and not e.requires_grad
            and e._value.ndim == 0 and e._value.dtype.kind in "fiu"}


class _Unsupported(Exception):
    pass


class _Lowering:
    def __init__(self, nodes, out, names, arg_tensors, externals, trace_mark, opt):
        self.nodes, self.out, self.names, self.opt = nodes, out, dict(names), opt
        self.args, self.externals = arg_tensors, externals
        self.env = {"np": np, "xp": array_namespace(np), "make": _make, "rc": sys.getrefcount,
                    "expit": _expit, "bad_target": _bad_target}
        self.lines = []
        self.n = 0
        self.shapes = {}                      # variable -> the shape of its array
        # variables whose arrays are Fortran-ordered matrices: a batch's linear output is
        # (W @ X^T)^T, and a ufunc reading it crosswise into a C-ordered buffer takes 3-4x
        # a contiguous pass (tanh of 64x256: 19 us, against 5); so the buffers computed
        # from them, and the gradients of them, are Fortran-ordered too
        self.fortran = set()
        self.done = {}
        self.picks = {}                       # cross_entropy's variable -> its index code
        self.outers = {}                      # leaf slot -> (g, x): its gradient is outer(g, x)
        self.axpy = True
        self.const = folded_constants(externals, trace_mark)
        for k, e in enumerate(externals):
            if id(e) in self.const:
                self.env[f"e{k}"] = e._value     # for an op that runs its table entry

    # --- helpers --------------------------------------------------------------------------
    def one(self, dtype):
        name = f"one_{np.dtype(dtype).name}"
        self.env[name] = np.dtype(dtype).type(1)
        return name

    def buf(self, like, dtype=None, order_of=()):
        """A buffer of like's shape; Fortran-ordered when every variable of order_of is."""
        name = f"B{self.n}"
        self.n += 1
        self.shapes[name] = np.shape(like)
        order = "F" if self.is_fortran(np.shape(like), order_of) else "C"
        if order == "F":
            self.fortran.add(name)
        self.env[name] = np.empty(np.shape(like), dtype or like.dtype, order=order)
        return name

    def is_fortran(self, shape, names):
        """Whether arrays of this shape computed from the variables `names` are best
        Fortran-ordered: all of them are (a matrix with a dimension of 1 is both orders)."""
        return (len(shape) == 2 and min(shape) > 1 and bool(names)
                and all(n in self.fortran for n in names))

    def emit(self, line):
        self.lines.append("        " + line)

    def ref(self, t):
        """The code for an operand: a folded constant or the variable holding its array."""
        if id(t) in self.const:
            return repr(self.const[id(t)])
        return self.names[id(t)]

    # --- forward ----------------------------------------------------------------------------
    def forward(self, t):
        v, op, ins = self.names[id(t)], t.op.name, t.inputs
        self.shapes[v] = t.shape
        for x in ins:
            self.shapes.setdefault(self.names[id(x)], x.shape)
        last = t is self.out                      # the result: a fresh array, never a buffer
        same = all(np.shape(x._value) == t.shape or id(x) in self.const for x in ins)
        operands = [self.names[id(x)] for x in ins if id(x) not in self.const]
        o = "" if last else f", out={self.buf(t._value, order_of=operands if same else ())}"
        if o and o[6:] in self.fortran:
            self.fortran.add(v)
        if not self.uniform(t) and op != "cross_entropy":
            return self.generic_forward(t)
        r = [self.ref(x) for x in ins]
        if op == "linear" and not t.attrs and ins[0].ndim in (1, 2) and ins[2].ndim == 1:
            # the table's own arithmetic (so the values are the eager ones, bit for bit); a
            # fresh product is cheaper than matmul's out= on small results
            if ins[0].ndim == 1:
                self.emit(f"{v} = np.dot({r[1]}, {r[0]})")    # gemv, as @; a cheaper call
            else:                     # W @ X^T is BLAS's faster layout; the result's view
                self.emit(f"{v} = ({r[1]} @ {r[0]}.T).T")
                self.fortran.add(v)               # (the out= buffer above is unused)
            self.emit(f"{v} += {r[2]}")
        elif op in _UNARY and not t.attrs and (op != "sigmoid" or _expit is not None):
            self.emit(f"{v} = {_UNARY[op]}({r[0]}{o})")
        elif op in _BINARY and not t.attrs and same and not (id(ins[0]) in self.const
                                                             and id(ins[1]) in self.const):
            if op == "pow" and r[1] == "2.0" or op == "pow" and r[1] == "2":
                self.emit(f"{v} = np.multiply({r[0]}, {r[0]}{o})")   # x*x is x**2, exactly
            else:
                self.emit(f"{v} = {_BINARY[op]}({r[0]}, {r[1]}{o})")
        elif op == "sum" and t.attrs == {"axis": None, "keepdims": False}:
            if ins[0].numel() == 1:       # the sum of one element is that element, as a scalar
                self.emit(f"{v} = {r[0]}[{(0,) * ins[0].ndim}]")
            else:
                self.emit(f"{v} = np.sum({r[0]})")
        elif op == "cross_entropy" and self.plain_xent(t):
            z, n, c = r[0], t.inputs[0].shape[0], t.inputs[0].shape[1]
            # the picked logits: one example's by a scalar index (fancy indexing costs
            # microseconds), a batch's by (rows, classes)
            pick = f"0, {v}_k" if n == 1 else f"rows_{v}, {r[1]}"
            self.picks[v] = pick
            self.env[f"rows_{v}"] = np.arange(n)
            # class indices outside [0, classes): NumPy would wrap the negative ones
            if n == 1:
                self.emit(f"{v}_k = {r[1]}[0]")
                self.emit(f"if {v}_k < 0 or {v}_k >= {c}: bad_target({r[1]}, {c})")
            else:
                # one reduction for both ends: read as unsigned, a negative index is >= 2^63
                k = t.inputs[1].dtype
                if k.kind == "i":
                    self.env[f"u_{v}"] = np.dtype(f"u{k.itemsize}")
                idx = f"{r[1]}.view(u_{v})" if k.kind == "i" else r[1]
                self.emit(f"if np.maximum.reduce({idx}, axis=None) >= {c}: bad_target({r[1]}, {c})")
            # one row: its max and sum are the same single reductions as a scalar
            axis = "axis=None" if n == 1 else "axis=1, keepdims=True"
            self.emit(f"{v}_sh = np.subtract({z}, np.maximum.reduce({z}, {axis}), "
                      f"out={self.buf(t.inputs[0]._value)})")
            self.emit(f"{v}_e = np.exp({v}_sh, out={self.buf(t.inputs[0]._value)})")
            self.emit(f"{v}_s = np.add.reduce({v}_e, {axis})")
            # np.mean is np.add.reduce(x) / n (a Python wrapper around the two)
            mean = f"np.log({v}_s) - {v}_sh[{pick}]" if n == 1 else \
                f"np.add.reduce(np.log({v}_s[:, 0]) - {v}_sh[{pick}], axis=None) / {n}"
            self.emit(f"{v} = {mean}")
        else:
            self.generic_forward(t)

    def generic_forward(self, t):
        k = self.names[id(t)]
        self.env[f"f_{k}"] = t.op.fwd
        call = ", ".join(["xp"] + [self.names[id(x)] for x in t.inputs])
        if t.attrs:
            self.env[f"attrs_{k}"] = t.attrs
            call += f", **attrs_{k}"
        self.emit(f"{k} = f_{k}({call})")

    # --- backward ---------------------------------------------------------------------------
    def backward(self):
        """The reverse sweep.  A gradient is kept as (array variable or None, Python number):
        the number is a scale not applied yet (None: the scale spread over the shape), so
        constant factors (0.5 * ..., ** 2, the mean's 1/n) multiply Python numbers, and
        reach an array once: on the smaller operand of the weight gradient's product."""
        from .replay import _vjp_shape
        self._vjp_shape = _vjp_shape
        names, grads = self.names, {}          # id(tensor) -> (variable or None, scale)
        consumers = {}
        for t in self.nodes:
            for x in t.inputs:
                consumers[id(x)] = consumers.get(id(x), 0) + 1
        self.leaf_direct = {}                  # leaf position -> written straight into G[j]
        grads[id(self.out)] = (None, 1.0)
        for t in reversed(self.nodes):
            if id(t) not in grads or not t.requires_grad:
                continue
            g = grads.pop(id(t))
            for i, x in enumerate(t.inputs):
                if not x.requires_grad:
                    continue
                target = None
                if id(x) in self.leaf_slot and consumers[id(x)] == 1:
                    target = f"G{self.leaf_slot[id(x)]}"
                got = self.vjp(t, i, g, target)
                if got is None:
                    got = (self.generic_vjp(t, i, self.array(g, t)), 1.0)
                if id(x) in grads:             # a second consumer: add, into a fresh array
                    acc = f"acc{self.n}"
                    self.n += 1
                    self.emit(f"{acc} = {self.expr(grads[id(x)], x)} + {self.expr(got, x)}")
                    grads[id(x)] = (acc, 1.0)
                else:
                    grads[id(x)] = got
                if target is not None:
                    self.leaf_direct[self.leaf_slot[id(x)]] = got == (target, 1.0)
        return grads

    def plain_xent(self, t):
        """cross_entropy of (batch, classes) logits and class indices, averaged."""
        logits, target = t.inputs
        return (t.attrs.get("reduction", "mean") == "mean" and len(t.attrs) <= 1
                and logits.ndim == 2 and target.dtype.kind in "iu"
                and logits.dtype.kind == "f" and not target.requires_grad)

    def keep_outer(self, target, w, g, x):
        """The weight w's gradient is written whole by this outer product (target: its .grad
        buffer): keep its two vectors, under names of their own, for SGD's update (ger)."""
        if target is None or w._value.dtype not in _GER or not w._value.flags.c_contiguous:
            return
        j = self.leaf_slot[id(w)]
        self.emit(f"og{j}, ox{j} = {g}, {x}")
        self.outers[j] = (f"og{j}", f"ox{j}")

    def outer(self, g, x, dst, w, vectors):
        """dst = outer(g, x), for g and x vectors or rows (vectors=False: (1, m), (1, n)).
        A BLAS gemm with k = 1 and beta = 0 writes each element once, as g_i * x_j rounded
        once, the broadcast multiply's number (only a zero's sign may differ: the product
        is added to the zeroed buffer, and 0 + -0 is +0), about 2x faster than NumPy's
        broadcast multiply on a 256x784 gradient and no slower on tiny ones.  (np.matmul
        with k = 1 is the slow way: ~6x.)  dst is a C-ordered buffer of the operands' dtype
        (a .grad buffer or a fresh one), so its transpose is the Fortran array gemm writes."""
        gemm = _gemm_in_place(w.dtype)
        buffer = self.env["Gs"][int(dst[1:])] if dst.startswith("G") else self.env[dst]
        if gemm is None or not buffer.flags.c_contiguous:    # (a Fortran-ordered parameter's
            # .grad is Fortran-ordered too); without SciPy: a broadcast multiply
            self.emit(f"np.multiply({g}[:, None], {x}, out={dst})" if vectors else
                      f"np.multiply({g}.T, {x}, out={dst})")
            return
        self.env[f"gemm_{w.dtype.name}"] = gemm
        a, b = (f"{x}[None]", f"{g}[None]") if vectors else (x, g)
        self.emit(f"gemm_{w.dtype.name}(1.0, {a}, {b}, beta=0.0, c={dst}.T, overwrite_c=1, trans_a=1)")

    def times(self, g, c, t):
        """g times the number c.  The product of the numbers is rounded to the gradient's
        dtype, as eager code's 0-d arrays are; a scale that is not a power of two is put
        on the array at once, where eager code puts it, since (g * s) * a and (g * a) * s
        round differently (a power of two commutes exactly: it changes the exponent only).
        So the scales round as eager code's do."""
        name, scale = g
        dt = t.dtype.type
        new = float(dt(scale) * dt(c))
        if name is None or _pow2(new):
            return (name, new)
        dst = self.buf(np.empty(self.shape_of(name), t.dtype), order_of=[name])
        self.emit(f"np.multiply({name}, {new!r}, out={dst})")
        return (dst, 1.0)

    def shape_of(self, name):
        if name not in self.shapes:
            raise _Unsupported
        return self.shapes[name]

    def uniform(self, t):
        """All operands of t have its dtype: out= buffers and folded numbers change nothing."""
        return all(x.dtype == t.dtype for x in t.inputs)

    def expr(self, g, like):
        """Code for the gradient's array as an expression (allocating: for sums only)."""
        name, scale = g
        if name is None:
            return f"np.full({like.shape}, {scale!r}, dtype=np.dtype('{like.dtype.str}'))"
        return name if scale == 1.0 else f"({name} * {scale!r})"

    def array(self, g, like, dst=None):
        """A variable holding the gradient's array, scale applied (into dst when given)."""
        name, scale = g
        if name is None:
            dst = dst or self.buf(like._value)
            self.emit(f"np.copyto({dst}, {scale!r})")
            return dst
        if scale == 1.0:
            if dst is not None and dst != name:
                self.emit(f"np.copyto({dst}, {name})")
                return dst
            return name
        dst = dst or self.buf(like._value, order_of=[name])
        self.emit(f"np.multiply({name}, {scale!r}, out={dst})")
        return dst

    def vjp(self, t, i, g, target):
        """(variable, scale) for VJP i of t, or None: use the table's function."""
        if t.op.name == "cross_entropy":
            pass
        elif t.attrs and t.op.name != "sum" or not self.uniform(t):
            return None
        op, ins, ans = t.op.name, t.inputs, self.names[id(t)]
        x, r = ins[i], [self.ref(y) for y in ins]
        name, scale = g
        same = all(np.shape(y._value) == t.shape or id(y) in self.const for y in ins)
        if op == "linear" and ins[0].ndim in (1, 2) and ins[2].ndim == 1 and name is not None:
            key = (id(t), "scaled")
            if i == 0 and scale != 1.0 and ins[1].requires_grad:
                # the weight's gradient puts the scale on g anyway: do it first and multiply
                # the scaled g, so that the scale does not travel on to a pass over the
                # (larger) input gradient.  The same numbers: a pending scale is a power of
                # two, which commutes with the product exactly
                self.done[key] = self.array(g, t)
                name, scale = self.done[key], 1.0
            if i == 0:                         # the scale passes through the product
                mm = "np.dot({}, {})" if x.ndim == 1 else "{} @ {}"     # (gemv: as @)
                if self.is_fortran(x.shape, [r[0]]):
                    # x's gradient in x's order: (W^T g^T)^T, the same products
                    mm = "({1}.T @ {0}.T).T"
                    self.fortran.add(f"{name}_x")
                self.emit(f"{name}_x = " + mm.format(name, r[1]))
                self.shapes[f"{name}_x"] = x.shape
                return (f"{name}_x", scale)
            # the weight's and bias's gradients: the scale goes on the small g, once
            if key not in self.done:
                self.done[key] = self.array(g, t)
            gs, dst = self.done[key], target or self.buf(x._value)
            if i == 1:
                if ins[0].ndim == 1 or ins[0].shape[0] == 1:       # an outer product
                    self.outer(gs, r[0], dst, x, vectors=ins[0].ndim == 1)
                    self.keep_outer(target, x, *((gs, r[0]) if ins[0].ndim == 1 else
                                                 (f"{gs}[0]", f"{r[0]}[0]")))
                else:
                    self.emit(f"np.matmul({gs}.T, {r[0]}, out={dst})")
            elif ins[0].ndim == 1:
                self.emit(f"np.copyto({dst}, {gs})")
            elif ins[0].shape[0] == 1:             # the sum of one row is the row
                self.emit(f"np.copyto({dst}, {gs}[0])")
            elif gs in self.fortran:
                # a Fortran-ordered gradient's column sums: NumPy's axis-0 reduction of it
                # takes twice the C-ordered one's time; BLAS's gemv with ones is ~5x faster
                # (its own summation order: within rounding of the sum)
                ones = f"ones_{ins[0].shape[0]}_{x.dtype.name}"
                self.env[ones] = np.ones(ins[0].shape[0], x.dtype)
                self.emit(f"np.dot({gs}.T, {ones}, out={dst})")
            else:
                self.emit(f"np.add.reduce({gs}, axis=0, out={dst})")
            return (dst, 1.0)
        if op in ("sigmoid", "tanh"):
            dst = self.buf(x._value, order_of=[ans] + ([name] if name else []))
            # a negative scale is absorbed for free: ans * (ans - 1) = -(ans * (1 - ans))
            flip = scale < 0
            one = self.one(t.dtype)                # 1 of the array's dtype: what NumPy
            one_minus = (f"np.subtract({ans}, {one}, out={{}})" if flip else
                         f"np.subtract({one}, {ans}, out={{}})")   # makes of `1 - ans`, cheaper
            if op == "sigmoid" and name is not None:
                # (g * ans) * (1 - ans): the table's order, so the rounding is eager's (a
                # product of three rounds differently grouped the other way)
                other = self.buf(x._value, order_of=[ans, name])
                self.emit(f"np.multiply({name}, {ans}, out={dst})")
                self.emit(one_minus.format(other))
                self.emit(f"np.multiply({dst}, {other}, out={dst})")
            elif op == "sigmoid":                  # g is a number: ans * (1 - ans)
                self.emit(one_minus.format(dst))
                self.emit(f"np.multiply({ans}, {dst}, out={dst})")
            else:                                  # g * (1 - ans * ans)
                self.emit(f"np.multiply({ans}, {ans}, out={dst})")
                self.emit(f"np.subtract({dst}, {one}, out={dst})" if flip else
                          f"np.subtract({one}, {dst}, out={dst})")
                if name is not None:
                    self.emit(f"np.multiply({name}, {dst}, out={dst})")
            if flip:
                scale = -scale
            return (dst, scale)
        if op == "sum" and t.attrs == {"axis": None, "keepdims": False}:
            if name is None:
                return (None, scale)               # spread over x: still just a number
            dst = self.buf(x._value)
            self.emit(f"np.copyto({dst}, {name})")
            return (dst, scale)
        if op == "neg":
            return self.times(g, -1.0, t)
        if op == "cross_entropy" and i == 0 and self.plain_xent(t) and name is None:
            dst = self.buf(x._value)               # softmax - onehot, over the batch size
            self.emit(f"np.divide({ans}_e, {ans}_s, out={dst})")
            self.emit(f"{dst}[{self.picks[ans]}] -= 1")
            return self.times((dst, scale), 1.0 / x.shape[0], t)
        if op not in ("add", "sub", "mul", "pow") or not same:
            return None
        other = ins[1 - i]
        if op == "add" or op == "sub" and i == 0:
            return (name, scale)
        if op == "sub":
            return self.times(g, -1.0, t)
        if op == "mul" and id(other) in self.const:
            return self.times(g, self.const[id(other)], t)
        if op == "mul":
            if name is None:
                return (r[1 - i], scale)
            dst = self.buf(x._value, order_of=[name, r[1 - i]])
            self.emit(f"np.multiply({name}, {r[1 - i]}, out={dst})")
            return (dst, scale)
        if op == "pow" and i == 0 and self.const.get(id(other)) == 2:   # g * 2 * x
            g = self.times(g, 2.0, t)             # the table's g * 2 * x, in that order
            if g[0] is None:
                return (r[0], g[1])
            dst = self.buf(x._value, order_of=[g[0], r[0]])
            self.emit(f"np.multiply({g[0]}, {r[0]}, out={dst})")
            return (dst, g[1])
        return None

    def generic_vjp(self, t, i, g):
        """VJP i of t through the op table's own function; the name of its result."""
        k = self.names[id(t)]
        vjps = t.op.vjps if t.op.vjp_n is None else t.op.vjps_for(len(t.inputs))
        if t.op.vjp_all is not None:
            raise _Unsupported
        gname = g
        if t.shape == ():                       # the table's VJPs take arrays, not numbers
            self.env[f"dt_{k}"] = t.dtype
            gname = f"np.asarray({g}, dtype=dt_{k})"
        self.env[f"b_{k}_{i}"] = vjps[i]
        operands = ", ".join(self.names[id(x)] for x in t.inputs)
        attrs = ""
        if t.attrs:
            self.env[f"attrs_{k}"] = t.attrs
            attrs = f", **attrs_{k}"
        tmp = f"t_{k}_{i}"
        self.shapes[tmp] = t.inputs[i].shape
        self.emit(f"{tmp} = b_{k}_{i}(xp, {gname}, {k}, {operands}{attrs})")
        got, want = self._vjp_shape(t, i), t.inputs[i].shape
        if got != want:               # broadcasting, undone as the engine would, decided now
            lead = len(got) - len(want)
            axes = tuple(range(lead)) + tuple(lead + j for j, d in enumerate(want)
                                              if d == 1 and got[lead + j] != 1)
            self.emit(f"{tmp} = np.reshape(np.sum({tmp}, axis={axes}, keepdims=True), {want})")
        return tmp

    # --- the whole function -----------------------------------------------------------------
    def build(self):
        names, opt = self.names, self.opt
        params = [p for g in opt.param_groups for p in g["params"]]
        pids = {id(p) for p in params}
        # every leaf that gets a gradient must be one of the optimizer's parameters
        leaves = [x for x in self.externals + self.args if x.requires_grad]
        if any(id(x) not in pids for x in leaves) or any(x.op is not None for x in leaves):
            raise _Unsupported
        if len({id(p) for p in params}) != len(params):
            raise _Unsupported
        self.leaf_slot = {id(x): j for j, x in enumerate(leaves)}
        G = [np.empty_like(x._value) for x in leaves]
        GT = [_make(a) for a in G]
        flat = [a.reshape(-1) for a in G]     # for axpy: made once, not on every call
        self.env.update(Gs=G, GTs=GT, Gflat=flat, renew=self._renew(G, GT, flat))
        for j, x in enumerate(leaves):
            self.env[f"P{j}"] = x
            if x.dtype.kind != "f":
                raise _Unsupported
        for k, e in enumerate(self.externals):
            self.env[f"E{k}"] = e
        self.leaves = leaves
        # the guard: one comparison of everything a plan depends on.  A parameter is
        # checked by the identity of its array (the in-place updates hold views of it; the
        # same array object has the same shape and dtype), the other tensors by shape and
        # dtype; an argument that is not a Tensor fails the attribute reads (the try)
        key, parts = [], []
        leaf_ids = {id(x) for x in leaves}
        for k, a in enumerate(self.args):
            parts.append(f"a{k}._value.shape, a{k}._value.dtype, a{k}.requires_grad")
            key += [a._value.shape, a._value.dtype, a.requires_grad]
        for k, e in enumerate(self.externals):
            if id(e) not in self.const and id(e) not in leaf_ids:
                parts.append(f"E{k}._value.shape, E{k}._value.dtype, E{k}.requires_grad")
                key += [e._value.shape, e._value.dtype, e.requires_grad]
        for j, x in enumerate(leaves):
            parts.append(f"id(P{j}._value), P{j}.requires_grad")
            key += [id(x._value), x.requires_grad]
        self.env["KEY"] = tuple(key)
        # body; a group switched to momentum (etc.) takes the general path
        for gi, group in enumerate(opt.param_groups):
            self.env[f"group{gi}"] = group
        self.emit("if " + " or ".join(f"group{gi}['momentum'] or group{gi}['weight_decay'] or "
                                      f"group{gi}['maximize']" for gi in range(len(opt.param_groups)))
                  + ": return None")
        for k in range(len(self.args)):
            self.emit(f"a{k} = a{k}._value")
        for k, e in enumerate(self.externals):
            if id(e) not in self.const:
                self.emit(f"e{k} = E{k}._value")
        for j in range(len(leaves)):            # a .grad someone else holds: a new buffer
            # (Gs[j] is held by Gs, by GTs[j]._value, by Gflat[j] (a view) and by the call)
            self.emit(f"if rc(GTs[{j}]) > 3 or rc(Gs[{j}]) > 4: renew({j})")
            self.emit(f"G{j} = Gs[{j}]")
        for t in self.nodes:
            self.forward(t)
        grads = self.backward()
        # zero_grad(set_to_none) for parameters this step gives no gradient
        others = [p for p in params if id(p) not in self.leaf_slot]
        if others:
            self.env["others"] = others
            self.emit("for p in others: p._grad = None")
        for j, x in enumerate(leaves):
            if id(x) not in grads:
                raise _Unsupported              # a parameter the loss does not reach
            if not self.leaf_direct.get(j):
                self.array(grads[id(x)], x, dst=f"G{j}")
        # SGD, inline
        for gi, group in enumerate(opt.param_groups):
            ps = [p for p in group["params"] if id(p) in self.leaf_slot]
            if ps:
                self.emit(f"lr = group{gi}['lr']")
            for p in ps:
                j = self.leaf_slot[id(p)]
                # the eager update, v -= lr * g, call for call: the same rounding (BLAS axpy
                # would fuse it into one pass, but round differently)
                # BLAS axpy: one pass, and on small arrays one call where NumPy needs two
                # (it may round once, with FMA: within an ulp of eager's two roundings)
                axpy = _AXPY.get(p._value.dtype) if self.axpy and p._value.flags.c_contiguous else None
                if j in self.outers and self.leaf_direct.get(j) and self.axpy:
                    # W -= lr * outer(g, x) as BLAS ger: lr folded into g, one pass over W
                    # that does not read the gradient buffer back (W.T: the Fortran-order
                    # view ger updates in place)
                    og, ox = self.outers[j]
                    self.env[f"ger{j}"] = _GER[p._value.dtype]
                    self.env[f"wt{j}"] = p._value.T
                    self.emit(f"ger{j}(-lr, {ox}, {og}, a=wt{j}, overwrite_a=1)")
                elif axpy is not None:
                    self.env[f"axpy{j}"] = axpy
                    self.env[f"flat{j}"] = p._value.reshape(-1)
                    self.emit(f"axpy{j}(Gflat[{j}], flat{j}, a=-lr)")
                else:
                    tmp = self.buf(p._value)
                    self.env[f"pv{j}"] = p._value     # the guard checked it is still P's
                    self.emit(f"np.multiply(G{j}, lr, out={tmp})")
                    self.emit(f"np.subtract(pv{j}, {tmp}, out=pv{j})")
                self.emit(f"P{j}._grad = GTs[{j}]")
        res = names[id(self.out)]
        # the result is the caller's: never a view of a buffer the next call overwrites
        self.emit(f"return {res} if {res}.__class__ is np.ndarray and {res}.base is None "
                  f"else np.array({res})")
        argn = ", ".join(f"a{k}" for k in range(len(self.args)))
        head = ["def fast(*args):",
                f"    if len(args) == {len(self.args)}:",
                f"        {argn}{',' if len(self.args) == 1 else ''} = args" if self.args else "        pass",
                "        try:",
                f"            key = ({', '.join(parts)}{',' if len(parts) == 1 else ''})",
                "        except AttributeError:",
                "            return None",
                "        if key != KEY: return None"]
        self.lines = [_small(line, self.shapes) for line in self.lines]
        self.source = "\n".join(head + self.lines) + "\n"
        code = compile(self.source, "<compgraph.compile numpy>", "exec")
        exec(code, self.env)
        return self.env["fast"], self.source

    @staticmethod
    def _renew(G, GT, flat=None):
        def renew(j):
            G[j] = np.empty_like(G[j])
            GT[j] = _make(G[j])
            if flat is not None:
                flat[j] = G[j].reshape(-1)
        return renew


_UNARY = {"sigmoid": "expit", "tanh": "np.tanh", "exp": "np.exp", "log": "np.log",
          "neg": "np.negative", "sqrt": "np.sqrt", "abs": "np.absolute"}
_BINARY = {"add": "np.add", "sub": "np.subtract", "mul": "np.multiply", "div": "np.divide",
           "pow": "np.power", "maximum": "np.maximum", "minimum": "np.minimum"}
