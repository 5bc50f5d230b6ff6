"""JAX with jit: the whole SGD step (loss, grad, update) as one XLA computation per
workload, compiled before the timed part.  Optional: run.py skips it, with a printed
note, where jax is not installed.  JAX's CPU threads follow the --threads flags that
run.py sets before any import (XLA reads them at start-up)."""

import time

import numpy as np

import workloads as W
from registry import workload_impl

try:
    import jax
    import jax.numpy as jnp
except ImportError:                                   # optional
    jax = None
    print("impl_jax: jax is not installed; the JAX jit implementations are skipped")


def _sgd(loss_fn, lr):
    @jax.jit
    def step(params, x, t):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, t)
        return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss
    return step


def _xent(z, y):
    z = z - jax.scipy.special.logsumexp(z, axis=-1, keepdims=True)
    return -jnp.mean(jnp.take_along_axis(z, y[:, None], axis=-1))


def _mlp_loss(p, x, y):
    return _xent(jnp.tanh(x @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"], y)


def _final(p):
    return {k: np.asarray(v) for k, v in p.items()}


if jax is not None:
    @workload_impl("xor", "jax-jit")
    def xor(quick):
        def loss(p, x, t):
            h = jax.nn.sigmoid(p["W"] @ x + p["b"])
            y = jax.nn.sigmoid(p["W2"] @ h + p["b2"])
            return 0.5 * jnp.sum((t - y) ** 2)
        step = _sgd(loss, W.XOR_LR)
        p = {k: jnp.asarray(v) for k, v in W.xor_init().items()}
        x_all, t_all = W.xor_data()
        examples = [(jnp.asarray(x_all[i]), jnp.asarray(t_all[i])) for i in range(4)]
        jax.block_until_ready(step(p, *examples[0]))          # compile, untimed
        epochs = W.xor_epochs(quick)
        start = time.perf_counter()
        for _ in range(epochs):
            for x, t in examples:
                p, _ = step(p, x, t)
        jax.block_until_ready(p)
        seconds = time.perf_counter() - start
        return epochs * 4, seconds, W.xor_check(_final(p))

    def _mlp(x_np, y_np, batch, lr):
        step = _sgd(_mlp_loss, lr)
        p = {k: jnp.asarray(v) for k, v in W.mlp_init().items()}
        xs = [jnp.asarray(x_np[s:s + batch]) for s in range(0, len(x_np), batch)]
        ys = [jnp.asarray(y_np[s:s + batch]) for s in range(0, len(x_np), batch)]
        jax.block_until_ready(step(p, xs[0], ys[0]))           # compile, untimed
        start = time.perf_counter()
        for x, y in zip(xs, ys):
            p, _ = step(p, x, y)
        jax.block_until_ready(p)
        seconds = time.perf_counter() - start
        return len(x_np), seconds, W.mlp_check(_final(p))

    @workload_impl("mlp-single", "jax-jit")
    def mlp_single(quick):
        x, y = W.mlp_single_data(quick)
        return _mlp(x, y, 1, W.MLP_SINGLE_LR)

    @workload_impl("mlp-batch", "jax-jit")
    def mlp_batch(quick):
        x, y = W.mlp_batch_data(quick)
        return _mlp(x, y, W.MLP_BATCH_SIZE, W.MLP_BATCH_LR)
