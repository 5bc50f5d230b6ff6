#!/bin/bash
# detrun.sh SIDE NAME: as run.sh, through det.py
side=$1; name=$2; W=${DYNET_PROGRAMS:-/tmp/dynet-programs}; B=$W/$side; D=$W/data; H=$(cd "$(dirname "$0")" && pwd); R=$(cd "$H/../.." && pwd)
export PYTHONPATH=$R:$H/stubs PYTHONHASHSEED=0 DET_LIB=$side
export DET_NODROP=1
P="/tmp/dynet-venv/bin/python $H/det.py"
case $name in
 xor) cd $B/xor && $P xor.py $D/xor.model;;
 rnnlm) cd $B/rnnlm && $P rnnlm.py $D/chars.txt;;
 rnnlm_transduce) cd $B/rnnlm && $P rnnlm_transduce.py $D/chars.txt;;
 rnnlm-batch) cd $B/batching && $P rnnlm-batch.py $D/chars.txt;;
 bilstmtagger) cd $B/tagger && $P bilstmtagger.py;;
 attention) cd $B/sequence-to-sequence && $P attention.py;;
 mnist-autobatch) cd $B/mnist && $P mnist-autobatch.py --path $D --dynet_autobatch 1;;
 mnist-autobatch-conv) cd $B/mnist && $P mnist-autobatch.py --path $D --conv --dynet_autobatch 1;;
 mnist_dynet_autobatch) cd $B/mnist/basic-mnist-benchmarks && $P mnist_dynet_autobatch.py --path $D --epochs 1 --batch-size 16 --dynet_autobatch 1;;
 mnist_dynet_minibatch) cd $B/mnist/basic-mnist-benchmarks && $P mnist_dynet_minibatch.py --path $D --epochs 1 --batch-size 16;;
 treelstm) cd $B/treelstm && rm -rf saved_models && $P main.py --batch_size 4 --wembed_size 8 --dropout_rate 0;;
 dqn) cd $B/reinforcement-learning && echo | $P main_dqn.py;;
 ddpg) cd $B/reinforcement-learning && echo | $P main_ddpg.py --n_epoch 2 --rollout_per_epoch 3 --train_per_epoch 3 --batch_size 8;;
 minibatch) cd $B/batching && $P minibatch.py;;
 vae) cd $B/variational-autoencoder/basic-image-recon && mkdir -p results && mkdir -p data && ln -sf $D/*ubyte data/ && $P vae.py --epochs 1 --batch-size 16;;
esac
