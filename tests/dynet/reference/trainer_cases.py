"""Reference cases of the trainers: two update() steps from fixed parameters and a fixed
loss, then the parameter values (see cases.py for the format)."""
import numpy as np

from cases import case
from harness import data


def _steps(dy, c, make, steps=2, sparse=True):
    """Parameters W (3x2), b (3) and a lookup table E (4x2); loss of two rows of E."""
    W, b = c.param("W", data((3, 2), 1)), c.param("b", data(3, 2))
    E = c.lookup("E", data((4, 2), 3))
    t = make(c.m)
    t.set_sparse_updates(sparse)
    losses = []
    for s in range(steps):
        dy.renew_cg()
        h = dy.tanh(W * E[s % 2] + b)
        loss = dy.pickneglogsoftmax(h * 3.0, s) + dy.squared_norm(E[2])
        losses.append(loss.value())
        loss.backward()
        t.update()
    return {"losses": np.array(losses), "W": W.as_array(), "b": b.as_array(), "E": E.as_array()}


TRAINERS = {
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

for _name, _make in TRAINERS.items():
    for _sparse in (True, False):
        case(f"{_name}/two_steps{'' if _sparse else '_dense'}", grad=False)(
            (lambda mk, sp: lambda dy, c: _steps(dy, c, mk(dy), 3, sp))(_make, _sparse))


@case("SimpleSGDTrainer/defaults_and_clipping", covers=("Trainer",), grad=False)
def _(dy, c):
    W = c.param("W", data((3, 2), 1) * 10)
    t = dy.SimpleSGDTrainer(c.m)
    dy.renew_cg()
    loss = dy.squared_norm(W * dy.inputVector([3.0, -4.0]))
    loss.backward()
    t.update()
    out = {"clipped": W.as_array()}
    t.set_clip_threshold(0)
    dy.renew_cg()
    dy.squared_norm(W * dy.inputVector([3.0, -4.0])).backward()
    t.update()
    out["unclipped"] = W.as_array()
    t.learning_rate = 0.05
    dy.renew_cg()
    dy.squared_norm(W * dy.inputVector([1.0, -1.0])).backward()
    t.update()
    out["lr_attr"] = W.as_array()
    return out
