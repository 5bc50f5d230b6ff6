"""compare.py A B: the two outputs line by line, numbers to rel 1e-4 (float32 sums), text exactly."""
import re, sys
NUM = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?|-?\d+")
def norm(line):
    # NumPy pads printed arrays to the widest number: the padding is not compared
    text = re.sub(r"\s+", " ", re.sub(r"\s+\]", "]", re.sub(r"\[\s+", "[", NUM.sub("#", line))))
    return text.strip(), [float(x) for x in NUM.findall(line)]
a = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
b = [l for l in open(sys.argv[2]).read().splitlines() if l.strip()]
# DyNet's status() goes to std::cerr unbuffered: where it lands among stdout lines is a pipe artefact
strip = lambda ls: [re.sub(r"\[lr=[^\]]*\] ", "", l) for l in ls]
st = lambda ls: re.findall(r"\[lr=[^\]]*\]", " ".join(ls))
bad, worst = [], 0.0
if st(a) != st(b): bad.append("status lines differ")
a, b = [l for l in strip(a) if l.strip()], [l for l in strip(b) if l.strip()]
if len(a) != len(b): bad.append(f"{len(a)} vs {len(b)} lines")
for i, (x, y) in enumerate(zip(a, b)):
    (tx, nx), (ty, ny) = norm(x), norm(y)
    if tx != ty or len(nx) != len(ny):
        bad.append(f"line {i}: {x[:60]!r} vs {y[:60]!r}"); continue
    for u, v in zip(nx, ny):
        r = abs(u - v) / max(abs(u), abs(v), 1e-3)
        worst = max(worst, r)
        if r > 1e-4: bad.append(f"line {i}: {u} vs {v}")
print("MATCH" if not bad else "DIFFER", f"(worst rel {worst:.1e}, {len(a)} lines)", "; ".join(bad[:3]))
