"""torch.nn.parameter: Parameter, at PyTorch's import path."""
from .module import Parameter  # noqa: F401

__all__ = ["Parameter"]
