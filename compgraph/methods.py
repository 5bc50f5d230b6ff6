"""Tensor's operators and methods, each pointing at its function in compgraph.functional.

Kept apart from tensor.py so that the node stays a page long; the arithmetic operators are
spelled out with `apply` because they are the hottest calls a training loop makes.
"""
from . import functional as F
from . import state
from .errors import GraphError
from .ops import OPS
from .tensor import Tensor, apply, as_tensor

_ADD, _SUB, _MUL, _DIV, _POW, _MATMUL, _NEG = (OPS[n] for n in
                                               ("add", "sub", "mul", "div", "pow", "matmul", "neg"))


def _other(x, like):
    return x if isinstance(x, Tensor) else as_tensor(x, like)


def _binary(op):
    def forward(self, other):
        return apply(op, (self, other if other.__class__ is Tensor else _other(other, self)))

    def reflected(self, other):
        return apply(op, (_other(other, self), self))
    return forward, reflected


Tensor.__add__, Tensor.__radd__ = _binary(_ADD)
Tensor.__sub__, Tensor.__rsub__ = _binary(_SUB)
Tensor.__mul__, Tensor.__rmul__ = _binary(_MUL)
Tensor.__truediv__, Tensor.__rtruediv__ = _binary(_DIV)
Tensor.__pow__, Tensor.__rpow__ = _binary(_POW)
Tensor.__matmul__, Tensor.__rmatmul__ = _binary(_MATMUL)
Tensor.__neg__ = lambda self: apply(_NEG, (self,))
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = F.abs
# t == None is False and t != None True, as in PyTorch (a plain comparison would refuse None)
Tensor.__eq__ = lambda self, other: False if other is None else F.eq(self, other)
Tensor.__ne__ = lambda self, other: True if other is None else F.ne(self, other)
Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__ = F.lt, F.le, F.gt, F.ge
Tensor.__getitem__ = F.getitem



def _augmented(op, symbol, ufunc):
    """x += y as PyTorch has it: x's own array changes (every name for x sees it), which is
    how `with no_grad(): w -= lr * w.grad` updates a weight.  The graph has no in-place
    nodes, so while gradients are being recorded through x or y it records x + y instead
    and rebinds the name, which gives the same values and gradients."""
    def method(self, other):
        if state.GRAD_ENABLED and (self.requires_grad or getattr(other, "requires_grad", False)):
            if self.requires_grad and self.op is None:
                raise GraphError(f"{symbol}: a leaf tensor that requires grad is being changed "
                                 "in place; do it inside compgraph.no_grad() (or on .data)")
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
Tensor.any = lambda self: bool(self._value.any())
Tensor.all = lambda self: bool(self._value.all())
Tensor.norm = lambda self, p=2: F.sqrt(F.sum(self * self)) if p == 2 else F.sum(F.abs(self) ** p) ** (1.0 / p)


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
