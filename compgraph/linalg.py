"""compgraph.linalg: the norms of torch.linalg (vector norms; 'fro' for matrices)."""
from .errors import ArgumentError
from .functional import _norm_impl


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The p-norm of the elements (over dim, or all of them); ord may be inf, -inf, 0.
    Its gradient at the zero vector is 0, as PyTorch's."""
    return _norm_impl("vector_norm", x, ord, dim, keepdim, dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm for what a vector norm computes: ord=None (the 2-norm of all
    elements, which is Frobenius for a matrix), 'fro', or a vector ord with a vector or an
    int dim.  Matrix norms that need a decomposition (2, 'nuc', ...) are not supported."""
    if ord is None or ord == "fro":
        if ord == "fro" and dim is None and A.ndim not in (2,):
            raise ArgumentError(f"linalg.norm: ord='fro' needs a matrix or dim=(d0, d1), got "
                                f"shape {tuple(A.shape)}")
        return _norm_impl("linalg.norm", A, 2, dim, keepdim, dtype)
    vector = isinstance(dim, int) or (dim is None and A.ndim == 1)
    if not vector or isinstance(ord, str):
        raise ArgumentError(f"linalg.norm: matrix norm ord={ord!r} is not supported (it needs "
                            "a singular value decomposition); use ord=None/'fro', or "
                            "vector_norm")
    return _norm_impl("linalg.norm", A, ord, dim, keepdim, dtype)


__all__ = ["norm", "vector_norm"]
