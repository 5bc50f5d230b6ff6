"""Per-kernel CPU times of the convolution workloads' conv / pool / relu, compgraph vs PyTorch.

    python benchmarks/conv_kernels.py [--repeats 15] [--shapes mnist-cnn,cnn]

One thread (torch.set_num_threads(1); run with OPENBLAS_NUM_THREADS=1), best of
--repeats runs of time.process_time, in ms.  compgraph's kernels are its ops' forwards
and VJPs on NumPy arrays; PyTorch's the aten ops its autograd runs for the same layer:
convolution / convolution_backward (output mask as in training: conv1's input needs no
gradient), max_pool2d_with_indices and its backward, relu and threshold_backward.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

import numpy as np   # noqa: E402

# workload -> convolutions (name, x shape, weight shape, padding, input needs a gradient)
CONVS = {
    "mnist-cnn": [("conv1", (64, 1, 28, 28), (32, 1, 3, 3), 0, False),
                  ("conv2", (64, 32, 26, 26), (64, 32, 3, 3), 0, True)],
    "cnn": [("conv1", (64, 1, 28, 28), (16, 1, 3, 3), 1, False),
            ("conv2", (64, 16, 14, 14), (32, 16, 3, 3), 1, True)],
}
POOLS = {"mnist-cnn": [(64, 64, 24, 24)], "cnn": [(64, 16, 28, 28), (64, 32, 14, 14)]}


def best_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times) * 1e3


def conv_cases(xp, torch, rng, name, xs, ws, pad, input_grad):
    from compgraph.ops import OPS
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32)
    attrs = dict(stride=(1, 1), padding=((pad, pad), (pad, pad)), dilation=(1, 1), groups=1)
    out = OPS["conv2d_bias"].fwd(xp, x, w, b, **attrs)
    g = rng.standard_normal(out.shape).astype(np.float32)
    tx, tw, tb, tg = (torch.from_numpy(a) for a in (x, w, b, g))
    mask = [input_grad, True, True]
    yield (f"{name} forward",
           lambda: OPS["conv2d_bias"].fwd(xp, x, w, b, **attrs),
           lambda: torch.ops.aten.convolution(tx, tw, tb, [1, 1], [pad, pad], [1, 1],
                                              False, [0, 0], 1))

    def cg_backward():
        if input_grad:
            OPS["conv2d_input_grad"].fwd(xp, g, w, x_shape=x.shape, **attrs)
        OPS["conv2d_weight_grad"].fwd(xp, x, g, w_shape=w.shape, **attrs)
        np.add.reduce(g, axis=(0, 2, 3))
    yield (f"{name} backward ({'input + ' if input_grad else ''}weight + bias)", cg_backward,
           lambda: torch.ops.aten.convolution_backward(tg, tx, tw, [ws[0]], [1, 1], [pad, pad],
                                                       [1, 1], False, [0, 0], 1, mask))
    if input_grad:
        yield (f"{name} input gradient",
               lambda: OPS["conv2d_input_grad"].fwd(xp, g, w, x_shape=x.shape, **attrs),
               lambda: torch.ops.aten.convolution_backward(
                   tg, tx, tw, [ws[0]], [1, 1], [pad, pad], [1, 1], False, [0, 0], 1,
                   [True, False, False]))
    yield (f"{name} weight gradient",
           lambda: OPS["conv2d_weight_grad"].fwd(xp, x, g, w_shape=w.shape, **attrs),
           lambda: torch.ops.aten.convolution_backward(
               tg, tx, tw, [ws[0]], [1, 1], [pad, pad], [1, 1], False, [0, 0], 1,
               [False, True, False]))


def pool_relu_cases(xp, torch, rng, shape):
    from compgraph.ops import OPS
    x = rng.standard_normal(shape).astype(np.float32)
    attrs = dict(kernel=(2, 2), stride=(2, 2), padding=((0, 0), (0, 0)), dilation=(1, 1))
    tx = torch.from_numpy(x)

    def cg_pool():
        ans = OPS["max_pool2d"].fwd(xp, x, **attrs)
        OPS["max_pool2d"].vjps[0](xp, ans, ans, x, **attrs)

    def torch_pool():
        out, idx = torch.ops.aten.max_pool2d_with_indices(tx, [2, 2], [2, 2])
        torch.ops.aten.max_pool2d_with_indices_backward(out, tx, [2, 2], [2, 2], [0, 0],
                                                        [1, 1], False, idx)
    yield f"max-pool {shape} forward + backward", cg_pool, torch_pool

    def cg_relu():
        ans = OPS["relu"].fwd(xp, x)
        OPS["relu"].vjps[0](xp, x, ans, x)

    def torch_relu():
        ans = torch.relu(tx)
        torch.ops.aten.threshold_backward(tx, ans, 0)
    yield f"relu {shape} forward + backward", cg_relu, torch_relu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--shapes", default="mnist-cnn,cnn")
    args = parser.parse_args(argv)
    import torch
    from compgraph.ops.namespace import ArrayNamespace
    torch.set_num_threads(1)
    xp = ArrayNamespace(np)
    rng = np.random.default_rng(0)
    print(f"load average {open('/proc/loadavg').read().split()[:3]}")
    print("| workload | kernel | compgraph ms | PyTorch ms | compgraph / PyTorch time |")
    print("| --- | --- | ---: | ---: | ---: |")
    for workload in args.shapes.split(","):
        cases = [c for conv in CONVS[workload] for c in conv_cases(xp, torch, rng, *conv)]
        cases += [c for s in POOLS[workload] for c in pool_relu_cases(xp, torch, rng, s)]
        with torch.no_grad():
            for label, cg, tc in cases:
                a, t = best_ms(cg, args.repeats), best_ms(tc, args.repeats)
                print(f"| {workload} | {label} | {a:.2f} | {t:.2f} | {a / t:.2f} |", flush=True)


if __name__ == "__main__":
    main()
