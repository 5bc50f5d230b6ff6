#!/bin/bash
# Well-known public PyTorch programs on real torch and on compgraph, only the import changed,
# compared loss by loss.
#
#   tools/pt_programs/run.sh DIR [WORK]
#
# DIR holds the programs as published (nothing of them is kept in this repository):
#   DIR/wlm     PyTorch examples' word_language_model (main.py, model.py, data.py, data/ with
#               train.txt, valid.txt, test.txt)
#   DIR/mingpt  Karpathy's minGPT (mingpt/, projects/chargpt with input.txt, projects/adder)
#   DIR/mnist   PyTorch examples' mnist/main.py, with a torchvision (or a stand-in) beside it
#               that builds tensors with the library named by $TV_LIB
# WORK (default /tmp/pt-programs) gets two copies of each: pt/ as published, cg/ with only the
# lines `import torch...` / `from torch... import` pointed at compgraph (sed, as cgify below).
# Each program runs with few iterations (command-line arguments and minGPT's config
# overrides only) through replay.py: on torch it records the random draws (initial weights,
# shuffling, dropout masks, multinomial samples), on compgraph it replays them, because
# compgraph's random streams differ from torch's by design.  compare.py then checks every
# loss the program prints: equal to the printed digits (relative 1e-4 for longer numbers).
# Environment: PY (a Python with torch and numpy; default /work/main/.venv/bin/python).
set -u
H=$(cd "$(dirname "$0")" && pwd); REPO=$(cd "$H/../.." && pwd)
SRC=$(cd "${1:?usage: run.sh DIR [WORK]}" && pwd); W=${2:-/tmp/pt-programs}
PY=${PY:-/work/main/.venv/bin/python}

cgify() {   # copy a tree with its torch imports pointed at compgraph
  rm -rf "$2"; cp -r "$1" "$2"
  find "$2" -name '*.py' -exec sed -i \
    -e 's/^\( *\)import torch$/\1import compgraph as torch/' \
    -e 's/^\( *\)import torch\.\([a-z_.]*\) as/\1import compgraph.\2 as/' \
    -e 's/^\( *\)import torch\.\([a-z_.]*\)$/\1import compgraph.\2/' \
    -e 's/^\( *\)from torch\([.][a-z_.]*\|\) import/\1from compgraph\2 import/' {} +
}
mkdir -p "$W/pt" "$W/cg" "$W/out"
for p in wlm mingpt mnist; do
  rm -rf "$W/pt/$p"; cp -r "$SRC/$p" "$W/pt/$p"; cgify "$SRC/$p" "$W/cg/$p"
done

WLM="--data ./data --epochs 2 --emsize 32 --nhid 32 --batch_size 4 --bptt 10 --log-interval 5 --save $W/out/wlm.pt"
GPT="--trainer.max_iters=21 --trainer.num_workers=0"
run() {   # name dir program args...: record on torch, replay on compgraph, compare
  local name=$1 dir=$2; shift 2
  (cd "$W/pt/$dir" && TV_LIB=torch PYTHONPATH=. timeout 900 "$PY" "$H/replay.py" record \
     "$W/out/$name.tape" "$@" > "$W/out/$name.pt.txt" 2>&1)
  local rt=$?
  (cd "$W/cg/$dir" && TV_LIB=compgraph PYTHONPATH="$REPO:." timeout 900 "$PY" "$H/replay.py" replay \
     "$W/out/$name.tape" "$@" > "$W/out/$name.cg.txt" 2>&1)
  local rc=$?
  echo "$name: torch rc=$rt compgraph rc=$rc $("$PY" "$H/compare.py" "$W/out/$name.pt.txt" "$W/out/$name.cg.txt")"
}
# wlm: nn.LSTM's dropout between layers is drawn in C++, out of replay.py's sight: dropout 0
run wlm-lstm wlm main.py $WLM --model LSTM --dropout 0
run wlm-transformer wlm main.py $WLM --model Transformer --dropout 0 --lr 1
run chargpt mingpt projects/chargpt/chargpt.py $GPT --trainer.batch_size=8 --data.block_size=32 \
  "--system.work_dir='$W/out/chargpt'"
run adder mingpt projects/adder/adder.py $GPT "--system.work_dir='$W/out/adder'"
run mnist mnist main.py --epochs 1 --batch-size 64 --test-batch-size 64 --log-interval 1
