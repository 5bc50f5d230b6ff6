"""compare.py TORCH_OUT COMPGRAPH_OUT: the losses two runs of a program printed, number by number.

A loss is a number on a line that says "loss" (after the word; "ppl" and timings on the
line are left out).  Each pair must agree to the digits printed (half a unit in the last
printed place) or relatively 1e-4, whichever is looser.  Prints a one-line verdict; the
exit status is 0 when the runs printed the same number of losses and all agree.
"""
import re
import sys

_NUM = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def losses(path):
    out = []
    for line in open(path, errors="replace"):
        low = line.lower()
        if "loss" not in low:
            continue
        rest = line[low.index("loss"):]
        rest = re.split(r"ppl|iter_dt|ms/batch|accuracy", rest, flags=re.I)[0]
        out += _NUM.findall(rest)
    return out


def close(a, b):
    places = len(a.split(".")[1].split("e")[0]) if "." in a else 0
    slack = max(0.5 * 10.0 ** -places + 1e-12, 1e-4 * abs(float(a)))
    return abs(float(a) - float(b)) <= slack


def main():
    t, c = losses(sys.argv[1]), losses(sys.argv[2])
    bad = [(i, a, b) for i, (a, b) in enumerate(zip(t, c)) if not close(a, b)]
    if len(t) != len(c) or bad or not t:
        print(f"DIFFER: {len(t)} losses on torch, {len(c)} on compgraph; first differences "
              f"(index, torch, compgraph): {bad[:3]}")
        return 1
    worst = max(abs(float(a) - float(b)) for a, b in zip(t, c))
    print(f"{len(t)} losses agree (max abs diff {worst:.2g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
