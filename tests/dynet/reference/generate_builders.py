"""Regenerate the reference outputs of the builder, parameter and model-file cases on real DyNet:

    PYTHONPATH=. /tmp/dynet-venv/bin/python tests/dynet/reference/generate_builders.py

(DyNet 2.1.2 built with ../shared/tools/build-dynet.sh; run from the repository root so that
compgraph, NumPy-only, imports too.)  Writes, next to this file:

* builders_cases.npz / builders_cases.json: every case of builders_cases.py run on DyNet
  (per case one flat array of its numeric fields in order; the json: their names and shapes,
  the string fields, the names the case covers, whether it raised);
* builders_dynet_saved.data / .meta: a model saved by real DyNet's dy.save, which the tests
  load with compgraph.dynet;
* builders_interop.npz: what real DyNet read back from files that compgraph.dynet wrote
  (dy.save and ParameterCollection.save), so that the tests check both directions;
* builders_examples.json: the losses of examples/dynet/*.py trained a few steps on DyNet from
  the examples' fixed initial weights.
"""
import importlib.util
import json
import os
import pathlib
import shutil
import sys
import tempfile
import traceback

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import dynet as dy  # noqa: E402

import builders_cases as bc  # noqa: E402


def run_case(module, fn):
    """(arrays, strings, raised) of one case on `module` (DyNet or compgraph.dynet)."""
    tmp = tempfile.mkdtemp()
    try:
        res = fn(module, tmp)
    except Exception:
        if os.environ.get("REFERENCE_DEBUG"):
            traceback.print_exc()
        return {}, {}, True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    arrays, strings = {}, {}
    for k, v in res.items():
        if isinstance(v, str):
            strings[k] = v
        else:
            arrays[k] = np.asarray(v, dtype=np.float64)
    return arrays, strings, False


def cases():
    arrays, index = {}, {}
    for name, (fn, covers) in sorted(bc.CASES.items()):
        a, s, raised = run_case(dy, fn)
        fields = sorted(a)
        # one flat array per case (the fields in order), their shapes in the index: small files
        arrays[name] = np.concatenate([a[k].reshape(-1) for k in fields]) if fields else np.zeros(0)
        index[name] = {"covers": list(covers), "fields": fields, "strings": s, "raises": raised,
                       "shapes": [list(a[k].shape) for k in fields]}
        print(f"{name}: {'RAISES' if raised else f'{len(a)} arrays, {len(s)} strings'}")
    np.savez_compressed(HERE / "builders_cases.npz", **arrays)
    meta = {"generator": "tests/dynet/reference/generate_builders.py", "dynet": "2.1.2",
            "cases": index}
    (HERE / "builders_cases.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    print(f"{len(index)} cases written")


def dynet_files():
    m, objs = bc._model(dy)
    base = str(HERE / "builders_dynet_saved")
    dy.save(base, objs)


def interop():
    """Files written by compgraph.dynet, read by real DyNet."""
    import compgraph.dynet as cdy
    out = {}
    tmp = tempfile.mkdtemp()
    try:
        m, objs = bc._model(cdy)
        base = os.path.join(tmp, "cg")
        cdy.save(base, objs)
        m2 = dy.ParameterCollection()
        W, E, b, lstm, gru, bi, coupled, sparse, compact = dy.load(base, m2)
        out["W"], out["E"], out["b"] = W.as_array(), E.as_array(), b.as_array()
        dy.renew_cg()
        x = [dy.inputVector(list(bc.data(2, k))) for k in (1, 2)]
        out["lstm"] = lstm.initial_state().transduce(x)[-1].npvalue()
        out["gru"] = gru.initial_state().transduce(x)[-1].npvalue()
        out["bi"] = bi.transduce(x[:1])[0].npvalue()
        for name, b in (("coupled", coupled), ("sparse", sparse), ("compact", compact)):
            out[name] = b.initial_state().transduce(x)[-1].npvalue()
        m.save(os.path.join(tmp, "whole.model"))
        m3, _ = bc._model(dy)
        m3.populate(os.path.join(tmp, "whole.model"))
        out["populated"] = np.concatenate([p.as_array().reshape(-1) for p in m3.parameters_list()]
                                          + [p.as_array().reshape(-1) for p in m3.lookup_parameters_list()])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    np.savez_compressed(HERE / "builders_interop.npz", **out)
    print("interop: DyNet read compgraph's files")


def examples():
    """Losses of the example programs on DyNet, from their fixed initial weights."""
    path = ROOT / "examples" / "dynet"
    losses = {}
    for script in sorted(path.glob("*.py")):
        spec = importlib.util.spec_from_file_location(script.stem, script)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if not hasattr(mod, "reference_losses"):
            continue
        losses[script.stem] = [float(v) for v in mod.reference_losses(dy)]
        print(f"example {script.stem}: {losses[script.stem]}")
    (HERE / "builders_examples.json").write_text(json.dumps(
        {"generator": "tests/dynet/reference/generate_builders.py", "dynet": "2.1.2",
         "losses": losses}, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    which = sys.argv[1:] or ["cases", "files", "interop", "examples"]
    if "cases" in which:
        cases()
    if "files" in which:
        dynet_files()
    if "interop" in which:
        interop()
    if "examples" in which:
        examples()
