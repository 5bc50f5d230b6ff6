"""tools/pt_programs: compare.py reads the losses programs print and finds a difference;
replay.py hands compgraph the very draws torch recorded (nn.init, dropout, RandomSampler),
so that a small program run both ways prints the same losses."""
import importlib.util
import os
import subprocess
import sys

import pytest

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "pt_programs")
REPO = os.path.abspath(os.path.join(TOOLS, "..", ".."))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_compare_reads_losses_not_timings_or_perplexity(tmp_path):
    compare = _load("compare")
    out = _write(tmp_path, "a.txt", "| epoch 1 | ms/batch 12.50 | loss  3.53 | ppl    34.07\n"
                                    "iter_dt 4.20ms; iter 10: train loss 1.83841\n"
                                    "Test set: Average loss: 2.3280, Accuracy: 10/128 (8%)\n")
    assert compare.losses(out) == ["3.53", "1.83841", "2.3280"]


@pytest.mark.parametrize("theirs,mine,same", [
    ("loss 3.53", "loss 3.53", True),
    ("loss 3.53", "loss 3.54", False),                  # a printed digit differs
    ("loss 2.300689", "loss 2.300690", True),           # within relative 1e-4
    ("loss 2.300689", "loss 2.302689", False),
    ("loss 1.0\nloss 2.0", "loss 1.0", False),          # one loss missing
])
def test_compare_verdict(tmp_path, theirs, mine, same):
    compare = _load("compare")
    t, m = _write(tmp_path, "t.txt", theirs + "\n"), _write(tmp_path, "m.txt", mine + "\n")
    rc = subprocess.run([sys.executable, os.path.join(TOOLS, "compare.py"), t, m],
                        capture_output=True, text=True).returncode
    assert (rc == 0) == same
    assert compare.close("3.53", "3.53")


_PROGRAM = """
import sys
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset
torch.manual_seed(int(sys.argv[1]))
net = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.3), nn.Linear(8, 2))
data = TensorDataset(torch.arange(60.0).reshape(20, 3) / 60, torch.arange(20) % 2)
opt = torch.optim.SGD(net.parameters(), lr=0.5)
for x, y in DataLoader(data, batch_size=4, shuffle=True):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    opt.step()
    print(f"loss {loss.item():.6f}")
"""


def test_replay_makes_compgraph_draw_what_torch_drew(tmp_path):
    torch_dir, cg_dir = tmp_path / "pt", tmp_path / "cg"
    torch_dir.mkdir()
    cg_dir.mkdir()
    (torch_dir / "prog.py").write_text(_PROGRAM)
    (cg_dir / "prog.py").write_text(_PROGRAM.replace("import torch.nn as nn", "import compgraph.nn as nn")
                                    .replace("from torch.utils", "from compgraph.utils")
                                    .replace("import torch\n", "import compgraph as torch\n"))
    tape, outs = str(tmp_path / "tape"), []
    for mode, d, seed in (("record", torch_dir, "0"), ("replay", cg_dir, "5")):
        env = dict(os.environ, PYTHONPATH=REPO)
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "replay.py"), mode, tape,
                            str(d / "prog.py"), seed], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        outs.append(_write(tmp_path, mode + ".txt", r.stdout))
    compare = _load("compare")
    assert len(compare.losses(outs[0])) == 5
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "compare.py"), *outs],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
