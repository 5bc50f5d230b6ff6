"""Run one program on real PyTorch and on compgraph in lock step.

A program here is written once, as a function of the `torch` module it is given, so the
very same lines run on both libraries (as `import compgraph as torch` promises). compgraph's
model starts from PyTorch's initial weights (its state_dict copied over) and both see the
same batches; the tests then compare the losses step by step.
"""
import numpy as np
import torch

import compgraph


def copy_weights(torch_model, cg_model):
    """Load PyTorch's initial state_dict into the compgraph model; the key sets must agree."""
    theirs = torch_model.state_dict()
    ours = cg_model.state_dict()
    assert list(ours) == list(theirs), (list(ours), list(theirs))
    cg_model.load_state_dict({k: compgraph.tensor(v.detach().numpy().copy())
                              for k, v in theirs.items()})
    for k, v in cg_model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v.tolist()), theirs[k].detach().numpy())


def lockstep(build, train, tol, steps=20):
    """build(torch) -> model; train(torch, model, steps) -> list of float losses.
    Asserts the losses agree within `tol` at every step; returns (torch's losses, ours,
    the trained torch model, ours)."""
    torch.manual_seed(0)
    reference = build(torch)
    ours = build(compgraph)
    copy_weights(reference, ours)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)      # tiny models: PyTorch's thread pool only costs time here
    try:
        expected = train(torch, reference, steps)
    finally:
        torch.set_num_threads(threads)
    got = train(compgraph, ours, steps)
    assert len(expected) == len(got) == steps
    diffs = np.abs(np.array(got) - np.array(expected))
    assert np.all(diffs <= tol), (
        f"losses part at step {int(np.argmax(diffs > tol))}: max |diff| {diffs.max():.3g}\n"
        f"torch     {np.round(expected, 6).tolist()}\ncompgraph {np.round(got, 6).tolist()}")
    # the program learns something: the comparison is not between two flat lines
    assert expected[-1] < expected[0]
    return expected, got, reference, ours
