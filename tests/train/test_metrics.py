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


# precision, recall, F1 and ROC AUC: plain-Python references of scikit-learn's definitions


def _ref_prf(pred, target, labels, average, zero_division):
    """(precision, recall, f1) by counting pairs in Python loops; `zero_division` is the value
    of an undefined ratio (NaN ones are left out of the averages, as scikit-learn's)."""
    pairs = list(zip(pred.tolist(), target.tolist()))

    def ratio(num, den):
        return num / den if den else zero_division

    def count(k):
        tp = sum(p == k and t == k for p, t in pairs)
        npred = sum(p == k for p, _ in pairs)
        ntrue = sum(t == k for _, t in pairs)
        return tp, npred, ntrue

    if average == "micro":
        tp, npred, ntrue = (sum(c) for c in zip(*[count(k) for k in labels]))
        return ratio(tp, npred), ratio(tp, ntrue), ratio(2 * tp, npred + ntrue)
    per = []
    for k in labels:
        tp, npred, ntrue = count(k)
        per.append((ratio(tp, npred), ratio(tp, ntrue), ratio(2 * tp, npred + ntrue), ntrue))
    if average is None:
        return tuple(np.array([row[i] for row in per]) for i in range(3))
    out = []
    for i in range(3):
        kept = [(row[i], row[3]) for row in per if not np.isnan(row[i])]
        if not kept:
            out.append(float("nan"))
            continue
        weights = [w for _, w in kept] if average == "weighted" and sum(w for _, w in kept) else [1] * len(kept)
        out.append(sum(v * w for (v, _), w in zip(kept, weights)) / sum(weights))
    return tuple(out)


PRF = (metrics.precision, metrics.recall, metrics.f1_score)


@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
def test_precision_recall_f1_match_a_counting_reference(average):
    scores, target = _data(n=300, c=5, seed=4)
    pred = scores.argmax(1)
    want = _ref_prf(pred, target, range(5), average, 0.0)
    for fn, w in zip(PRF, want):
        got = fn(cn.from_numpy(scores), cn.from_numpy(target), average=average)  # tensors or arrays
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=0)
        np.testing.assert_allclose(fn(pred, target, average=average), w, rtol=1e-12, atol=0)
    if average == "micro":  # every class counted: micro precision = recall = F1 = accuracy
        assert want[0] == pytest.approx(np.mean(pred == target), abs=1e-15)


@pytest.mark.parametrize("zero_division", ["warn", 0.0, 1.0, np.nan])
@pytest.mark.parametrize("average", ["macro", "weighted", None])
def test_a_class_never_predicted_and_zero_division(zero_division, average):
    # class 2 occurs in the target but is never predicted; class 3 is predicted but never true
    pred = np.array([0, 0, 1, 1, 3, 0, 1, 3])
    target = np.array([0, 1, 1, 2, 2, 0, 1, 0])
    zd = 0.0 if zero_division == "warn" else zero_division
    want = _ref_prf(pred, target, [0, 1, 2, 3], average, zd)
    for fn, w, undefined in zip(PRF, want, (True, True, False)):
        if zero_division == "warn" and undefined:
            with pytest.warns(metrics.UndefinedMetricWarning, match="ill-defined"):
                got = fn(pred, target, average=average, zero_division=zero_division)
        else:
            got = fn(pred, target, average=average, zero_division=zero_division)
        np.testing.assert_allclose(got, w, rtol=1e-12)
    # by hand: precision of class 2 is undefined (never predicted), recall of class 3 (never true)
    p = metrics.precision(pred, target, average=None, zero_division=1.0)
    r = metrics.recall(pred, target, average=None, zero_division=1.0)
    np.testing.assert_allclose(p, [2 / 3, 2 / 3, 1.0, 0.0])
    np.testing.assert_allclose(r, [2 / 3, 2 / 3, 0.0, 1.0])
    # labels: the classes averaged over, in the given order, absent ones included
    np.testing.assert_allclose(metrics.recall(pred, target, average=None, labels=[4, 1], zero_division=0.0),
                               [0.0, 2 / 3])


def test_binary_average_and_pos_label():
    pred = np.array([1, 1, 0, 1, 0, 0])
    target = np.array([1, 0, 0, 1, 1, 0])
    assert metrics.precision(pred, target, average="binary") == pytest.approx(2 / 3)
    assert metrics.recall(pred, target, average="binary", pos_label=0) == pytest.approx(2 / 3)
    assert metrics.f1_score(pred, target, average="binary") == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"f1_score: average='binary' needs two classes.*\[0, 1, 2\]"):
        metrics.f1_score(np.array([0, 1, 2]), np.array([0, 1, 1]), average="binary")
    with pytest.raises(ValueError, match="precision: average must be one of"):
        metrics.precision(pred, target, average="samples")
    with pytest.raises(ValueError, match="recall: zero_division must be"):
        metrics.recall(pred, target, zero_division=0.5)
    with pytest.raises(ValueError, match="f1_score: zero_division must be"):
        metrics.f1_score(pred, target, zero_division=None)


