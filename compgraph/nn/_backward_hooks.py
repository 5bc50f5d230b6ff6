"""Module.register_full_backward_hook / register_full_backward_pre_hook, as PyTorch's.

A call of a module with such hooks routes its positional tensor inputs and its output
tensors through identity nodes (clones), as PyTorch's BackwardHookFunction does, and puts
Tensor.register_hook hooks on them:
  - an output copy's gradient is grad_output: the pre-hooks run on it (hook(module,
    grad_output) may return a replacement);
  - an input copy's gradient is what the module sends back to that input: once every
    input copy that requires grad has its gradient, hook(module, grad_input, grad_output)
    runs (it may return a replacement grad_input).
grad_input has one entry per positional argument (None for non-tensors; zeros for a
tensor that needs no gradient, as PyTorch); grad_output one per output tensor (the output itself, or the
tensors at the top level of a tuple output), None for an output the loss does not use.
If no input requires grad, the hooks of a module with one output tensor run as soon as
grad_output is known, with grad_input all None (a module with a tuple output and no input
that needs a gradient runs no backward hooks: compgraph cannot tell when all its output
gradients are in).

Each tensor's gradient passes its hook separately, so a replacement from a full hook is
applied only for a module with one input that requires grad, and one from a pre-hook
only for a module with one output tensor; otherwise returning a value is refused with a
clear error (inspecting the gradients works in every case).
"""
import warnings

from .. import functional as CF
from .. import state
from ..errors import UnsupportedError
from ..tensor import Tensor


def has_backward_hooks(module):
    d = module.__dict__
    return bool(d.get("_backward_hooks")) or bool(d.get("_backward_pre_hooks"))


def _hooks(module, registry):
    return [h for h, _ in list(module.__dict__.get(registry, {}).values())]


def wrap_inputs(module, args):
    """(new args, call state): the tensor arguments that need a gradient, as copies whose
    gradients are collected for the full hooks."""
    call = _Call(module, len(args))
    if not state.GRAD_ENABLED:
        return args, None
    new = list(args)
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            c = CF.clone(a)
            c.register_hook(call.input_hook(i))
            call.waiting.add(i)
            new[i] = c
    if call.waiting:                  # as PyTorch: the other tensor inputs report zeros
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and not a.requires_grad:
                call.grad_input[i] = CF.zeros_like(a)
    return tuple(new), call


def wrap_outputs(call, out):
    if call is None:
        return out
    single = isinstance(out, Tensor)
    items = [out] if single else list(out) if isinstance(out, tuple) else []
    call.n_out = len(items)
    call.grad_output = [None] * len(items)
    call.single_out = single
    any_grad = False
    for k, o in enumerate(items):
        if isinstance(o, Tensor) and o.requires_grad:
            c = CF.clone(o)
            c.register_hook(call.output_hook(k))
            items[k] = c
            any_grad = True
    if not any_grad:
        return out
    return items[0] if single else type(out)(items) if type(out) is tuple else tuple(items)


class _Call:
    """The gradients of one call of the module, gathered as the backward sweep reaches them."""

    def __init__(self, module, n_args):
        self.module, self.n_args = module, n_args
        self.waiting = set()            # inputs whose gradient has not arrived yet
        self.grad_input = [None] * n_args
        self.grad_output, self.n_out, self.single_out = [], 0, True
        self.pre_done = self._replaced_out = False
        self._arrived = []              # inputs whose gradient has arrived, in sweep order

    def _run_pre_hooks(self):
        self.pre_done = True
        for hook in _hooks(self.module, "_backward_pre_hooks"):
            res = hook(self.module, tuple(self.grad_output))
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != len(self.grad_output):
                    raise UnsupportedError(
                        f"backward pre-hook of {type(self.module).__name__} returned "
                        f"{len(res)} gradient(s) for {len(self.grad_output)} output(s)")
                self.grad_output = list(res)
                self._replaced_out = True

    def _run_full_hooks(self):
        grad_input = tuple(self.grad_input)
        for hook in _hooks(self.module, "_backward_hooks"):
            res = hook(self.module, grad_input, tuple(self.grad_output))
            if res is not None:
                res = tuple(res) if isinstance(res, (tuple, list)) else (res,)
                if len(res) != self.n_args:
                    raise UnsupportedError(
                        f"backward hook of {type(self.module).__name__} returned {len(res)} "
                        f"gradient(s) for {self.n_args} input(s)")
                grad_input = res
        return grad_input

    def output_hook(self, k):
        def hook(g):
            self.grad_output[k] = g
            self._replaced_out = False
            if self.single_out:
                self._run_pre_hooks()
                if not self.waiting:          # no input needs a gradient: fire now
                    if _hooks(self.module, "_backward_hooks"):
                        warnings.warn("Full backward hook is firing when gradients are computed "
                                      "with respect to module outputs since no inputs require "
                                      "gradients", UserWarning, stacklevel=2)
                    self._run_full_hooks()
                return self.grad_output[0] if self._replaced_out else None
            return None
        return hook

    def input_hook(self, i):
        def hook(g):
            if not self.pre_done:             # a tuple output: every output is known now
                self._replaced_out = False
                self._run_pre_hooks()
                if self._replaced_out:
                    raise UnsupportedError(
                        f"backward pre-hook of {type(self.module).__name__}: replacing "
                        f"grad_output of a module with several outputs is not supported")
            self.grad_input[i] = g
            self.waiting.discard(i)
            self._arrived.append(i)
            if self.waiting:
                return None
            new = self._run_full_hooks()
            changed = [j for j in self._arrived if new[j] is not self.grad_input[j]]
            if not changed:
                return None
            if len(self._arrived) > 1:     # the others' gradients have gone on already
                raise UnsupportedError(
                    f"backward hook of {type(self.module).__name__}: replacing grad_input "
                    f"of a module with several inputs that require grad is not supported")
            return new[i]
        return hook
