"""The tutorial's data: MNIST-style images as a list of (pixel vector, label) pairs.

Pixels are scaled to [0, 1] and flattened to vectors of 784 floats.
Environment variables choose the data (the scripts take only file names):

  TUTORIAL_DATASET   fashion-mnist (default) or mnist
  TUTORIAL_DATA_DIR  a folder holding the four IDX files; otherwise
                     compgraph.data looks in its cache, in the Debian package
                     dataset-fashion-mnist, and finally downloads
  TUTORIAL_LIMIT     use only the first N examples of each split (quick runs)
"""
import os

from compgraph.data import load_dataset

NUM_CLASSES = 10


def load(split):
    """``split`` is "train" or "test"; returns a new list, safe to shuffle."""
    images, labels = load_dataset(os.environ.get("TUTORIAL_DATASET", "fashion-mnist"), split,
                                  data_dir=os.environ.get("TUTORIAL_DATA_DIR") or None)
    limit = os.environ.get("TUTORIAL_LIMIT")
    if limit:
        images, labels = images[:int(limit)], labels[:int(limit)]
    vectors = images.reshape(len(images), -1) / 255.0
    return list(zip(vectors, labels.tolist()))
