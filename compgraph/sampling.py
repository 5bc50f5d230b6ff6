"""Random tensors as torch makes them: rand, randn, randint, randperm, normal, bernoulli,
multinomial, poisson, the *_like forms and the in-place fillers (uniform_, random_, ...).

Each takes ``generator=`` (a compgraph.Generator) and otherwise draws from the default
generator that manual_seed seeds. None is differentiable: their outputs are new leaves.
"""
import builtins

import numpy as np

from .errors import ArgumentError, ArgumentValueError, BoundsError, DTypeError, ShapeError
from .functional import _dt, _ints, _needs_size, _new, _size
from .random import rng
from .tensor import Tensor, as_tensor

_FLOATS = (np.float16, np.float32, np.float64)


def _float_dtype(name, dtype):
    dtype = _dt(dtype)
    if dtype.type not in _FLOATS:
        raise DTypeError(f"{name}: draws floating-point numbers; dtype {dtype} is not one "
                         "(use randint for integers)")
    return dtype


def _uniform(r, shape, dtype):
    """Uniform [0, 1) in `dtype`; float16 is drawn in float32 and kept below 1 after rounding."""
    if dtype.type is np.float16:
        return np.minimum(r.random(shape, np.float32).astype(dtype), np.float16(1 - 2 ** -11))
    return r.random(shape, dtype.type)


def _normal(r, shape, dtype):
    if dtype.type is np.float16:
        return r.standard_normal(shape, np.float32).astype(dtype)
    return r.standard_normal(shape, dtype.type)


def _into(out, result):
    """`result`, or written into `out` (out=, as torch's; its shape must fit)."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise ArgumentError(f"out= must be a tensor, got {type(out).__name__}")
    return out.copy_(result)


def rand(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False):
    _needs_size("rand", size)
    dtype = _float_dtype("rand", dtype if dtype is not None or out is None else out.dtype)
    return _into(out, _new(_uniform(rng(generator), _size("rand", size), dtype), requires_grad,
                           device))


def randn(*size, generator=None, out=None, dtype=None, device=None, requires_grad=False):
    _needs_size("randn", size)
    dtype = _float_dtype("randn", dtype if dtype is not None or out is None else out.dtype)
    return _into(out, _new(_normal(rng(generator), _size("randn", size), dtype), requires_grad,
                           device))


def randint(low=0, high=None, size=None, *, generator=None, out=None, dtype=None, device=None,
            requires_grad=False):
    """PyTorch's two forms: randint(high, size) and randint(low, high, size), ints in
    [low, high); size is a tuple and may also be given by keyword."""
    if isinstance(high, (tuple, list)) and size is None:
        low, high, size = 0, low, high          # randint(high, size)
    elif high is None:
        low, high = 0, low                      # randint(high, size=...)
    if not isinstance(size, (tuple, list)):
        raise ArgumentError(f"randint: size must be a tuple of ints, e.g. randint({low}, "
                            f"{high}, (3,)); got {size!r}")
    low, high = _ints("randint", (low, high), "low and high")
    if low >= high:
        raise ShapeError(f"randint: low must be less than high, got low={low} >= high={high}")
    dtype = _dt(dtype, np.dtype(np.int64))
    if dtype.kind in "biu":         # a bound outside the dtype would wrap the draws silently
        lo, hi = (0, 1) if dtype.kind == "b" else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        if low < lo or high - 1 > hi:
            raise BoundsError(f"randint: [{low}, {high}) does not fit in {dtype} (values "
                              f"{lo}..{hi}); pass a wider dtype")
    values = rng(generator).integers(low, high, _size("randint", size))
    return _into(out, _new(values.astype(dtype), requires_grad, device))


def randperm(n, *, generator=None, out=None, dtype=None, device=None, requires_grad=False):
    (n,) = _size("randperm", (n,))
    values = rng(generator).permutation(n).astype(_dt(dtype, np.dtype(np.int64)))
    return _into(out, _new(values, requires_grad, device))


def _like(name, fn):
    def like(input, *args, generator=None, dtype=None, device=None, requires_grad=False,
             memory_format=None, layout=None):
        return fn(*args, tuple(input.shape), generator=generator, dtype=dtype or input.dtype,
                  device=device or input.device, requires_grad=requires_grad)
    like.__name__ = like.__qualname__ = name
    like.__doc__ = f"{name}(input, ...): as {fn.__name__}, with input's shape, dtype and device."
    return like


rand_like = _like("rand_like", lambda shape, **kw: rand(shape, **kw))
randn_like = _like("randn_like", lambda shape, **kw: randn(shape, **kw))


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None,
                 requires_grad=False, memory_format=None, layout=None):
    """randint_like(input, high) or randint_like(input, low, high)."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), generator=generator,
                   dtype=dtype or input.dtype, device=device or input.device,
                   requires_grad=requires_grad)


