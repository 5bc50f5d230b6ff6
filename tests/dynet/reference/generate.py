"""Regenerate the reference outputs of the expression and trainer cases on real DyNet:

    /tmp/dynet-venv/bin/python tests/dynet/reference/generate.py

(DyNet 2.1.2 built with ../shared/tools/build-dynet.sh.)  Runs every case of cases.py and
writes expressions.npz (every recorded number, in one flat array) and expressions.json (per
case: each field's offset and shape in that array, the names it covers, whether it raised),
which tests/dynet/test_reference.py reads.
"""
import json
import pathlib
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import dynet as dy  # noqa: E402

from harness import RAISES, run  # noqa: E402
import cases  # noqa: E402, F401  (fills CASES)
import trainer_cases  # noqa: E402, F401  (fills CASES)
import state_cases  # noqa: E402, F401  (fills CASES)


def main(out="expressions"):
    chunks, index, offset = [], {}, 0
    for name, (fn, covers, grad) in sorted(cases.CASES.items()):
        res = run(dy, fn, grad)
        fields = {}
        for k, v in sorted(res.items()):
            fields[k] = [offset, list(v.shape)]
            chunks.append(v.reshape(-1))
            offset += v.size
        index[name] = {"covers": list(covers), "fields": fields, "raises": RAISES in res}
        print(f"{name}: {'raises' if RAISES in res else ', '.join(sorted(res))}")
    # one flat array (a zip entry per field would be most of the file); fields index into it
    np.savez_compressed(HERE / f"{out}.npz", values=np.concatenate(chunks))
    meta = {"generator": "tests/dynet/reference/generate.py", "dynet": "2.1.2", "cases": index}
    (HERE / f"{out}.json").write_text(json.dumps(meta, indent=0, sort_keys=True) + "\n")
    print(f"{len(index)} cases written to {HERE / out}.npz/.json")


if __name__ == "__main__":
    main()
