"""The building blocks of parity cases, so that a new public name is one line in case_table.

A Case is a generator `gen(d) -> (args, kwargs)` (d: oracle.Draw; arrays in args become
tensors of both libraries, float ones requiring grad) plus what the comparison needs to
know: grad (False: compare values only), tol / grad_tol (rtol, atol), post (makes outputs
comparable), examples (hypothesis examples; keep it small, the suite must stay fast) and
call (how the name is called; by default per surface: torch.f(*args), x.f(*rest),
F.f(*args), see test_oracle).
"""
from .oracle import ALL, FLOATS, INTS, NUMERIC, Const, DType  # noqa: F401  (re-exported for the table)


class Case:
    def __init__(self, gen, *, grad=True, tol=None, grad_tol=None, post=None, examples=None,
                 call=None, check_dtype=True, check_args=True):
        self.gen, self.grad, self.tol, self.grad_tol = gen, grad, tol, grad_tol
        self.post, self.examples, self.call = post, examples, call
        self.check_dtype, self.check_args = check_dtype, check_args

    def but(self, **changes):
        """This case with some fields changed (the same inputs, another tolerance, ...)."""
        new = Case(self.gen)
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new


def _scalar_or_tensor(d, shape, dtype, domain):
    # a Python number stands in for the second operand now and then, of either kind (an
    # int beside a float tensor, a float beside an int one): PyTorch's "wrapped number"
    # rules differ from a tensor's
    if d.int(0, 4) == 0:
        if d.bool():
            return float(d.array((), "float64", domain, edge=False))
        return int(d.array((), "int64", domain, edge=False))
    return d.array(shape, dtype, domain)


def unary(domain="real", dtypes=FLOATS, kwargs=None, **kw):
    """f(x) elementwise; kwargs(d) -> dict draws extra keyword arguments."""
    return Case(lambda d: ((d.tensor(None, dtypes, domain),), kwargs(d) if kwargs else {}), **kw)


def binary(a="real", b="real", dtypes=FLOATS, scalar=True, kwargs=None, edge=True, **kw):
    """f(x, y) with broadcasting shapes; y is sometimes a Python number, and now and then
    of another dtype of `dtypes` than x (mixed dtypes promote as PyTorch's do)."""
    def gen(d):
        sa, sb = d.shapes(2)
        dt = d.choice(dtypes)
        dt2 = dt if d.int(0, 3) else d.choice(dtypes)
        x = d.array(sa, dt, a, edge)
        y = _scalar_or_tensor(d, sb, dt2, b) if scalar else d.array(sb, dt2, b)
        return (x, y), (kwargs(d) if kwargs else {})
    return Case(gen, **kw)


def compare(dtypes=NUMERIC, **kw):
    """Comparisons: broadcasting, numbers on the right, not differentiable."""
    return binary(dtypes=dtypes, grad=False, **kw)


def reduction(domain="real", dtypes=FLOATS, dim_kw="dim", keepdim=True, tuple_dims=True,
              needs_dim=False, extra=None, nonempty=False, **kw):
    """f(x), f(x, dim), f(x, dim, keepdim=) with int or tuple dims, 0-d and empty inputs
    (dim= is sometimes spelled axis=, as PyTorch's NumPy-style alias lets a program)."""
    def gen(d):
        x = d.tensor(d.shape(min_side=1 if nonempty else 0), dtypes, domain)
        k = dict(extra(d)) if extra else {}
        form = d.int(1 if needs_dim else 0, 3)
        if form == 0:
            return (x,), k
        name = "axis" if dim_kw == "dim" and d.int(0, 3) == 0 else dim_kw
        if form == 3 and tuple_dims and x.ndim >= 2:
            dims = tuple(sorted({d.dim(x.ndim, False) % x.ndim for _ in range(2)}))
            k[name] = dims
        else:
            k[name] = d.dim(x.ndim)          # a 0-d x takes dim 0 and -1, as in PyTorch
        if keepdim and d.bool():
            k["keepdim"] = d.bool()
        return (x,), k
    return Case(gen, **kw)


def generic(fn, **kw):
    """Anything else: fn(d) -> (args, kwargs)."""
    return Case(fn, **kw)


def nondiff(case):
    return case.but(grad=False)


def values_only(gen, **kw):
    return Case(gen, grad=False, **kw)
