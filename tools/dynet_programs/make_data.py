"""Tiny synthetic inputs in the formats DyNet's examples read, under $DYNET_PROGRAMS/data:
MNIST idx files (both spellings), a word<TAB>tag corpus, a character corpus, SST-style trees
with a filtered-GloVe file, and an xor model saved by real DyNet (when run on DyNet)."""
import os, random, struct
import numpy as np
D = os.path.join(os.environ.get("DYNET_PROGRAMS", "/tmp/dynet-programs"), "data")
os.makedirs(os.path.join(D, "trees"), exist_ok=True)
rs = np.random.RandomState(0)
for kind, n in (("train", 96), ("t10k", 32)):
    lbl = rs.randint(0, 10, n).astype(np.int8)
    img = rs.randint(0, 256, (n, 28, 28)).astype(np.uint8)
    for sep in ("-", "."):
        with open(os.path.join(D, f"{kind}-labels{sep}idx1-ubyte"), "wb") as f:
            f.write(struct.pack(">II", 2049, n)); f.write(lbl.tobytes())
        with open(os.path.join(D, f"{kind}-images{sep}idx3-ubyte"), "wb") as f:
            f.write(struct.pack(">IIII", 2051, n, 28, 28)); f.write(img.tobytes())
words = "the cat sat on a mat dog ran fast big small red".split()
tags = dict(the="D", a="D", cat="N", mat="N", dog="N", sat="V", ran="V", on="P", fast="R", big="J",
            small="J", red="J")
random.seed(0)
for name, n in (("tag_train.txt", 30), ("tag_test.txt", 8)):
    with open(os.path.join(D, name), "w") as f:
        for _ in range(n):
            for w in random.choices(words, k=random.randint(3, 7)):
                f.write(f"{w}\t{tags[w]}\n")
            f.write("\n")
with open(os.path.join(D, "chars.txt"), "w") as f:
    for _ in range(12):
        f.write(" ".join(random.choices(words, k=random.randint(2, 5))) + "\n")
random.seed(1)
leaves = words + ["(", ")"]
def tree(d):
    if d == 0 or random.random() < 0.3:
        return "(%d %s)" % (random.randint(0, 4), random.choice(words))
    return "(%d %s %s)" % (random.randint(0, 4), tree(d - 1), tree(d - 1))
for name, n in (("train", 12), ("dev", 4), ("test", 4)):
    with open(os.path.join(D, "trees", name + ".txt"), "w") as f:
        for _ in range(n):
            f.write(tree(3) + "\n")
with open(os.path.join(D, "glove_filtered.txt"), "w") as f:
    for w in leaves:
        f.write(w + " " + " ".join("%.3f" % random.uniform(-1, 1) for _ in range(300)) + "\n")
try:
    import dynet as dy        # only real DyNet writes the xor model both libraries populate from
    m = dy.Model()
    m.add_parameters((8, 2)); m.add_parameters(8); m.add_parameters((1, 8)); m.add_parameters(1)
    m.save(os.path.join(D, "xor.model"))
except ImportError:
    pass