def _values(x):
    return np.asarray(x.detach().cpu()._value)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad=False, out=None):
    """torch.normal's forms: (Tensor mean, Tensor std), (Tensor mean, float std=1),
    (float mean, Tensor std), and (float mean, float std, size)."""
    tensors = [v for v in (mean, std) if isinstance(v, Tensor)]
    if not tensors:
        if size is None:
            raise ArgumentError("normal: with a float mean and a float std, pass size (e.g. "
                                "normal(0., 1., (2, 3))), or give mean or std as a tensor")
        if not std >= 0:                                      # NaN too, as PyTorch
            raise ArgumentValueError(f"normal: std must be >= 0, got {std}")
        dtype = _float_dtype("normal", dtype)
        z = _normal(rng(generator), _size("normal", size), dtype)
        return _into(out, _new((z * dtype.type(std) + dtype.type(mean)).astype(dtype),
                               requires_grad, device))
    m, s = (_values(v) if isinstance(v, Tensor) else np.asarray(v) for v in (mean, std))
    if s.size and not builtins.bool((s >= 0).all()):          # NaN too, as PyTorch
        raise ArgumentValueError(f"normal: std must be >= 0 everywhere, found "
                                 f"{s[~(s >= 0)].flat[0]}")
    dtype = np.dtype(tensors[0].dtype)      # mean's dtype when it is a tensor, as PyTorch
    if dtype.type not in _FLOATS:
        raise DTypeError(f"normal: mean and std must be floating-point tensors, got {dtype}")
    try:
        shape = np.broadcast_shapes(m.shape, s.shape)
    except ValueError:
        raise ShapeError(f"normal: mean of shape {m.shape} and std of shape {s.shape} do not "
                         "broadcast") from None
    z = _normal(rng(generator), shape, np.dtype(np.float64))
    return _into(out, _new(np.asarray(z * s + m).astype(dtype), requires_grad, device or tensors[0].device))


def _probabilities(name, input, lo_ok=True):
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    if input.dtype.type not in _FLOATS:
        raise DTypeError(f"{name}: the probabilities must be a floating-point tensor, got "
                         f"{input.dtype}")
    return input, _values(input).astype(np.float64)


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 draws with probabilities `input` (or the float `p` for every element), in input's
    dtype and shape."""
    input, probs = _probabilities("bernoulli", input)
    if p is not None:
        probs = np.full(probs.shape, p, np.float64)
    if probs.size and not (builtins.bool(((probs >= 0) & (probs <= 1)).all())):
        raise ArgumentValueError(f"bernoulli: probabilities must lie in [0, 1], found values "
                                 f"from {np.nanmin(probs)} to {np.nanmax(probs)}")
    draws = np.asarray(rng(generator).random(probs.shape) < probs)   # 0-d: an array, not a scalar
    return _into(out, _new(draws.astype(input.dtype), False, input.device))


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices drawn from the (unnormalized) weights of each row of `input` (1-d:
    one distribution, 2-d: one per row); without replacement each index is drawn at most
    once per row, and indices of weight 0 come last, as in PyTorch."""
    input, w = _probabilities("multinomial", input)
    if w.ndim not in (1, 2):
        raise ShapeError(f"multinomial: the weights must be 1-d (one distribution) or 2-d (one "
                         f"per row), got shape {tuple(w.shape)}")
    (k,) = _ints("multinomial", (num_samples,), "num_samples")
    rows = w.reshape(-1, w.shape[-1])
    if k <= 0:
        raise ArgumentValueError(f"multinomial: num_samples must be positive, got {k}")
    if not replacement and k > rows.shape[1]:
        raise ShapeError(f"multinomial: cannot draw {k} samples without replacement from "
                         f"{rows.shape[1]} categories; pass replacement=True or ask for fewer")
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise ArgumentValueError("multinomial: the weights contain inf, nan or a negative value")
    totals = rows.sum(axis=1)
    if (totals <= 0).any():
        raise ArgumentValueError("multinomial: a distribution has weights summing to 0 or less "
                                 f"(row {int(np.argmax(totals <= 0))})")
    r = rng(generator)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        u = r.random((rows.shape[0], k)) * totals[:, None]
        picks = np.stack([np.minimum(np.searchsorted(c, ui, side="right"), len(c) - 1)
                          for c, ui in zip(cdf, u)])
    else:
        # successive draws without replacement = the k smallest of Exp(1)/weight (weight 0: inf)
        with np.errstate(divide="ignore"):
            keys = r.standard_exponential(rows.shape) / rows
        picks = np.argsort(keys, axis=1, kind="stable")[:, :k]
    picks = picks.astype(np.int64)
    return _into(out, _new(picks.reshape(w.shape[:-1] + (k,)), False, input.device))


