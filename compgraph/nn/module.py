"""Module, Parameter and the containers (Sequential, ModuleList, ModuleDict).

A Module finds its parameters, buffers and submodules when they are assigned as
attributes, as PyTorch's does.  Each one is kept twice: in the ordered registry
(`_parameters`, `_buffers`, `_modules`), which fixes names and order, and in the
instance `__dict__`, so that `self.weight` inside `forward` is an ordinary attribute
lookup instead of a `__getattr__` fallback on every call.  Every write goes through
`__setattr__` / `__delattr__` / `_set_entry`, which keep the two in step.
"""
import collections

import numpy as np

from ..executors.replay import replayed
from .. import backend
from ..errors import ArgumentError, BoundsError, CompgraphError
from ..tensor import Tensor, _init
from . import _backward_hooks


class StateDictError(CompgraphError, RuntimeError):
    """load_state_dict found missing/unexpected keys (strict) or mismatched shapes."""


class Parameter(Tensor):
    """A Tensor that a Module registers as a learnable parameter (requires_grad by default).

    It shares its array with the tensor it is made from, as torch.nn.Parameter does.
    Results of operations on a Parameter are plain Tensors (the engine builds those).
    """
    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        return Tensor.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            value = np.zeros((0,), backend.get_default_dtype())
        elif isinstance(data, Tensor):
            value = data._value
        else:
            value = np.asarray(data)
        if requires_grad and value.dtype.kind not in "fc":
            raise ArgumentError(f"Parameter: only floating-point tensors can require "
                                f"gradients, got {value.dtype}")
        _init(self, value, bool(requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __reduce_ex__(self, protocol):   # copy.deepcopy / copy.copy keep the class
        return (Parameter, (np.array(self._value), self.requires_grad))


class RemovableHandle:
    """What register_forward_hook / register_forward_pre_hook return: remove() takes the
    hook off again (twice is harmless); also a context manager that removes it on exit."""

    _next_id = 0

    def __init__(self, module, registry):
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self._module = module
        self._registry = registry

    def remove(self):
        if self._module is not None:
            self._module._remove_hook(self._registry, self.id)
            self._module = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_IncompatibleKeys = collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class of every layer and model: subclass it, assign layers and Parameters
    in __init__, write forward(); call the module to run forward."""

    training = True

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise ArgumentError(f"Module.__init__() takes no arguments, got {args} {kwargs}")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers"] = set()
        d["_modules"] = {}

    # --- registration ---------------------------------------------------------------------
    def _registry(self):
        try:
            return self.__dict__["_parameters"], self.__dict__["_buffers"], self.__dict__["_modules"]
        except KeyError:
            raise CompgraphError(f"{type(self).__name__}: call super().__init__() in __init__ "
                                 "before assigning parameters or submodules") from None

    def __setattr__(self, name, value):
        if isinstance(value, Parameter):
            params, buffers, modules = self._registry()
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registry()
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif "_parameters" in self.__dict__:
            params, buffers, modules = self._registry()
            if name in params:
                if value is not None:
                    raise ArgumentError(f"cannot assign {type(value).__name__} as parameter "
                                        f"{name!r} (compgraph.nn.Parameter or None expected)")
                params[name] = None
            elif name in modules:
                if value is not None:
                    raise ArgumentError(f"cannot assign {type(value).__name__} as child module "
                                        f"{name!r} (compgraph.nn.Module or None expected)")
                modules[name] = None
            elif name in buffers:
                if value is not None and not isinstance(value, Tensor):
                    raise ArgumentError(f"cannot assign {type(value).__name__} as buffer "
                                        f"{name!r} (Tensor or None expected)")
                buffers[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        for reg in self._registry():
            reg.pop(name, None)
        self._non_persistent_buffers.discard(name)
        object.__delattr__(self, name)

    def __getattr__(self, name):
        # only reached when ordinary lookup fails: registered names live in __dict__
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def _set_entry(self, name, value):
        """Replace a registered tensor without type checks (functional_call's swap)."""
        params, buffers, _ = self._registry()
        (params if name in params else buffers)[name] = value
        object.__setattr__(self, name, value)

    def register_parameter(self, name, param):
        if param is not None and not isinstance(param, Parameter):
            raise ArgumentError(f"register_parameter: {name!r} must be a Parameter or None, "
                                f"got {type(param).__name__}")
        self._check_name(name, "parameter")
        self._registry()[0][name] = param
        object.__setattr__(self, name, param)

    def register_buffer(self, name, tensor, persistent=True):
        """A tensor that is part of the module's state (saved, moved) but not learned."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise ArgumentError(f"register_buffer: {name!r} must be a Tensor or None, "
                                f"got {type(tensor).__name__}")
        self._check_name(name, "buffer")
        self._registry()[1][name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)
        object.__setattr__(self, name, tensor)

    def add_module(self, name, module):
        if module is not None and not isinstance(module, Module):
            raise ArgumentError(f"add_module: {name!r} must be a Module or None, got "
                                f"{type(module).__name__}")
        self._check_name(name, "module")
        self._registry()[2][name] = module
        object.__setattr__(self, name, module)

    register_module = add_module

    def _check_name(self, name, kind):
        if not isinstance(name, str) or not name or "." in name:
            raise ArgumentError(f"{kind} name must be a non-empty string without '.', got {name!r}")
        params, buffers, modules = self._registry()
        taken = [reg for reg in (params, buffers, modules) if name in reg]
        if not taken and name in self.__dict__:
            raise ArgumentError(f"attribute {name!r} already exists")

    # --- running ---------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define one")

    _has_hooks = False        # a class default: modules without hooks pay one lookup a call

    def __call__(self, *args, **kwargs):
        if self._has_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        for hook, with_kwargs in list(self.__dict__.get("_forward_pre_hooks", {}).values()):
            if with_kwargs:
                res = hook(self, args, kwargs)
                if res is not None:
                    if not (isinstance(res, tuple) and len(res) == 2):
                        raise CompgraphError(f"forward pre-hook must return None or a tuple of "
                                             f"(new_args, new_kwargs), but got {res!r}")
                    args, kwargs = res
            else:
                res = hook(self, args)
                if res is not None:
                    args = res if isinstance(res, tuple) else (res,)
        backward = _backward_hooks.has_backward_hooks(self)
        if backward:
            args, call = _backward_hooks.wrap_inputs(self, args)
        out = self.forward(*args, **kwargs)
        for hook, with_kwargs in list(self.__dict__.get("_forward_hooks", {}).values()):
            res = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if res is not None:
                out = res
        return _backward_hooks.wrap_outputs(call, out) if backward else out

    def _add_hook(self, registry, hook, prepend, with_kwargs):
        if not callable(hook):
            raise ArgumentError(f"hook must be callable, got {type(hook).__name__}")
        d = self.__dict__
        hooks = d.setdefault(registry, {})
        handle = RemovableHandle(self, registry)
        entry = (hook, bool(with_kwargs))
        if prepend:
            d[registry] = {handle.id: entry, **hooks}
        else:
            hooks[handle.id] = entry
        d["_has_hooks"] = True
        return handle

    def _remove_hook(self, registry, hook_id):
        d = self.__dict__
        d.get(registry, {}).pop(hook_id, None)
        d["_has_hooks"] = any(d.get(r) for r in ("_forward_hooks", "_forward_pre_hooks",
                                                  "_backward_hooks", "_backward_pre_hooks"))

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """hook(module, args) runs before forward; returning a value (a tuple, or one value
        that is wrapped in one) replaces the positional arguments.  With with_kwargs,
        hook(module, args, kwargs) may return (args, kwargs).  handle.remove() undoes it."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False, always_call=False):
        """hook(module, args, output) runs after forward; returning a value replaces the
        output.  With with_kwargs, hook(module, args, kwargs, output).  handle.remove()
        undoes it."""
        if always_call:
            raise ArgumentError("register_forward_hook: always_call=True is not supported")
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """hook(module, grad_input, grad_output) runs when the gradients with respect to the
        module's positional inputs are computed; returning a tuple replaces grad_input
        (see compgraph/nn/_backward_hooks.py).  handle.remove() undoes it."""
        return self._add_hook("_backward_hooks", hook, prepend, False)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """hook(module, grad_output) runs when the gradients with respect to the module's
        outputs are computed; returning a tuple replaces grad_output."""
        return self._add_hook("_backward_pre_hooks", hook, prepend, False)

    # --- walking the tree --------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(memo, prefix + ("." if prefix else "") + name,
                                           remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, t in getattr(mod, registry).items():
                if t is None or (remove_duplicate and t in seen):
                    continue
                seen.add(t)
                yield mod_prefix + ("." if mod_prefix else "") + name, t

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs in registration order; a shared one appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        mod = self
        for part in target.split(".") if target else []:
            sub = mod._modules.get(part)
            if sub is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule {part!r} "
                                     f"(looking up {target!r})")
            mod = sub
        return mod

    def get_parameter(self, target):
        mod_name, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_name)
        if name not in mod._parameters:
            raise AttributeError(f"{type(mod).__name__} has no parameter {name!r}")
        return mod._parameters[name]

    # --- modes and gradients ------------------------------------------------------------------
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ArgumentError("train(mode): mode must be a bool")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    @replayed
    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p._grad is None:
                continue
            if set_to_none:
                p._grad = None
            else:
                p._grad._value[...] = 0

    def apply(self, fn):
        """Call fn on every submodule (children first) and on self, as PyTorch's apply."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # --- dtype and device ----------------------------------------------------------------------
    def _apply_arrays(self, convert, floating_only):
        """Replace every parameter's and buffer's array (and gradient) in place, so that
        optimizers and other holders of the Parameter objects keep seeing them."""
        for m in self.modules():
            for reg in (m._parameters, m._buffers):
                for t in reg.values():
                    if t is None or (floating_only and t.dtype.kind != "f"):
                        continue
                    t._value = convert(t._value)
                    if t._grad is not None:
                        t._grad._value = convert(t._grad._value)
        return self

    def to(self, *args, dtype=None, device=None):
        """to('cuda'), to(float64), to(device, dtype), to(tensor): in place, returns self."""
        for a in args:
            if isinstance(a, str) and (a == "cpu" or a.startswith("cuda")):
                device = a
            elif isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            else:
                dtype = a
        if device is not None:
            dev = backend.normalize_device(device)
            self._apply_arrays(lambda v: backend.to_device(v, dev), floating_only=False)
        if dtype is not None:
            dt = backend.as_dtype(dtype)
            if dt.kind != "f":
                raise ArgumentError(f"Module.to: only floating dtypes are accepted, got {dt}")
            self._apply_arrays(lambda v: v.astype(dt, copy=False), floating_only=True)
        return self

    def double(self):
        return self.to(backend.float64)

    def float(self):
        return self.to(backend.float32)

    def half(self):
        return self.to(backend.float16)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None):
        return self.to("cuda")

    # --- state -----------------------------------------------------------------------------
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """Ordered name -> tensor of every parameter and persistent buffer.

        The tensors are detached but share their arrays with the module (as PyTorch's
        do): copy them (e.g. `{k: v.clone() ...}` or compgraph.save) to keep a snapshot.
        """
        out = collections.OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def _own_state(self):
        """name -> the registered tensor, as state_dict names them (no detaching)."""
        return self.state_dict(keep_vars=True)

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from `state_dict` into the parameters and buffers, in place.

        Shapes must match (an error names every mismatched key with both shapes).  With
        strict, the keys must match exactly; otherwise missing and unexpected keys are
        returned in (missing_keys, unexpected_keys) and the rest is loaded.
        """
        own = self._own_state()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            src = state_dict[key]
            value = src._value if isinstance(src, Tensor) else np.asarray(src)
            if tuple(value.shape) != tuple(target.shape):
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{tuple(value.shape)} from checkpoint, the shape in current "
                              f"model is {tuple(target.shape)}.")
            else:
                arrays[key] = value
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: "
                              + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise StateDictError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                                 + "\n\t".join(errors))
        for key, value in arrays.items():
            target = own[key]
            if assign:
                target._value = np.array(value, dtype=target.dtype)
            else:
                # in place: whoever holds the tensor (an optimizer) keeps seeing it
                target._value[...] = value
        return _IncompatibleKeys(missing, unexpected)

    # --- printing --------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {child}")
        head = type(self).__name__ + "("
        if not lines:
            return head + ")"
        if len(lines) == 1 and not self._modules:
            return head + lines[0] + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return sorted(set(super().__dir__()))


