"""More of torch.nn's modules: the activations CELU, SELU, Hardtanh, ReLU6, Hardsigmoid,
Hardswish, Softsign, Softmin, PReLU; ConvTranspose1d/2d, Conv3d, AvgPool3d, MaxUnpool2d and
Upsample.  Each is its function in compgraph.nn.functional plus PyTorch's arguments,
parameters, initialisation and repr."""
import math

from .. import functional as CF
from ..errors import ArgumentError, ShapeError
from . import _fn_act, _fn_convnd, _fn_resample, init
from .conv import _ConvNd
from .layers import _empty
from .module import Module


# --- activations ---------------------------------------------------------------------------------

class CELU(Module):
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return CF.celu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return CF.selu(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardtanh(Module):
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if min_val > max_val:
            raise ArgumentError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val "
                                f"({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return _fn_act.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class _Plain(Module):
    _fn = None

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return type(self)._fn(input)


class Hardsigmoid(_Plain):
    _fn = staticmethod(_fn_act.hardsigmoid)


class Hardswish(_Plain):
    _fn = staticmethod(_fn_act.hardswish)


class Softsign(Module):
    def forward(self, input):
        return _fn_act.softsign(input)


class Softmin(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return _fn_act.softmin(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class PReLU(Module):
    """prelu with num_parameters learnable slopes (1 shared, or one per channel), all init."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        self.weight = _empty(num_parameters, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        return _fn_act.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


# --- convolutions --------------------------------------------------------------------------------

class Conv3d(_ConvNd):
    """3-D convolution with weight (out, in/groups, kd, kh, kw), initialised as Conv2d."""

    _name = "Conv3d"
    _sizes = staticmethod(lambda v, name: _fn_convnd._tuple(v, 3, name))
    _conv = staticmethod(_fn_convnd.conv3d)


class _ConvTransposeNd(Module):
    """What ConvTranspose1d/2d share: the weight is (in, out/groups, *kernel), initialised as
    PyTorch's (kaiming_uniform_(a=sqrt(5)), whose fan_in is then out/groups * kernel)."""
    _n = _name = _fn = None

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):
        super().__init__()
        n, name = self._n, self._name
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"{name}: in_channels ({in_channels}) and out_channels "
                                f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ArgumentError(f"{name}: only 'zeros' padding mode is supported, got "
                                f"{padding_mode!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _fn_convnd._tuple(kernel_size, n, "kernel_size")
        self.stride = _fn_convnd._tuple(stride, n, "stride")
        self.padding = _fn_convnd._tuple(padding, n, "padding")
        self.output_padding = _fn_convnd._tuple(output_padding, n, "output_padding")
        self.dilation = _fn_convnd._tuple(dilation, n, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = _empty(in_channels, out_channels // groups, *self.kernel_size, dtype=dtype)
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

    def _output_padding(self, input, output_size):
        if output_size is None:
            return self.output_padding
        output_size = tuple(output_size)[-self._n:]
        out = []
        for i, want in enumerate(output_size):
            size = input.shape[input.ndim - self._n + i]
            least = ((size - 1) * self.stride[i] - 2 * self.padding[i]
                     + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            if not least <= want < least + self.stride[i]:
                raise ShapeError(f"{self._name}: requested an output size of {output_size}, but "
                                 f"valid sizes range from {least} to {least + self.stride[i] - 1} "
                                 f"(for an input of {tuple(input.shape[-self._n:])})")
            out.append(want - least)
        return tuple(out)

    def forward(self, input, output_size=None):
        return type(self)._fn(input, self.weight, self.bias, self.stride, self.padding,
                              self._output_padding(input, output_size), self.groups, self.dilation)

    def extra_repr(self):
        n = self._n
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose2d(_ConvTransposeNd):
    _n, _name = 2, "ConvTranspose2d"
    _fn = staticmethod(_fn_convnd.conv_transpose2d)


class ConvTranspose1d(_ConvTransposeNd):
    _n, _name = 1, "ConvTranspose1d"
    _fn = staticmethod(_fn_convnd.conv_transpose1d)


# --- pooling and resampling ------------------------------------------------------------------------

class AvgPool3d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return _fn_convnd.avg_pool3d(input, self.kernel_size, self.stride, self.padding,
                                     self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        self.kernel_size = pair(kernel_size)
        self.stride = pair(stride if stride is not None else kernel_size)
        self.padding = pair(padding)

    def forward(self, input, indices, output_size=None):
        return _fn_resample.max_unpool2d(input, indices, self.kernel_size, self.stride,
                                         self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(s) for s in scale_factor)
        elif scale_factor is not None:
            scale_factor = float(scale_factor)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input):
        return _fn_resample.interpolate(input, self.size, self.scale_factor, self.mode,
                                        self.align_corners, self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else f"size={self.size}"
        return f"{what}, mode={self.mode!r}"
