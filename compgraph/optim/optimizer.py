"""Optimizer: parameter groups, per-parameter state, zero_grad, state_dict.

Subclasses implement step() as a loop over each group's parameters that updates the raw
arrays in place (`p._value -= ...`): the Parameter objects, which modules and the graph
hold, never change identity, and no graph nodes are made.  step() is on the hot path of
every training loop, so the update loops stay plain Python over NumPy arrays.
"""
import copy

import numpy as np

from ..autograd import enable_grad
from ..errors import ArgumentError, ArgumentValueError, MissingKeyError, ShapeError
from ..executors.replay import replayed
from ..tensor import Tensor


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class: `params` is an iterable of tensors, of (name, tensor) pairs, or of dicts
    (parameter groups, each with its own options overriding `defaults`)."""

    def __init_subclass__(cls, **kwargs):
        # compile() repeats step() on replay rather than tracing into its in-place updates
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__ and not getattr(cls.step, "__wrapped_by_replay__", False):
            cls.step = replayed(cls.step)

    # Per-parameter state a subclass's step() reads: keys every entry must have, and keys
    # it may have; load_state_dict checks saved state against them.
    _state_keys = ()
    _optional_state_keys = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}                   # parameter -> dict of its state
        self.param_groups = []
        if isinstance(params, Tensor):
            raise ArgumentError("params argument given to the optimizer should be an iterable "
                                f"of Tensors or dicts, but got {type(params).__name__}")
        if isinstance(params, (set, frozenset)):
            # PyTorch takes list() of a bare set; its order, and so which state goes
            # with which parameter in a checkpoint, would change between runs
            raise ArgumentError("optimizer parameters need to be organized in ordered "
                                "collections, but the ordering of tensors in sets changes "
                                "between runs; use a list instead")
        try:
            groups = list(params)
        except TypeError:
            hint = (" (a Module: pass model.parameters())"
                    if hasattr(params, "parameters") else "")
            raise ArgumentError("params argument given to the optimizer should be an iterable "
                                f"of Tensors or dicts, but got {type(params).__name__}"
                                f"{hint}") from None
        if not groups:
            raise ArgumentValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group {'params': [...], option: value, ...}; missing options take defaults."""
        if not isinstance(param_group, dict):
            raise ArgumentError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise MissingKeyError(
                f"parameter group {len(self.param_groups)} has no 'params' key (its keys: "
                f"{sorted(map(str, group))}); a group is a dict {{'params': [tensors...], "
                "option: value, ...}")
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise ArgumentError("optimizer parameters need to be organized in ordered "
                                "collections, but the ordering of tensors in sets changes "
                                "between runs; use a list instead")
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        for p in params:
            if not isinstance(p, Tensor):
                raise ArgumentError(f"optimizer can only optimize Tensors, but one of the "
                                    f"params is {type(p).__name__}")
            if not p.is_leaf:
                raise ArgumentValueError("can't optimize a non-leaf Tensor")
        if len(set(params)) != len(params):
            raise ArgumentValueError("a parameter appears more than once in this parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ArgumentValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        existing = {p for g in self.param_groups for p in g["params"]}
        if existing.intersection(params):
            raise ArgumentValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    @replayed
    def zero_grad(self, set_to_none=True):
        """Forget the gradients (None, the default as in PyTorch 2) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    if set_to_none:
                        p._grad = None
                    else:
                        p._grad._value[...] = 0

    def step(self, closure=None):
        raise NotImplementedError

    def _closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- state -------------------------------------------------------------------------------
    def state_dict(self):
        """Plain data: {'state': {index: {name: array or number}}, 'param_groups': [...]},
        parameters named by their position across the groups; arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            entry = {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in group.items() if k != "params"}
            ids = []
            for p in group["params"]:
                index.setdefault(p, len(index))
                ids.append(index[p])
            entry["params"] = ids
            groups.append(entry)
        state = {}
        for p, s in self.state.items():
            if p in index:
                state[index[p]] = {k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
                                   for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore groups' options and per-parameter state saved by state_dict().

        Everything is checked before anything changes: the layout (groups, parameters per
        group), each state array's shape against its parameter's, the state keys against
        those this optimizer's step() uses, and the groups' options against its defaults;
        a state from another model or another optimizer is refused here, not at step()."""
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise ArgumentError(f"{name}.load_state_dict: expected a dict from state_dict(), "
                                f"got {type(state_dict).__name__}")
        missing = [k for k in ("state", "param_groups") if k not in state_dict]
        if missing:
            raise MissingKeyError(f"{name}.load_state_dict: the state dict lacks "
                                  f"{' and '.join(repr(k) for k in missing)} (its keys: "
                                  f"{sorted(map(str, state_dict))}); pass what "
                                  "optimizer.state_dict() returned")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ArgumentValueError(f"loaded state dict has {len(saved_groups)} parameter "
                                     f"group(s), this optimizer has {len(self.param_groups)}")
        for i, (mine, theirs) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(theirs, dict) or "params" not in theirs:
                raise MissingKeyError(f"{name}.load_state_dict: param_groups[{i}] has no "
                                      "'params' list")
            if len(mine["params"]) != len(theirs["params"]):
                raise ArgumentValueError(
                    f"loaded state dict contains a parameter group ({i}) with "
                    f"{len(theirs['params'])} parameters, this optimizer's has "
                    f"{len(mine['params'])}")
            # Flags added over time (maximize, amsgrad, ...) may be absent from older
            # state and take their defaults; a missing rate or coefficient means the state
            # is another optimizer's.
            lacking = [k for k, d in self.defaults.items()
                       if k not in theirs and not isinstance(d, bool)]
            if lacking:
                raise MissingKeyError(
                    f"{name}.load_state_dict: param_groups[{i}] lacks {', '.join(lacking)}, "
                    f"which {name} needs (it has: {', '.join(sorted(k for k in theirs if k != 'params'))}); "
                    "was the state saved from another optimizer?")
        by_index = {}
        for mine, theirs in zip(self.param_groups, saved_groups):
            for saved_id, p in zip(theirs["params"], mine["params"]):
                by_index[saved_id] = p
        position = {p: i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        new_state = {}
        for key, s in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                continue
            self._check_saved_state(s, p, position[p], key)
            new_state[p] = {k: self._cast_state(k, v, p) for k, v in s.items()}
        new_groups = []
        for mine, theirs in zip(self.param_groups, saved_groups):
            g = {k: copy.deepcopy(v) for k, v in theirs.items() if k != "params"}
            for k, v in g.items():
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    g[k] = tuple(v)
            for k, d in self.defaults.items():
                g.setdefault(k, d)
            g["params"] = mine["params"]
            new_groups.append(g)
        self.state = new_state
        self.param_groups = new_groups

    def _check_saved_state(self, saved, param, index, key):
        name = type(self).__name__
        if not isinstance(saved, dict):
            raise ArgumentError(f"{name}.load_state_dict: state[{key!r}] should be a dict of "
                                f"the parameter's state, got {type(saved).__name__}")
        known = set(self._state_keys) | set(self._optional_state_keys)
        unknown = sorted(set(saved) - known)
        absent = [k for k in self._state_keys if k not in saved]
        if unknown or absent:
            raise ArgumentValueError(
                f"{name}.load_state_dict: the state of parameter {index} has keys "
                f"{sorted(saved)}, but {name} keeps {', '.join(self._state_keys)}"
                + (f" (optionally {', '.join(self._optional_state_keys)})"
                   if self._optional_state_keys else "")
                + "; was it saved from another optimizer?")
        for k, v in saved.items():
            if isinstance(v, Tensor):
                v = v._value
            if k != "step" and isinstance(v, np.ndarray) and v.shape != tuple(param.shape):
                raise ShapeError(
                    f"{name}.load_state_dict: state {k!r} of parameter {index} has shape "
                    f"{tuple(v.shape)}, but the parameter has shape {tuple(param.shape)}; "
                    "was the state saved for another model?")

    @staticmethod
    def _cast_state(key, value, param):
        """Arrays come back as fresh arrays; floating ones in the parameter's dtype
        (the step counter stays as it was)."""
        if isinstance(value, Tensor):
            value = value._value
        if isinstance(value, np.ndarray):
            if key != "step" and value.dtype.kind == "f":
                return np.array(value, dtype=param.dtype)
            return np.array(value)
        return copy.deepcopy(value)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(k for k in group if k != "params"):
                lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)


def _check_betas(betas):
    try:
        n = len(betas)
    except TypeError:
        n = None
    if n != 2:
        raise ArgumentError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        try:
            ok = 0.0 <= b < 1.0
        except TypeError:
            raise ArgumentError(f"Invalid beta parameter at index {i}: {b!r} is a "
                                f"{type(b).__name__}, expected a number") from None
        if not ok:
            raise ArgumentValueError(f"Invalid beta parameter at index {i}: {b}")
    return tuple(betas)


def _check(name, value, low=0.0):
    """PyTorch's argument check and message: "Invalid epsilon value: -1" (NaN fails too),
    with a clear TypeError for a value that is not a number at all (lr="0.1")."""
    label = "learning rate" if name == "learning rate" else f"{name} value"
    try:
        ok = value >= low
        ok = bool(ok)
    except (TypeError, ValueError):
        raise ArgumentError(f"Invalid {label}: {value!r} is a {type(value).__name__}, "
                            "expected a number") from None
    if not ok:
        raise ArgumentValueError(f"Invalid {label}: {value}")


def _grad_shape_error(optimizer, param, grad):
    """The step() refusal for p.grad of another shape than p (found by one comparison in
    the update loop, so it costs nothing until it fires)."""
    where = "?"
    for gi, group in enumerate(optimizer.param_groups):
        for pi, p in enumerate(group["params"]):
            if p is param:
                where = f"{pi} of group {gi}"
    return ShapeError(
        f"{type(optimizer).__name__}.step(): parameter {where} has shape {tuple(param.shape)}, "
        f"but its .grad has shape {tuple(grad.shape)}; a gradient must have its parameter's "
        "shape (was p.grad assigned by hand?)")