# --- containers -----------------------------------------------------------------------------

class Sequential(Module):
    """Modules run one after another: Sequential(a, b, c)(x) == c(b(a(x)))."""

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (dict, collections.OrderedDict)):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, x):
        for m in self._modules.values():
            x = m(x)
        return x

    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise BoundsError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(collections.OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        setattr(self, key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for k in (keys[idx] if isinstance(idx, slice) else [keys[self._index(idx)]]):
            delattr(self, k)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters belong to the owner (a plain list hides them)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, idx):
        n = len(self._modules)
        if not -n <= idx < n:
            raise BoundsError(f"index {idx} is out of range for ModuleList of length {n}")
        return idx % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(self._index(idx))]

    def __setitem__(self, idx, module):
        self.add_module(str(self._index(idx)), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        del mods[idx]
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules):
        return self.extend(modules)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        mods = list(self._modules.values())
        mods.insert(index, module)
        for k in list(self._modules):
            delattr(self, k)
        for i, m in enumerate(mods):
            self.add_module(str(i), m)


class ModuleDict(Module):
    """A dict of modules (insertion-ordered) whose parameters belong to the owner."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def __delitem__(self, key):
        delattr(self, key)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key):
        m = self._modules[key]
        delattr(self, key)
        return m

    def clear(self):
        for k in list(self._modules):
            delattr(self, k)

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for k, m in items:
            self[k] = m

