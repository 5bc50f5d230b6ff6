"""Regenerate refusals.json, the refusal sweep's reference, on real DyNet:

    /tmp/dynet-venv/bin/python tests/dynet/reference/generate_refusals.py

Runs every variant of refusal_cases.py (in a child process, started again after each
variant on which DyNet aborts the process) and records, per variant, whether DyNet
raised, aborted, or computed -- and then the value and dims.
"""
import json
import pathlib
import subprocess
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import Ctx  # noqa: E402
import refusal_cases  # noqa: E402


def run_one(dy, key):
    name, kinds, kw, swap = refusal_cases.variants()[key]
    c = Ctx(dy)
    dy.renew_cg()
    try:
        e = refusal_cases.run_variant(dy, c, name, kinds, kw, swap)
        v = np.asarray(e.npvalue(), dtype=float)
        dims, batch = e.dim()
    except (ValueError, IndexError, RuntimeError, TypeError, AssertionError, OverflowError,
            NotImplementedError, DeprecationWarning) as err:
        return {"raises": True, "error": f"{type(err).__name__}: {err}"[:200]}
    return {"raises": False, "value": v.round(6).tolist(), "dims": [list(dims), batch]}


def child(keys):
    import dynet as dy
    for key in keys:
        print(json.dumps({key: run_one(dy, key)}), flush=True)


def main():
    groups = {}
    for key in refusal_cases.variants():
        groups.setdefault(key.split("/")[0], []).append(key)
    out = {}
    keys = sorted(refusal_cases.variants())
    while keys:
        p = subprocess.run([sys.executable, __file__, "--child", *keys], capture_output=True,
                           text=True)
        done = {}
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                done.update(json.loads(line))
        out.update(done)
        keys = [k for k in keys if k not in done]
        if keys:                               # the next one aborted the process
            out[keys[0]] = {"raises": True, "aborts": True,
                            "error": f"DyNet aborted the process (exit {p.returncode})"}
            keys = keys[1:]
    for group, gkeys in sorted(groups.items()):
        print(group, sum(out[k]["raises"] for k in gkeys), "of", len(gkeys), "raise")
    meta = {"generator": "tests/dynet/reference/generate_refusals.py", "dynet": "2.1.2",
            "cases": {k: out[k] for k in sorted(out)}}
    (HERE / "refusals.json").write_text(json.dumps(meta, indent=0, sort_keys=True) + "\n")
    print(len(out), "variants,", sum(v["raises"] for v in out.values()), "raise in DyNet")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        main()
