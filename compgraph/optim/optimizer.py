"""Optimizer: parameter groups, per-parameter state, zero_grad, state_dict.

Subclasses implement step() as a loop over each group's parameters that updates the raw
arrays in place (`p._value -= ...`): the Parameter objects, which modules and the graph
hold, never change identity, and no graph nodes are made.  step() is on the hot path of
every training loop, so the update loops stay plain Python over NumPy arrays.
"""
import copy

import numpy as np

from ..autograd import enable_grad
from ..errors import ArgumentError
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

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}                   # parameter -> dict of its state
        self.param_groups = []
        if isinstance(params, Tensor):
            raise ArgumentError("params argument given to the optimizer should be an iterable "
                                f"of Tensors or dicts, but got {type(params).__name__}")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, param_group):
        """Add a group {'params': [...], option: value, ...}; missing options take defaults."""
        if not isinstance(param_group, dict):
            raise ArgumentError(f"param group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
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
                raise ValueError("can't optimize a non-leaf Tensor")
        if len(set(params)) != len(params):
            raise ValueError("a parameter appears more than once in this parameter group")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        existing = {p for g in self.param_groups for p in g["params"]}
        if existing.intersection(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    @replayed
    def zero_grad(self, set_to_none=True):
        """Forget the gradients (None, the default as in PyTorch 2) or zero them in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad._value[...] = 0

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
        """Restore groups' options and per-parameter state saved by state_dict()."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter group(s), "
                             f"this optimizer has {len(self.param_groups)}")
        for i, (mine, theirs) in enumerate(zip(self.param_groups, saved_groups)):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(f"loaded state dict contains a parameter group ({i}) with "
                                 f"{len(theirs['params'])} parameters, this optimizer's has "
                                 f"{len(mine['params'])}")
        by_index = {}
        for mine, theirs in zip(self.param_groups, saved_groups):
            for saved_id, p in zip(theirs["params"], mine["params"]):
                by_index[saved_id] = p
        self.state = {}
        for key, s in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                continue
            self.state[p] = {k: self._cast_state(k, v, p) for k, v in s.items()}
        new_groups = []
        for mine, theirs in zip(self.param_groups, saved_groups):
            g = {k: copy.deepcopy(v) for k, v in theirs.items() if k != "params"}
            for k, v in g.items():
                if isinstance(self.defaults.get(k), tuple) and isinstance(v, list):
                    g[k] = tuple(v)
            g["params"] = mine["params"]
            new_groups.append(g)
        self.param_groups = new_groups

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


def _check(name, value, low=0.0):
    if not value >= low:
        raise ValueError(f"Invalid {name} value: {value}")
