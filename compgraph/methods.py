"""Tensor's operators and methods, each pointing at its function in compgraph.functional.

Kept apart from tensor.py so that the node stays a page long; the arithmetic operators are
spelled out with `apply` because they are the hottest calls a training loop makes.
"""
from . import functional as F
from . import state
from .ops import OPS
from .tensor import Tensor, apply, as_tensor

_ADD, _SUB, _MUL, _DIV, _POW, _MATMUL, _NEG = (OPS[n] for n in
                                               ("add", "sub", "mul", "div", "pow", "matmul", "neg"))


def _other(x, like):
    return x if isinstance(x, Tensor) else as_tensor(x, like)


def _binary(op, lift=_other, rlift=None):
    """x op y and y op x; lift makes the tensor of a number on the right (rlift: on the left),
    and can refuse one PyTorch refuses; tensor op tensor never calls it."""
    rlift = rlift or lift

    def forward(self, other):
        return apply(op, (self, other if other.__class__ is Tensor else lift(other, self)))

    def reflected(self, other):
        return apply(op, (rlift(other, self), self))
    return forward, reflected


def _subtrahend(x, like):
    """A number beside `-`: a Python bool is refused as PyTorch refuses bool tensors there
    (a bool tensor is refused by the op's promotion, ops/promote.subtraction)."""
    F._no_bool_number("sub", x)
    return _other(x, like)


Tensor.__add__, Tensor.__radd__ = _binary(_ADD)
Tensor.__sub__, Tensor.__rsub__ = _binary(_SUB, _subtrahend)
Tensor.__mul__, Tensor.__rmul__ = _binary(_MUL)
Tensor.__truediv__, Tensor.__rtruediv__ = _binary(_DIV)
def _exponent(x, like):
    F._int_pow_check(like, x)                 # int tensor ** negative int: PyTorch refuses
    return _other(x, like)


Tensor.__pow__, Tensor.__rpow__ = _binary(_POW, _exponent, _other)
# through functional.matmul: PyTorch refuses mixed dtypes there (ops/promote.same_dtype)
Tensor.__matmul__ = F.matmul
Tensor.__rmatmul__ = lambda self, other: F.matmul(other, self)
Tensor.__neg__ = lambda self: apply(_NEG, (self,))
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = F.abs
# t == None is False and t != None True, as in PyTorch (a plain comparison would refuse None)
Tensor.__eq__ = lambda self, other: False if other is None else F.eq(self, other)
Tensor.__ne__ = lambda self, other: True if other is None else F.ne(self, other)
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = F.lt, F.le, F.gt, F.ge
Tensor.__getitem__ = F.getitem



def _augmented(op, symbol, ufunc):
    """x += y as PyTorch has it: x itself changes (every name for x sees it), which is how
    `with no_grad(): w -= lr * w.grad` updates a weight; with gradients flowing through x
    or y the change is recorded (Tensor._inplace).  Lazy graphs and compile() traces are
    replayed node by node, so there it records x + y and rebinds the name."""
    def method(self, other):
        if self._graph is not None or state.TRACE is not None:
            if self.requires_grad and self.op is None and state.GRAD_ENABLED:
                self._inplace_check(symbol)          # refuses, naming the leaf
            return apply(op, (self, _other(other, self)))
        return self._inplace(symbol, getattr(self._xp(), ufunc), other)
    return method


Tensor.__iadd__ = _augmented(_ADD, "+=", "add")
Tensor.__isub__ = _augmented(_SUB, "-=", "subtract")
Tensor.__imul__ = _augmented(_MUL, "*=", "multiply")
Tensor.__itruediv__ = _augmented(_DIV, "/=", "divide")

for _name in ["add", "sub", "mul", "div", "pow", "exp", "log", "log1p", "sqrt", "abs", "sign",
              "sin", "cos", "sigmoid", "tanh", "relu", "clamp", "clip", "maximum", "minimum",
              "sum", "mean", "prod", "var", "std", "max", "min", "amax", "amin", "argmax",
              "argmin", "logsumexp", "softmax", "log_softmax", "matmul", "mm", "mv", "dot",
              "outer", "reshape", "view", "flatten", "squeeze", "unsqueeze", "permute",
              "transpose", "swapaxes", "t", "expand", "broadcast_to", "split", "chunk",
              "gather", "index_select", "take_along_axis", "eq", "ne", "lt", "le", "gt", "ge",
              "leaky_relu", "elu", "gelu", "softplus"]:
    setattr(Tensor, _name, getattr(F, _name))

Tensor.multiply, Tensor.divide, Tensor.subtract, Tensor.neg = F.mul, F.div, F.sub, F.neg
Tensor.T = property(lambda self: F.permute_dims(self, tuple(reversed(range(self.ndim)))))
Tensor.expand_as = lambda self, other: F.broadcast_to(self, other.shape)
Tensor.view_as = lambda self, other: F.reshape(self, other.shape)
Tensor.type_as = lambda self, other: self.astype(other.dtype)


