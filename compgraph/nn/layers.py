"""The basic layers: Linear, Embedding, Dropout(2d), LayerNorm, BatchNorm1d/2d, Flatten, and the
activations as modules.  Parameter shapes, names and initialisations follow PyTorch."""
import math
import warnings

import numpy as np

from .. import backend, state
from .. import functional as CF
from ..errors import ArgumentError, TraceError
from ..tensor import _make
from . import _fn_layers, _fn_more, init
from .module import Module, Parameter


def _empty(*shape, dtype=None):
    """A Parameter of the given shape (zeros until an init_ fills it)."""
    return Parameter(_make(np.zeros(shape, backend.as_dtype(dtype) or backend.get_default_dtype())))


class Identity(Module):
    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Linear(Module):
    """y = x W^T + b with W of shape (out_features, in_features).

    Initialised as PyTorch does: kaiming_uniform_(a=sqrt(5)) for W, which is
    U(-1/sqrt(in), 1/sqrt(in)), and the same bound for b.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = _empty(out_features, in_features, dtype=dtype)
        if bias:
            self.bias = _empty(out_features, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return _fn_layers.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table of num_embeddings rows of size embedding_dim, initialised N(0, 1);
    the row at padding_idx starts at zero and receives no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        super().__init__()
        if scale_grad_by_freq or sparse:
            raise ArgumentError("Embedding: scale_grad_by_freq=True and sparse=True are not "
                                "supported (dense gradients only)")
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ArgumentError(f"Embedding: padding_idx {padding_idx} is out of range for "
                                    f"{num_embeddings} embeddings")
            padding_idx %= num_embeddings
        self.padding_idx = padding_idx
        if _weight is None:
            self.weight = _empty(num_embeddings, embedding_dim, dtype=dtype)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ArgumentError(f"Embedding: _weight of shape {tuple(_weight.shape)} does not "
                                    f"match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._value[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input):
        return _fn_layers.embedding(input, self.weight, self.padding_idx, self.max_norm,
                                    self.norm_type)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        s += f", max_norm={self.max_norm}" if self.max_norm is not None else ""
        return s + (f", norm_type={self.norm_type}" if self.norm_type != 2 else "")


class Dropout(Module):
    """Zeroes elements with probability p in training (scaling the rest by 1/(1-p))."""

    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ArgumentError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input):
        return CF.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class LayerNorm(Module):
    """Normalises over the trailing normalized_shape dims; affine weight 1, bias 0."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = init.ones_(_empty(*self.normalized_shape, dtype=dtype))
            if bias:
                self.bias = _empty(*self.normalized_shape, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, input):
        return _fn_layers.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class BatchNorm1d(Module):
    """Batch normalisation over the channels of (N, C) or (N, C, L) input.

    Buffers running_mean (0), running_var (1) and num_batches_tracked (int64) are part of
    the state_dict.  momentum=None uses the cumulative average 1/num_batches_tracked.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        self.num_features = num_features
        self._has_bias = bias
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = init.ones_(_empty(num_features, dtype=dtype))
            if bias:          # bias=False (PyTorch 2.x): a scale without a shift
                self.bias = _empty(num_features, dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            dt = backend.as_dtype(dtype) or backend.get_default_dtype()
            self.register_buffer("running_mean", _make(np.zeros(num_features, dt)))
            self.register_buffer("running_var", _make(np.ones(num_features, dt)))
            self.register_buffer("num_batches_tracked", _make(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._value[...] = 0
            self.running_var._value[...] = 1
            self.num_batches_tracked._value[...] = 0

    def _check_input_dim(self, input):
        if input.ndim not in (2, 3) or input.shape[1] != self.num_features:
            raise ArgumentError(f"BatchNorm1d({self.num_features}): expected input of shape "
                                f"(N, {self.num_features}) or (N, {self.num_features}, L), "
                                f"got {tuple(input.shape)}")

    def forward(self, input):
        self._check_input_dim(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            if state.TRACE is not None:
                raise TraceError("compile: BatchNorm in training mode updates its running "
                                 "statistics outside the graph, which a replay would skip; "
                                 "compile the model in eval() mode")
            self.num_batches_tracked._value += 1
            if self.momentum is None:
                momentum = 1.0 / float(self.num_batches_tracked._value)
        # batch statistics in training, or always when no running ones are kept
        use_batch = self.training or not self.track_running_stats
        return _fn_layers.batch_norm(input, self.running_mean, self.running_var, self.weight,
                                     self.bias, use_batch, momentum, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self._has_bias}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm2d(BatchNorm1d):
    """Batch normalisation over the channels of (N, C, H, W) input: statistics over N, H
    and W; the same parameters, buffers and state_dict keys as BatchNorm1d."""

    def _check_input_dim(self, input):
        if input.ndim != 4 or input.shape[1] != self.num_features:
            raise ArgumentError(f"BatchNorm2d({self.num_features}): expected input of shape "
                                f"(N, {self.num_features}, H, W), got {tuple(input.shape)}")


class Dropout2d(Dropout):
    """Zeroes whole channels of (N, C, H, W) input with probability p in training."""

    def forward(self, input):
        return _fn_more.dropout2d(input, self.p, self.training)


class Flatten(Module):
    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return CF.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# --- activations ---------------------------------------------------------------------------

class Sigmoid(Module):
    def forward(self, input):
        return CF.sigmoid(input)


class Tanh(Module):
    def forward(self, input):
        return CF.tanh(input)


class ReLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return CF.relu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return CF.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha

    def forward(self, input):
        return CF.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return CF.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return CF.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class SiLU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _fn_more.silu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Mish(SiLU):
    def forward(self, input):
        return _fn_more.mish(input)


class LogSigmoid(Module):
    def forward(self, input):
        return _fn_more.logsigmoid(input)


def _legacy_softmax_dim(name, ndim):
    """PyTorch's choice when Softmax is built without dim: 0 for 0-, 1- and 3-D input, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  "to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("softmax", input.ndim)
        return CF.softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = self.dim if self.dim is not None else _legacy_softmax_dim("log_softmax", input.ndim)
        return CF.log_softmax(input, dim)

    def extra_repr(self):
        return f"dim={self.dim}"