_POISSON_MAX = 9.2e18        # NumPy's generator refuses rates past ~2**63 - 10 * 2**31.5


def poisson(input, generator=None):
    """Poisson counts with rates `input`, in input's dtype."""
    input, rates = _probabilities("poisson", input)
    if rates.size and (rates < 0).any():
        raise ArgumentValueError("poisson: rates must be non-negative")
    if rates.size and not (rates <= _POISSON_MAX).all():
        # NumPy's sampler stops there; PyTorch returns -2**63 for these (a silent wrong count)
        raise ArgumentValueError(f"poisson: rates must be finite and at most {_POISSON_MAX:.3g}, "
                                 f"got {rates[~(rates <= _POISSON_MAX)].flat[0]}")
    return _new(np.asarray(rng(generator).poisson(rates)).astype(input.dtype), False, input.device)


# --- in-place fillers, as Tensor methods ------------------------------------------------------

def _fill(self, what, values):
    return self._assign(what, Ellipsis, np.asarray(values).astype(self.dtype, copy=False))


def uniform_(self, a=0.0, b=1.0, *, generator=None, **kw):
    a, b = kw.get("from", a), kw.get("to", b)
    if a > b:
        raise ArgumentValueError(f"uniform_: expects from <= to, got from={a} > to={b}")
    return _fill(self, "uniform_", rng(generator).uniform(a, b, self.shape))


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    if std < 0:
        raise ArgumentValueError(f"normal_: std must be >= 0, got {std}")
    return _fill(self, "normal_", rng(generator).normal(mean, std, self.shape))


def _random_top(dtype):
    """The exclusive upper bound of random_() without bounds: every integer the dtype holds
    exactly (floats: up to 2**mantissa bits, as PyTorch)."""
    if dtype == np.bool_:
        return 2
    if dtype.kind == "f":
        return 2 ** (np.finfo(dtype).nmant + 1) + 1
    return int(np.iinfo(dtype).max) + 1


def random_(self, from_=None, to=None, *, generator=None, **kw):
    """Integers in [from, to), [0, from) with one bound, or every exact integer of the dtype."""
    from_ = kw.pop("from", from_)
    if kw:
        raise ArgumentError(f"random_: unexpected arguments {sorted(kw)}")
    if from_ is None:
        lo, hi = 0, _random_top(self.dtype)
    elif to is None:
        lo, hi = 0, from_
    else:
        lo, hi = from_, to
    lo, hi = _ints("random_", (lo, hi), "from and to")
    if lo >= hi:
        raise ArgumentValueError(f"random_: expects 'from' to be less than 'to', got "
                                 f"from={lo} >= to={hi}")
    return _fill(self, "random_", rng(generator).integers(lo, hi, self.shape, dtype=np.int64
                                                          if hi <= 2 ** 63 else np.uint64))


def bernoulli_(self, p=0.5, *, generator=None):
    probs = _values(p) if isinstance(p, Tensor) else np.asarray(p, np.float64)
    if probs.size and not builtins.bool(((probs >= 0) & (probs <= 1)).all()):
        raise ArgumentValueError("bernoulli_: p must lie in [0, 1]")
    return _fill(self, "bernoulli_", rng(generator).random(self.shape) < probs)


def exponential_(self, lambd=1.0, *, generator=None):
    if lambd <= 0:
        raise ArgumentValueError(f"exponential_: lambd must be positive, got {lambd}")
    return _fill(self, "exponential_", rng(generator).standard_exponential(self.shape) / lambd)


def geometric_(self, p, *, generator=None):
    if not 0 < p <= 1:
        raise ArgumentValueError(f"geometric_: p must be in (0, 1], got {p}")
    return _fill(self, "geometric_", rng(generator).geometric(p, self.shape))


def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
    return _fill(self, "cauchy_", median + sigma * rng(generator).standard_cauchy(self.shape))


def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
    return _fill(self, "log_normal_", rng(generator).lognormal(mean, std, self.shape))


for _f in (uniform_, normal_, random_, bernoulli_, exponential_, geometric_, cauchy_,
           log_normal_):
    setattr(Tensor, _f.__name__, _f)
Tensor.bernoulli = lambda self, p=None, *, generator=None: bernoulli(self, p,
                                                                     generator=generator)
Tensor.multinomial = multinomial
Tensor.poisson = poisson

__all__ = ["rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "normal", "bernoulli", "multinomial", "poisson"]