def _register_post_accumulate_grad_hook(self, hook):
    from .autograd import register_post_accumulate_grad_hook
    return register_post_accumulate_grad_hook(self, hook)


Tensor.register_post_accumulate_grad_hook = _register_post_accumulate_grad_hook


def _format(self, spec):
    """f"{loss:.4f}" on a 0-d tensor formats its number; other tensors take only an empty
    spec, as in PyTorch (a spec has no meaning for a whole array)."""
    if self.ndim == 0:
        return format(self.item(), spec)
    if spec:
        raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__ for "
                        f"a tensor of shape {self.shape}: only 0-d tensors take one "
                        "(use .item())")
    return str(self)


Tensor.__format__ = _format


# --- more of PyTorch's Tensor surface ----------------------------------------------------------
for _name in ["any", "all", "norm", "cumsum", "cumprod", "tril", "triu", "flip", "repeat", "masked_fill",
              "unbind", "select", "scatter", "scatter_add", "square", "rsqrt", "floor", "ceil",
              "round", "trunc", "isnan", "isinf", "isfinite", "allclose", "equal", "nonzero",
              "sort", "argsort", "topk", "bmm", "logical_and", "logical_or", "logical_xor",
              "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not",
              "floor_divide", "remainder", "clamp_min", "clamp_max"]:
    setattr(Tensor, _name, getattr(F, _name))


def _operator(f):
    return (lambda self, other: f(self, other)), (lambda self, other: f(other, self))


Tensor.__and__, Tensor.__rand__ = _operator(F.bitwise_and)
Tensor.__or__, Tensor.__ror__ = _operator(F.bitwise_or)
Tensor.__xor__, Tensor.__rxor__ = _operator(F.bitwise_xor)
Tensor.__invert__ = F.bitwise_not
Tensor.__floordiv__, Tensor.__rfloordiv__ = _operator(F.floor_divide)
Tensor.__mod__, Tensor.__rmod__ = _operator(F.remainder)

Tensor.contiguous = lambda self, memory_format=None: self     # arrays here are never "strided"
Tensor.is_floating_point = lambda self: self.dtype.kind == "f"


def _detach_(self):
    """Make this tensor a leaf that does not require grad, in place (its graph is dropped)."""
    self.op = None
    self.inputs = None
    self.attrs = {}
    self.requires_grad = False
    return self


Tensor.detach_ = _detach_


def _new_like(fn):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)
    method.__name__ = "new_" + fn.__name__
    return method


Tensor.new_zeros, Tensor.new_ones, Tensor.new_empty = (_new_like(F.zeros), _new_like(F.ones),
                                                       _new_like(F.empty))
Tensor.new_full = lambda self, size, fill_value, dtype=None, device=None, requires_grad=False: F.full(
    size, fill_value, dtype=dtype or self.dtype, device=device or self.device,
    requires_grad=requires_grad)
Tensor.new_tensor = lambda self, data, dtype=None, device=None, requires_grad=False: F.tensor(
    data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _masked_fill_(self, mask, value):
    """masked_fill in place, recorded like any in-place change (Tensor._assign)."""
    m = mask._value if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) is None or m.dtype.kind != "b":
        from .errors import DTypeError
        raise DTypeError("masked_fill_: mask must be a bool tensor")
    import numpy as np
    try:
        m = np.broadcast_to(m, self.shape)
    except ValueError:
        from .errors import ShapeError
        raise ShapeError(f"masked_fill_: a mask of shape {tuple(m.shape)} does not broadcast "
                         f"to the tensor's shape {tuple(self.shape)}") from None
    return self._assign("masked_fill_", m, value)


Tensor.masked_fill_ = _masked_fill_


def _register_hook(self, hook):
    from .autograd import register_hook
    return register_hook(self, hook)


Tensor.register_hook = _register_hook


# --- the wider surface of compgraph/functional_more.py ------------------------------------------
from . import functional_index as _FI, functional_more as _FM  # noqa: E402

for _name in ["narrow", "nelement", "copysign", "isclose", "scatter_reduce", "cummax", "cummin",
              "logcumsumexp", "roll", "fmod", "diagonal", "diag", "unfold", "unflatten",
              "repeat_interleave", "lerp", "masked_select", "tan", "asin", "acos", "atan", "atan2",
              "sinh", "cosh", "asinh", "acosh", "atanh", "arcsin", "arccos", "arctan", "arctan2",
              "arcsinh", "arccosh", "arctanh", "erf", "erfc", "erfinv", "exp2", "log2", "log10",
              "expm1", "logaddexp", "bitwise_left_shift", "bitwise_right_shift"]:
    setattr(Tensor, _name, getattr(_FM, _name, None) or getattr(_FI, _name))
Tensor.__lshift__, Tensor.__rlshift__ = _operator(_FM.bitwise_left_shift)
Tensor.__rshift__, Tensor.__rrshift__ = _operator(_FM.bitwise_right_shift)
