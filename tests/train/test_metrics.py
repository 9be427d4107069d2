"""convnet.metrics against plain-Python references (loops over rows, no vectorized shortcuts)."""

import numpy as np
import pytest

import convnet as cn
from convnet import metrics


def _ref_topk(scores, target, k):
    """Fraction of rows whose target is among the k first classes of a stable descending sort."""
    hits = 0
    for row, t in zip(scores.tolist(), target.tolist()):
        order = sorted(range(len(row)), key=lambda j: (-row[j], j))
        hits += t in order[:k]
    return hits / len(target)


def _ref_confusion(pred, target, c):
    m = [[0] * c for _ in range(c)]
    for p, t in zip(pred.tolist(), target.tolist()):
        m[t][p] += 1
    return np.array(m)


def _data(n=500, c=10, seed=0, ties=False):
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((n, c)).astype(np.float32)
    if ties:
        scores = np.round(scores).astype(np.float32)  # many equal scores in a row
    target = rng.integers(0, c, n)
    return scores, target


@pytest.mark.parametrize("ties", [False, True])
def test_topk_accuracy_matches_a_sorting_reference(ties):
    scores, target = _data(ties=ties)
    got = metrics.accuracy(scores, target, topk=(1, 3, 5, 10))
    want = [_ref_topk(scores, target, k) for k in (1, 3, 5, 10)]
    assert got == pytest.approx(want, abs=0)
    assert got[-1] == 1.0
    assert metrics.accuracy(scores, target, topk=1) == pytest.approx(want[0], abs=0)
    # top-1 is the argmax's accuracy, first index on ties
    assert got[0] == pytest.approx(float(np.mean(scores.argmax(1) == target)), abs=0)


def test_accuracy_takes_tensors_and_agrees_with_evaluate():
    scores, target = _data(n=300, c=7, seed=1)
    got = metrics.accuracy(cn.from_numpy(scores), cn.from_numpy(target), topk=(1, 5))
    assert got == pytest.approx([_ref_topk(scores, target, 1), _ref_topk(scores, target, 5)], abs=0)

    class Scores(cn.nn.Module):  # a "model" whose outputs are its inputs
        def forward(self, x):
            return x

    res = cn.evaluate(Scores(), cn.data.DataLoader((scores, target), batch_size=64))
    assert res["accuracy"] == pytest.approx(got[0]) and res["top5"] == pytest.approx(got[1])


def test_confusion_matrix_and_per_class_accuracy():
    scores, target = _data(n=400, c=6, seed=2)
    pred = scores.argmax(1)
    cm = metrics.confusion_matrix(scores, target)
    assert cm.dtype == np.int64 and cm.shape == (6, 6)
    np.testing.assert_array_equal(cm, _ref_confusion(pred, target, 6))
    np.testing.assert_array_equal(metrics.confusion_matrix(pred, target, num_classes=6), cm)
    assert cm.sum() == 400
    pc = metrics.per_class_accuracy(scores, target)
    for k in range(6):
        rows = target == k
        assert pc[k] == pytest.approx(np.mean(pred[rows] == k), abs=0)
    # a class without samples has NaN accuracy; labels beyond the data widen the matrix
    cm8 = metrics.confusion_matrix(pred, target, num_classes=8)
    assert cm8.shape == (8, 8) and cm8[6:].sum() == 0
    assert np.isnan(metrics.per_class_accuracy(pred, target, num_classes=8)[7])


def test_metric_errors_name_the_function_and_shapes():
    scores, target = _data(n=10, c=4)
    with pytest.raises(ValueError, match=r"accuracy: target must have shape \(10,\).*\(9,\)"):
        metrics.accuracy(scores, target[:9])
    with pytest.raises(ValueError, match=r"accuracy: output must be scores of shape \(N, C\)"):
        metrics.accuracy(scores[0], target)
    with pytest.raises(ValueError, match="out of range for 4 classes"):
        metrics.accuracy(scores, np.full(10, 4))
    with pytest.raises(ValueError, match="topk_correct: k must be a positive int"):
        metrics.accuracy(scores, target, topk=(0,))
    with pytest.raises(ValueError, match="confusion_matrix: num_classes=3 but the output has scores for 4"):
        metrics.confusion_matrix(scores, target, num_classes=3)
    with pytest.raises(ValueError, match="confusion_matrix: predicted label 5 is out of range for 5"):
        metrics.confusion_matrix(np.array([0, 5]), np.array([0, 1]), num_classes=5)
