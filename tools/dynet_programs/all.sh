#!/bin/bash
# DyNet 2.1.2's own example programs on real DyNet and on compgraph.dynet, side by side.
#
#   DYNET_SRC=/tmp/dynet-src tools/dynet_programs/all.sh      (DyNet's source unpacked there,
#   DyNet built into /tmp/dynet-venv by ../shared/tools/build-dynet.sh)
#
# setup.py copies DyNet's examples/ to $DYNET_PROGRAMS/{real,cg} (nothing of DyNet's is kept in
# this repository), changes only the import line on the cg side, caps iterations and points them
# at the tiny synthetic data of make_data.py.  Then each program runs twice per library:
#  * run.sh: as it is (random initial weights: it must run to the end on both);
#  * detrun.sh: through det.py (Python's and NumPy's generators seeded, every parameter set from
#    one formula, dropout/noise off), so that compare.py can check the printed losses number by
#    number (relative 1e-4).
# Also DyNet's tests/python/test.py, import changed, under unittest.
set -u
H=$(cd "$(dirname "$0")" && pwd); W=${DYNET_PROGRAMS:-/tmp/dynet-programs}; P=/tmp/dynet-venv/bin/python
mkdir -p $W/out $W/det
DYNET_PROGRAMS=$W $P $H/make_data.py && DYNET_PROGRAMS=$W $P $H/setup.py || exit 1
sed 's/^import dynet as dy/import compgraph.dynet as dy/' ${DYNET_SRC:-/tmp/dynet-src}/tests/python/test.py > $W/test_cg.py
(cd $W && PYTHONPATH=$H/../.. $P -m unittest test_cg 2>&1 | tail -1 | sed 's/^/unit tests: /')
# drops what is not computed: DyNet's banner and deprecation note, timings, file names
filter() { sed 's/The dy.parameter(...) call is now DEPRECATED.//' |
  grep -v "^\[dynet\]\|no longer need\|Any used param\|SyntaxWarning\|dataset is\|time\|sec\|per epoch\|Time\|model_meta_file\|MEAN"; }
for n in xor rnnlm rnnlm_transduce lstmlm-auto minibatch rnnlm-batch bilstmtagger attention mnist-autobatch \
         mnist-autobatch-conv mnist_dynet_autobatch mnist_dynet_minibatch vae treelstm dqn ddpg xor-multidevice; do
  line="$n:"
  for side in real cg; do
    timeout 300 $H/run.sh $side $n > $W/out/$side.$n.txt 2>&1; line="$line $side rc=$?"
  done
  if grep -q " $n)" $H/detrun.sh; then
    for side in real cg; do timeout 300 $H/detrun.sh $side $n 2>&1 | filter > $W/det/$side.$n.txt; done
    line="$line | fixed weights: $($P $H/compare.py $W/det/real.$n.txt $W/det/cg.$n.txt)"
  fi
  echo "$line"
done
