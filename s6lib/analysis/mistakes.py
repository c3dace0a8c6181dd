"""What the trained networks get wrong, from the records: the confusion matrix and the hardest
test digits (a record keeps [test index, predicted class] of each image its final model misses).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import pandas as pd


def mnist_test_labels(root=None):
    """The MNIST test labels as a NumPy array (needs MNIST: see s6lib.mnist.data)."""
    return _mnist_test_set(root)[1].numpy()


def mnist_test_images(root=None):
    """The MNIST test images, uint8 [N, 28, 28] as a NumPy array."""
    return _mnist_test_set(root)[0][:, 0].numpy()


def _mnist_test_set(root):
    """(images, labels) of the MNIST test set as tensors. torch loads here, only where MNIST itself is
    read: the records alone need none of it."""
    from ..mnist.data import mnist_tensors

    return mnist_tensors(False, root)


def confusion_matrix(records: dict | Sequence[dict], labels):
    """10×10 counts, rows = true class, columns = predicted, summed over `records` (complete runs on
    the whole test set), built from each record's `misclassified` list and the test labels."""
    recs = [records] if isinstance(records, dict) else list(records)
    labels = np.asarray(labels)
    per_class = np.bincount(labels, minlength=10)
    cm = np.zeros((10, 10), dtype=np.int64)
    for r in recs:
        if r["misclassified"] is None or r["config"]["limit_test"] is not None:
            raise ValueError("confusion_matrix needs complete runs on the whole test set")
        wrong = np.array(r["misclassified"], dtype=np.int64).reshape(-1, 2)
        np.add.at(cm, (labels[wrong[:, 0]], wrong[:, 1]), 1)
        cm[np.arange(10), np.arange(10)] += per_class - np.bincount(labels[wrong[:, 0]], minlength=10)
    return cm


def top_confusions(cm, n: int = 3) -> list[tuple[int, int, int]]:
    """The `n` largest off-diagonal cells of a confusion matrix: (true, predicted, count), largest first."""
    cells = [(int(cm[i][j]), i, j) for i in range(len(cm)) for j in range(len(cm)) if i != j and cm[i][j]]
    return [(i, j, c) for c, i, j in sorted(cells, key=lambda t: (-t[0], t[1], t[2]))[:n]]


def hardest_digits(records: Sequence[dict], labels, n: int = 24):
    """The test images most seeds get wrong: index, true label, most common prediction, seeds wrong."""
    predictions: dict[int, list[int]] = {}
    for r in records:
        for index, predicted in r["misclassified"] or []:
            predictions.setdefault(index, []).append(predicted)
    rows = [{"index": i, "true": int(labels[i]), "predicted": Counter(p).most_common(1)[0][0],
             "seeds wrong": len(p)} for i, p in predictions.items()]
    frame = pd.DataFrame(rows, columns=["index", "true", "predicted", "seeds wrong"])
    return frame.sort_values(["seeds wrong", "index"], ascending=[False, True]).head(n).reset_index(drop=True)
