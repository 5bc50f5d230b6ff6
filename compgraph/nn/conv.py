"""Conv2d, Conv1d, MaxPool2d, AvgPool2d and AdaptiveAvgPool2d (NCHW), over the im2col ops
of compgraph/ops/conv.py."""
import math

from ..errors import ArgumentError, ArgumentValueError
from . import _fn_conv, _fn_more, init
from .layers import _empty
from .module import Module


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, PyTorch's initialisation and
    repr; a subclass names its dimensionality, how it reads a size, and its function."""
    _name = _sizes = _conv = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):
        super().__init__()
        name, sizes = self._name, type(self)._sizes
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"{name}: in_channels ({in_channels}) and out_channels "
                                f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ArgumentValueError(f"{name}: padding_mode must be one of {_PADDING_MODES}, "
                                     f"got {padding_mode!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = sizes(kernel_size, "kernel_size")
        self.stride = sizes(stride, "stride")
        for what, v in (("kernel_size", self.kernel_size), ("stride", self.stride)):
            if min(v) <= 0:
                raise ArgumentValueError(f"{name}: {what} must be positive, got {v}")
        self.padding = padding if isinstance(padding, str) else sizes(padding, "padding")
        self.dilation = sizes(dilation, "dilation")
        self.groups = groups
        self.padding_mode = padding_mode
        self.weight = _empty(out_channels, in_channels // groups, *self.kernel_size, dtype=dtype)
        if bias:
            self.bias = _empty(out_channels, dtype=dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        if self.padding_mode != "zeros":       # as PyTorch: F.pad in that mode, then no padding
            input = _fn_conv.pad(input, self._mode_pads(), mode=self.padding_mode)
            return type(self)._conv(input, self.weight, self.bias, self.stride, 0,
                                    self.dilation, self.groups)
        return type(self)._conv(input, self.weight, self.bias, self.stride, self.padding,
                                self.dilation, self.groups)

    def _mode_pads(self):
        """F.pad's amounts (last dim first) for the padding: 'same' puts the odd one on the
        right, as PyTorch."""
        pads = []
        for i in reversed(range(len(self.kernel_size))):
            if self.padding == "valid":
                left = right = 0
            elif self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                left, right = total // 2, total - total // 2
            else:
                left = right = self.padding[i]
            pads += [left, right]
        return tuple(pads)

    def extra_repr(self):
        n = len(self.kernel_size)
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding not in ((0,) * n, "valid"):
            s += f", padding={self.padding}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) with weight (out, in/groups, kh, kw).

    Initialised as PyTorch: kaiming_uniform_(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), ..) with
    fan_in = in/groups * kh * kw, and the same bound for the bias.
    """

    _name = "Conv2d"
    _sizes = staticmethod(lambda v, name: _pair(v))
    _conv = staticmethod(_fn_conv.conv2d)


class MaxPool2d(Module):
    """Max over windows; stride defaults to the kernel size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def forward(self, input):
        return _fn_conv.max_pool2d(input, self.kernel_size, self.stride, self.padding,
                                   self.dilation, self.ceil_mode, self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) of (N, C, L) input with weight (out, in/groups, k),
    run as a conv2d over a height of 1; initialised as Conv2d (fan_in = in/groups * k)."""

    _name = "Conv1d"
    _sizes = staticmethod(lambda v, name: (_fn_more._single(v, name),))
    _conv = staticmethod(_fn_more.conv1d)


class AvgPool2d(Module):
    """Mean over windows; stride defaults to the kernel size, padding counts towards the
    mean unless count_include_pad=False."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        return _fn_more.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                                   self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to output_size (an int, a pair, None entries keep the input's size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input):
        return _fn_more.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
