"""Copies DyNet's examples twice (real / cg), caps iterations, points them at tiny data."""
import os, re, shutil, sys
W = os.environ.get("DYNET_PROGRAMS", "/tmp/dynet-programs")
SRC = os.environ.get("DYNET_SRC", "/tmp/dynet-src") + "/examples"; D = W + "/data"
CAPS = {
 "xor/xor.py": [("ITERATIONS = 2000", "ITERATIONS = 40")],
 "rnnlm/rnnlm.py": [("range(100)", "range(2)"), ("i % 50", "i % 5")],
 "rnnlm/rnnlm_transduce.py": [("range(100)", "range(2)"), ("i % 50", "i % 5")],
 "batching/rnnlm-batch.py": [("range(100)", "range(2)")],
 "tagger/bilstmtagger.py": [('"/Users/yogo/Vork/Research/corpora/pos/WSJ.TRAIN"', '"%s/tag_train.txt"' % D),
     ('"/Users/yogo/Vork/Research/corpora/pos/WSJ.TEST"', '"%s/tag_test.txt"' % D),
     ("range(50)", "range(2)"), ("import random\n", "import random\nimport numpy as np  # the example lacks it: NameError on DyNet too\n"), ("i % 5000", "i % 10"), ("i % 10000", "i % 20")],
 "sequence-to-sequence/attention.py": [("range(600)", "range(30)")],
 "mnist/mnist-autobatch.py": [("range(50)", "range(1)"), ("args.minibatch_size * 30", "args.minibatch_size * 2"),
     ("args.minibatch_size * 600", "args.minibatch_size * 4")],
 "treelstm/main.py": [("maybe_download_and_extract()\n", "")],
 "treelstm/model.py": [("np.load(model_meta_file)", "np.load(model_meta_file, allow_pickle=True)")],  # NumPy >= 1.16.3
 "treelstm/scheduler.py": [("max_turns=1000", "max_turns=2"), ("j % 50", "j % 1")],
 "reinforcement-learning/main_dqn.py": [("n_epoch=500, n_rollout=100, n_train=1000, batch_size=256",
                                         "n_epoch=3, n_rollout=4, n_train=3, batch_size=8")],
}
for side in ("real", "cg"):
    dst = os.path.join(W, side)
    shutil.rmtree(dst, ignore_errors=True); shutil.copytree(SRC, dst)
    for rel, subs in CAPS.items():
        p = os.path.join(dst, rel); s = open(p).read()
        for a, b in subs:
            assert a in s, (rel, a); s = s.replace(a, b)
        open(p, "w").write(s)
    if side == "cg":
        for root, _, files in os.walk(dst):
            for f in files:
                if f.endswith(".py"):
                    p = os.path.join(root, f); s = open(p).read()
                    t = re.sub(r"^import dynet as dy", "import compgraph.dynet as dy", s, flags=re.M)
                    t = re.sub(r"^from dynet import", "from compgraph.dynet import", t, flags=re.M)
                    t = re.sub(r"^import dynet_config", "import compgraph.dynet.dynet_config as dynet_config", t, flags=re.M)
                    if t != s: open(p, "w").write(t)
    for u in ("rnnlm", "batching", "tagger"):
        shutil.copy(os.path.join(SRC, "python-utils/util.py"), os.path.join(dst, u, "util.py"))
    os.symlink(D + "/trees", dst + "/treelstm/trees"); os.symlink(D + "/glove_filtered.txt", dst + "/treelstm/glove_filtered.txt")