def _ref_auc(scores, target):
    """Pairs of (positive, negative) samples: 1 when the positive scores higher, 1/2 on a tie."""
    pos = [s for s, t in zip(scores.tolist(), target.tolist()) if t]
    neg = [s for s, t in zip(scores.tolist(), target.tolist()) if not t]
    return sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg) / (len(pos) * len(neg))


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_matches_pair_counting(ties):
    rng = np.random.default_rng(5)
    target = rng.integers(0, 2, 400)
    scores = rng.standard_normal(400) + target  # positives score higher on average
    if ties:
        scores = np.round(scores * 2) / 2  # many equal scores across the classes
    want = _ref_auc(scores, target)
    assert 0.6 < want < 0.9
    assert metrics.roc_auc_score(scores, target) == pytest.approx(want, rel=1e-12)
    assert metrics.roc_auc_score(cn.from_numpy(scores.astype(np.float32)), cn.from_numpy(target)) == \
        pytest.approx(_ref_auc(scores.astype(np.float32), target), rel=1e-12)
    # two-column logits rank as their softmax probability; other labels (the larger is positive)
    logits = np.stack([np.zeros(400), scores], 1)
    assert metrics.roc_auc_score(logits, target) == pytest.approx(want, rel=1e-12)
    assert metrics.roc_auc_score(scores, np.where(target == 1, 7, -1)) == pytest.approx(want, rel=1e-12)
    assert metrics.roc_auc_score(scores, target.astype(bool)) == pytest.approx(want, rel=1e-12)
    assert metrics.roc_auc_score(-scores, target) == pytest.approx(1 - want, rel=1e-12)
    assert metrics.roc_auc_score(np.zeros(400), target) == 0.5


def test_roc_auc_errors():
    with pytest.warns(metrics.UndefinedMetricWarning, match=r"roc_auc_score: only one class \(1\)"):
        assert np.isnan(metrics.roc_auc_score(np.array([0.1, 0.9, 0.5]), np.array([1, 1, 1])))
    with pytest.raises(ValueError, match="the target holds 3 classes"):
        metrics.roc_auc_score(np.array([0.1, 0.9, 0.5]), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"output must be scores \(N,\) or \(N, 2\).*\(3, 3\)"):
        metrics.roc_auc_score(np.zeros((3, 3)), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"target must have shape \(3,\)"):
        metrics.roc_auc_score(np.zeros(3), np.array([0, 1]))
    with pytest.raises(ValueError, match="NaN"):
        metrics.roc_auc_score(np.array([0.1, np.nan]), np.array([0, 1]))


def test_metrics_agree_with_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    pred = np.array([0, 0, 1, 1, 3, 0, 1, 3, 2, 2, 0])
    target = np.array([0, 1, 1, 2, 2, 0, 1, 0, 4, 2, 4])
    for average in ("macro", "micro", "weighted", None):
        for zd in (0.0, 1.0, np.nan):
            for ours, theirs in ((metrics.precision, skm.precision_score), (metrics.recall, skm.recall_score),
                                 (metrics.f1_score, skm.f1_score)):
                np.testing.assert_allclose(ours(pred, target, average=average, zero_division=zd),
                                           theirs(target, pred, average=average, zero_division=zd), rtol=1e-12)
    rng = np.random.default_rng(6)
    t = rng.integers(0, 2, 200)
    s = np.round(rng.standard_normal(200) + t, 1)
    assert metrics.roc_auc_score(s, t) == pytest.approx(skm.roc_auc_score(t, s), rel=1e-12)
    # one class only: undefined (scikit-learn >= 1.6 warns and gives NaN, earlier versions raised)
    with pytest.warns(metrics.UndefinedMetricWarning):
        ours = metrics.roc_auc_score(np.array([0.1, 0.2, 0.3]), np.ones(3, int))
    try:
        with pytest.warns(Warning):
            theirs = skm.roc_auc_score(np.ones(3, int), np.array([0.1, 0.2, 0.3]))
        assert np.isnan(ours) and np.isnan(theirs)
    except ValueError:
        pass


def test_metrics_through_evaluate_and_fit():
    from functools import partial

    scores, target = _data(n=300, c=4, seed=7)

    class Scores(cn.nn.Module):  # a "model" whose outputs are its inputs
        def forward(self, x):
            return x

    loader = cn.data.DataLoader((scores, target), batch_size=64)
    extra = {"f1": partial(metrics.f1_score, average="macro"), "recall": partial(metrics.recall, average=None)}
    res = cn.evaluate(Scores(), loader, metrics=extra)
    assert res["f1"] == pytest.approx(_ref_prf(scores.argmax(1), target, range(4), "macro", 0.0)[2], rel=1e-12)
    np.testing.assert_allclose(res["recall"], _ref_prf(scores.argmax(1), target, range(4), None, 0.0)[1])
    # fit logs them as val_<name> each epoch, from the whole validation set
    cn.manual_seed(0)
    model = cn.nn.Sequential(cn.nn.Linear(4, 4))
    opt = cn.optim.SGD(model.parameters(), lr=0.1)
    seen = []
    hist = cn.fit(model, loader, opt, epochs=2, val_loader=loader, verbose=False,
                  metrics={"auc01": lambda out, t: metrics.roc_auc_score(out[t < 2][:, :2], t[t < 2])},
                  callbacks=[lambda epoch, logs: seen.append(cn.predict(model, scores))])
    assert len(hist["val_auc01"]) == 2
    for out, value in zip(seen, hist["val_auc01"]):
        assert value == pytest.approx(_ref_auc(out[target < 2, 1] - out[target < 2, 0], target[target < 2]))
    with pytest.raises(TypeError, match="evaluate: metrics must be a dict of name -> fn"):
        cn.evaluate(Scores(), loader, metrics=[metrics.f1_score])
    with pytest.raises(ValueError, match=r"fit: metric name\(s\) \['loss'\] are taken"):
        cn.fit(model, loader, opt, val_loader=loader, verbose=False, metrics={"loss": metrics.f1_score})
    with pytest.raises(ValueError, match="fit: metrics are computed on the validation set; pass a val_loader"):
        cn.fit(model, loader, opt, verbose=False, metrics={"f1": metrics.f1_score})
