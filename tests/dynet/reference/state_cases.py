"""Reference cases of a graph's state over time: what expressions hold after the parameters
change in the same graph (trainer.update(), set_value()), recalculation, cg_checkpoint/
cg_revert, forward()'s result; and the trainers' details where they show: a frozen
parameter's gradient in the clipping norm, clipped updates (DyNet's order of float32
operations), Adam's eps.  Each returns plain numbers (see cases.py for the format)."""
import numpy as np

from cases import case
from harness import data


def _arr(e):
    return np.asarray(e.npvalue(), dtype=float)


def _model(c):
    p = c.param("p", data(3, 1))
    q = c.param("q", data(2, 2))
    W = c.param("W", data((2, 3), 3))
    E = c.lookup("E", data((4, 3), 4))
    return p, q, W, E


@case("SimpleSGDTrainer/stale_values_after_update", covers=("parameter", "lookup"), grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    t = dy.SimpleSGDTrainer(c.m, 0.5)
    e = dy.parameter(p)
    x, xb = E[1], dy.lookup_batch(E, [0, 1])
    h = dy.tanh(W * e + W * x)
    side = dy.sum_elems(dy.cmult(e, e))              # built before the forward, not in the loss
    loss = dy.sum_elems(h) + dy.sum_batches(dy.sum_elems(xb))
    out = {"loss": loss.value()}
    late_q, late_x, late_b = dy.parameter(q), E[2], dy.lookup_batch(E, [1, 3])
    loss.backward()
    t.update()
    out.update({
        "p_after": p.as_array(), "E_after": E.as_array(),
        "old_e": _arr(e), "old_h": _arr(h), "old_x": _arr(x), "old_xb": _arr(xb),
        "side": side.value(), "loss_again": loss.value(),
        "from_old_e": _arr(e * 2.0), "param_again": _arr(dy.parameter(p)),
        "p_as_expr": _arr(p * 1.0), "p_value": np.array(p.npvalue(), dtype=float),
        "const_param": _arr(dy.const_parameter(p)), "expr_const_new": _arr(p.expr()),
        "new_lookup": _arr(E[1]), "new_batch": _arr(dy.lookup_batch(E, [1, 0])),
        "late_q": _arr(late_q), "late_x": _arr(late_x), "late_b": _arr(late_b),
        "table_whole": _arr(dy.parameter(E)),
    })
    loss.backward()                                  # again: the old values' gradients
    out["grad_p_again"], out["grad_E_again"] = p.grad_as_array(), E.grad_as_array()
    t.update()
    out["p_twice"], out["E_twice"] = p.as_array(), E.as_array()
    out["loss_recalc"] = loss.value(recalculate=True)
    out["e_after_recalc"] = _arr(e)
    return out


@case("AdamTrainer/stale_values_two_updates_one_graph", grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    t = dy.AdamTrainer(c.m, 0.1)
    loss = dy.squared_norm(W * p + q) + dy.squared_norm(E[3])
    out = {"loss": loss.value()}
    for k in range(3):
        loss.backward()
        t.update()
        out[f"W{k}"], out[f"E{k}"] = W.as_array(), E.as_array()
    out["loss_again"] = loss.value()
    out["loss_recalc"] = loss.value(recalculate=True)
    return out


@case("Parameters/set_value_after_forward", covers=("LookupParameters",), grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    e, x = dy.parameter(p), E[1]
    y = dy.sum_elems(e * 3.0) + dy.sum_elems(x)
    out = {"y": y.value()}
    unreached = dy.parameter(q) * 1.0                  # built, never computed before the change
    unreached_x = E[2]
    p.set_value(data(3, 7))
    q.set_value(data(2, 8))
    E.init_row(1, data(3, 9))
    E.init_row(2, data(3, 10))
    out.update({"e": _arr(e), "x": _arr(x), "y_again": y.value(), "from_e": _arr(e * 1.0),
                "unreached": _arr(unreached), "unreached_x": _arr(unreached_x),
                "new_x": _arr(E[1]), "const_new": _arr(p.expr()), "as_array": p.as_array()})
    W.scale(2.0)
    out["W_scaled_new_node"] = _arr(W)
    out["y_recalc"] = y.value(recalculate=True)
    return out


@case("cg_revert/values_after_update", covers=("cg_checkpoint",), grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    t = dy.SimpleSGDTrainer(c.m, 0.5)
    base = dy.sum_elems(W * p)
    out = {"base": base.value()}
    # DyNet 2.1.2 aborts in cg_revert() when the backward memory in use shrank since the
    # checkpoint (a larger backward of an earlier graph): a backward here first sizes it
    base.backward()
    dy.cg_checkpoint()
    loss = dy.sum_elems(dy.tanh(W * p)) + dy.sum_elems(E[1])
    out["loss"] = loss.value()
    loss.backward()
    t.update()
    dy.cg_revert()
    out.update({"base_after": base.value(), "from_p": dy.sum_elems(W * p).value(),
                "new_lookup": _arr(E[1]), "W": W.as_array()})
    return out


@case("renew_cg/immediate_compute_after_update", grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    t = dy.SimpleSGDTrainer(c.m, 0.5)
    dy.renew_cg(immediate_compute=True)
    e = dy.parameter(W)
    loss = dy.sum_elems(dy.tanh(e * p))
    loss.backward()
    t.update()
    out = {"e": _arr(e), "W": W.as_array(), "again": dy.sum_elems(dy.tanh(W * p)).value()}
    dy.renew_cg()
    return out


@case("Expression/forward_returns_none", covers=("forward",), grad=False)
def _(dy, c):
    p, q, W, E = _model(c)
    y = dy.tanh(W * p)
    r1 = y.forward()
    r2 = p.forward()
    r3 = dy.forward([y])
    return {"none": np.array([r is None for r in (r1, r2, r3)], dtype=float), "y": _arr(y)}


def _clip_steps(dy, c, make, frozen=None, steps=3, thr=0.5):
    """Updates with clipping active (threshold thr, loss gradients well above it); `frozen`
    names a parameter set_updated(False)."""
    p, q, W, E = _model(c)
    t = make(c.m)
    t.set_clip_threshold(thr)
    if frozen is not None:
        {"q": q, "E": E}[frozen].set_updated(False)
    out = {}
    for s in range(steps):
        dy.renew_cg()
        loss = dy.squared_norm(W * p * 3.0 + q * 2.0) + dy.squared_norm(E[s % 3] * 4.0)
        out[f"loss{s}"] = loss.value()
        loss.backward()
        t.update()
        for name, prm in (("p", p), ("q", q), ("W", W), ("E", E)):
            out[f"{name}{s}"] = prm.as_array()
        out[f"grad_q{s}"], out[f"grad_E{s}"] = q.grad_as_array(), E.grad_as_array()
    return out


_TRAINERS = {
    "SimpleSGDTrainer": lambda dy: (lambda m: dy.SimpleSGDTrainer(m, learning_rate=0.3)),
    "MomentumSGDTrainer": lambda dy: (lambda m: dy.MomentumSGDTrainer(m, learning_rate=0.2, mom=0.8)),
    "AdagradTrainer": lambda dy: (lambda m: dy.AdagradTrainer(m, learning_rate=0.2, eps=1e-8)),
    "AdadeltaTrainer": lambda dy: (lambda m: dy.AdadeltaTrainer(m, eps=1e-6, rho=0.9)),
    "RMSPropTrainer": lambda dy: (lambda m: dy.RMSPropTrainer(m, learning_rate=0.05, eps=1e-8, rho=0.9)),
    "AdamTrainer": lambda dy: (lambda m: dy.AdamTrainer(m, alpha=0.05, beta_1=0.8, beta_2=0.9, eps=1e-8)),
    "AmsgradTrainer": lambda dy: (lambda m: dy.AmsgradTrainer(m, alpha=0.05, beta_1=0.8, beta_2=0.9, eps=1e-8)),
    "CyclicalSGDTrainer": lambda dy: (lambda m: dy.CyclicalSGDTrainer(m, learning_rate_min=0.01, learning_rate_max=0.3,
                                                                     step_size=2, gamma=0.9)),
}

for _name, _make in _TRAINERS.items():
    case(f"{_name}/clipped_steps", grad=False)(
        (lambda mk: lambda dy, c: _clip_steps(dy, c, mk(dy)))(_make))
for _frozen in ("q", "E"):
    case(f"SimpleSGDTrainer/frozen_{_frozen}_counts_in_clip_norm", covers=("set_updated",), grad=False)(
        (lambda fz: lambda dy, c: _clip_steps(dy, c, _TRAINERS["SimpleSGDTrainer"](dy), fz, 4))(_frozen))
case("AdamTrainer/frozen_q_counts_in_clip_norm", grad=False)(
    lambda dy, c: _clip_steps(dy, c, _TRAINERS["AdamTrainer"](dy), "q", 3))


@case("AdamTrainer/eps_matters", grad=False)
def _(dy, c):
    """Small gradients and a large eps: eps added to sqrt(v) (DyNet) or to sqrt(v_hat)
    give visibly different steps."""
    p, q, W, E = _model(c)
    out = {}
    for k, eps in enumerate((0.5, 1e-3)):
        t = dy.AdamTrainer(c.m, alpha=0.1, beta_1=0.9, beta_2=0.999, eps=eps)
        t.set_clip_threshold(0)
        for s in range(3):
            dy.renew_cg()
            loss = dy.squared_norm(W * p + q) * 0.01 + dy.squared_norm(E[1]) * 0.001
            loss.backward()
            t.update()
            out[f"W{k}_{s}"], out[f"q{k}_{s}"], out[f"E{k}_{s}"] = W.as_array(), q.as_array(), E.as_array()
    return out


@case("Expression/npvalue_is_float64", covers=("npvalue",), grad=False)
def _(dy, c):
    """DyNet hands values and parameters out as float64 arrays (a program's NumPy arithmetic
    on them, and their printing, follow)."""
    p, q, W, E = _model(c)
    y = dy.tanh(W * p)
    y.value()
    dy.sum_elems(y).backward()
    arrays = (y.npvalue(), W.npvalue(), W.as_array(), W.grad_as_array(), E.as_array(),
              E.grad_as_array(), E.row_as_array(1), E.rows_as_array([0, 1]), p.grad_as_array())
    return {"float64": np.array([a.dtype == np.float64 for a in arrays], dtype=float),
            "scalar_is_float": np.array([isinstance(dy.sum_elems(y).value(), float)], dtype=float)}


@case("binary_log_loss/saturated_probabilities")
def _(dy, c):
    """x of exactly 0 and 1 (a float32 sigmoid saturates there): DyNet's loss is finite, its
    gradient too (a VAE's reconstruction loss on binarized pixels)."""
    x = c.param("x", np.array([0.0, 1.0, 0.0, 1.0, 0.5, 1.0, 0.2]))
    y = dy.inputVector([1.0, 0.0, 0.0, 1.0, 0.3, 0.3, 1.0])
    return dy.binary_log_loss(x, y)


@case("ParameterCollection/device_names", covers=("add_parameters",), grad=False)
def _(dy, c):
    """Which device names add_parameters takes on a machine without GPUs (1: accepted)."""
    ok = []
    for d in ("CPU", "", "cpu", "CPU:0", "GPU:0", "GPU:1"):
        try:
            c.m.add_parameters(2, device=d)
            ok.append(1.0)
        except RuntimeError:
            ok.append(0.0)
    return {"accepted": np.array(ok)}
