"""Classification metrics on a model's outputs: top-k accuracy, per-class accuracy, the confusion
matrix, precision, recall, F1 and the binary ROC AUC, computed with NumPy and returned as Python
floats or NumPy arrays.

`output` is either scores (N, C) (logits or probabilities; the predicted class of a row is its
argmax, the first one on ties) or predicted labels (N,); `target` holds the true labels (N,).
Both may be convnet tensors or NumPy arrays. Ranks break ties by class index, as a stable sort of
the scores in decreasing order does, so top-1 accuracy always agrees with the argmax.

`precision`, `recall`, `f1_score` and `roc_auc_score` follow scikit-learn's definitions, averages
and `zero_division` rules (with convnet's argument order: output first, then target)."""

import warnings

import numpy as np

from . import _core

__all__ = ["UndefinedMetricWarning", "accuracy", "confusion_matrix", "f1_score", "per_class_accuracy",
           "precision", "recall", "roc_auc_score", "topk_correct"]


class UndefinedMetricWarning(UserWarning):
    """A metric divided by zero (a class never predicted, or never present) with
    `zero_division="warn"`; its value was set to 0 (scikit-learn's warning of the same name)."""


def _numpy(a):
    if isinstance(a, _core.Tensor):
        return a.detach().numpy()
    return np.asarray(a)


def _targets(who, target, n, num_classes):
    t = _numpy(target)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"{who}: target must have shape ({n},) to match the output's {n} rows, "
                         f"got shape {t.shape}")
    if t.dtype.kind not in "iu":
        raise ValueError(f"{who}: target must hold integer class labels, got dtype {t.dtype}")
    t = t.astype(np.int64)
    if n and (t.min() < 0 or (num_classes is not None and t.max() >= num_classes)):
        bad = t[(t < 0) | (t >= (num_classes if num_classes is not None else np.inf))][0]
        raise ValueError(f"{who}: target label {bad} is out of range for {num_classes} classes")
    return t


def _scores(who, output, target):
    s = _numpy(output)
    if s.ndim != 2:
        raise ValueError(f"{who}: output must be scores of shape (N, C), got shape {s.shape}")
    return s, _targets(who, target, s.shape[0], s.shape[1])


def _labels(who, output, target, num_classes):
    """Predicted and true labels (int64) and the number of classes."""
    o = _numpy(output)
    if o.ndim == 2:
        if num_classes is None:
            num_classes = o.shape[1]
        elif num_classes != o.shape[1]:
            raise ValueError(f"{who}: num_classes={num_classes} but the output has scores for "
                             f"{o.shape[1]} classes (shape {o.shape})")
        pred = o.argmax(1).astype(np.int64)
    elif o.ndim == 1:
        if o.dtype.kind not in "iu":
            raise ValueError(f"{who}: a 1-D output must hold integer predicted labels, got dtype {o.dtype}")
        pred = o.astype(np.int64)
    else:
        raise ValueError(f"{who}: output must be scores (N, C) or predicted labels (N,), "
                         f"got shape {o.shape}")
    t = _targets(who, target, pred.shape[0], None)
    if num_classes is None:
        num_classes = int(max(pred.max(initial=-1), t.max(initial=-1))) + 1
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"{who}: num_classes must be a positive int, got {num_classes!r}")
    for name, a in (("target", t), ("predicted", pred)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            bad = a[(a < 0) | (a >= num_classes)][0]
            raise ValueError(f"{who}: {name} label {bad} is out of range for {num_classes} classes")
    return pred, t, int(num_classes)


def topk_correct(output, target, k):
    """Boolean (N,): whether each row's target is among its `k` highest scores."""
    s, t = _scores("topk_correct", output, target)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"topk_correct: k must be a positive int, got {k!r}")
    rows = np.arange(s.shape[0])
    st = s[rows, t][:, None]
    # the target's rank: classes scored higher, then equal-scored classes of a smaller index
    rank = (s > st).sum(1) + ((s == st) & (np.arange(s.shape[1]) < t[:, None])).sum(1)
    return rank < k


def accuracy(output, target, topk=(1,)):
    """Top-k accuracy (a fraction in [0, 1]) for each k of `topk`: a list of floats, or a float
    when `topk` is a single int. A row counts for top-k when its target is among its k highest
    scores (all rows count when k >= C)."""
    single = isinstance(topk, (int, np.integer))
    ks = (topk,) if single else tuple(topk)
    if not ks:
        raise ValueError("accuracy: topk must name at least one k")
    s, t = _scores("accuracy", output, target)
    if s.shape[0] == 0:
        raise ValueError("accuracy: the output has no rows")
    res = [float(topk_correct(s, t, k).mean()) for k in ks]
    return res[0] if single else res


def confusion_matrix(output, target, num_classes=None):
    """int64 (num_classes, num_classes): entry [i, j] counts the samples of true class i predicted
    as class j (rows are true classes, as scikit-learn's). `num_classes` defaults to the output's
    number of columns for scores, else to the largest label + 1."""
    pred, t, c = _labels("confusion_matrix", output, target, num_classes)
    return np.bincount(t * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)


def per_class_accuracy(output, target, num_classes=None):
    """float64 (num_classes,): the fraction of each true class's samples predicted correctly
    (the class's recall); NaN for a class with no samples."""
    cm = confusion_matrix(output, target, num_classes)
    support = cm.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / np.maximum(support, 1), np.nan)


_AVERAGES = ("macro", "micro", "weighted", "binary", None)


def _counts(who, output, target, labels, average, pos_label):
    """True positives, predicted and true counts (float64) of each label averaged over, and the
    labels: `labels` if given, else those that occur in the target or the predictions (sorted, as
    scikit-learn's); for average="binary" the counts of `pos_label` alone."""
    if average not in _AVERAGES:
        raise ValueError(f"{who}: average must be one of 'macro', 'micro', 'weighted', 'binary' or None, "
                         f"got {average!r}")
    pred, t, c = _labels(who, output, target, None)
    present = np.union1d(np.unique(pred), np.unique(t))
    if average == "binary":
        if len(present) > 2:
            raise ValueError(f"{who}: average='binary' needs two classes, but the target and predictions "
                             f"hold {len(present)} ({present.tolist()}); choose average='macro', 'micro', "
                             f"'weighted' or None")
        labels = [pos_label]
    if labels is None:
        labels = present
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0 or labels.dtype.kind not in "iu" or labels.min() < 0:
        raise ValueError(f"{who}: labels must be non-negative integer class labels, got {labels.tolist()!r}")
    c = max(c, int(labels.max()) + 1)
    cm = np.bincount(t * c + pred, minlength=c * c).reshape(c, c)
    tp, pred_sum, true_sum = np.diag(cm)[labels], cm.sum(0)[labels], cm.sum(1)[labels]
    return tp.astype(np.float64), pred_sum.astype(np.float64), true_sum.astype(np.float64), labels


def _zero_division_value(who, zero_division):
    if isinstance(zero_division, str):
        if zero_division != "warn":
            raise ValueError(f"{who}: zero_division must be 'warn', 0.0, 1.0 or nan, got {zero_division!r}")
        return 0.0
    if not isinstance(zero_division, (int, float)) or not (zero_division in (0, 1) or np.isnan(zero_division)):
        raise ValueError(f"{who}: zero_division must be 'warn', 0.0, 1.0 or nan, got {zero_division!r}")
    return float(zero_division)


def _divide(who, num, den, zero_division, what):
    """num / den, with `zero_division`'s value where den is 0 (and a warning for "warn")."""
    value = _zero_division_value(who, zero_division)
    zero = den == 0
    out = np.where(zero, value, num / np.where(zero, 1, den))
    if zero.any() and zero_division == "warn":
        warnings.warn(f"{who} is ill-defined and set to 0.0 for labels with no {what} samples; use "
                      f"zero_division to choose the value", UndefinedMetricWarning, stacklevel=3)
    return out


def _average(scores, true_sum, average):
    """scikit-learn's average of per-label scores: NaN scores are left out; "weighted" weighs by
    the true counts (uniformly when they are all 0)."""
    if average is None:
        return scores
    keep = ~np.isnan(scores)
    if not keep.any():
        return float("nan")
    w = true_sum[keep] if average == "weighted" else None
    if w is not None and w.sum() == 0:
        w = None
    return float(np.average(scores[keep], weights=w))


def _prf(who, output, target, average, labels, pos_label, zero_division, num, den_of, what):
    tp, pred_sum, true_sum, _ = _counts(who, output, target, labels, average, pos_label)
    counts = {"tp": tp, "pred": pred_sum, "true": true_sum}
    if average == "micro":
        counts = {k: np.array([v.sum()]) for k, v in counts.items()}
    scores = _divide(who, num(counts), den_of(counts), zero_division, what)
    return _average(scores, true_sum, average)


def precision(output, target, average="macro", labels=None, pos_label=1, zero_division="warn"):
    """Precision tp / (tp + fp) of each class: `output` scores (N, C) (the argmax is the
    prediction) or predicted labels (N,), `target` true labels (N,) (tensors or arrays).

    `average` (scikit-learn's): "macro" the mean over classes, "weighted" the mean weighted by each
    class's number of true samples, "micro" the precision of the pooled counts (the accuracy when
    every class is counted), "binary" the precision of class `pos_label` (two classes only), None
    an array with one value per class. The classes are `labels`, by default those occurring in
    the target or the predictions (sorted). A class never predicted has no precision: it takes the
    value `zero_division` (0.0, 1.0 or NaN; NaN values are left out of averages), or 0.0 with an
    UndefinedMetricWarning for "warn"."""
    return _prf("precision", output, target, average, labels, pos_label, zero_division,
                lambda c: c["tp"], lambda c: c["pred"], "predicted")


def recall(output, target, average="macro", labels=None, pos_label=1, zero_division="warn"):
    """Recall tp / (tp + fn) of each class (the per-class accuracy), averaged as `precision` says;
    a class with no true samples takes `zero_division`."""
    return _prf("recall", output, target, average, labels, pos_label, zero_division,
                lambda c: c["tp"], lambda c: c["true"], "true")


def f1_score(output, target, average="macro", labels=None, pos_label=1, zero_division="warn"):
    """F1 score 2 tp / (2 tp + fp + fn) of each class (the harmonic mean of precision and recall),
    averaged as `precision` says; a class neither present nor predicted takes `zero_division`."""
    return _prf("f1_score", output, target, average, labels, pos_label, zero_division,
                lambda c: 2 * c["tp"], lambda c: c["pred"] + c["true"], "true nor predicted")


def _average_ranks(a):
    """1-based ranks of `a`, tied values sharing the mean of their ranks."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse]


def roc_auc_score(output, target):
    """Area under the ROC curve of a binary task: the probability that a random positive sample
    scores above a random negative one, ties counting one half (the Mann-Whitney U statistic
    over n_pos * n_neg, equal to scikit-learn's trapezoidal area).

    `output`: scores (N,) of the positive class (probabilities or logits), or (N, 2) scores of
    both classes (ranked by the second minus the first, which orders as the softmax probability of
    the second). `target` (N,): two distinct values (ints, bools or floats); the larger is the
    positive class. When the target holds one class only the area is undefined: NaN, with an
    UndefinedMetricWarning (scikit-learn's behaviour since 1.6; earlier versions raised)."""
    s = _numpy(output).astype(np.float64)
    if s.ndim == 2 and s.shape[1] == 2:
        s = s[:, 1] - s[:, 0]
    if s.ndim != 1:
        raise ValueError(f"roc_auc_score: output must be scores (N,) or (N, 2) of a binary task, got shape "
                         f"{_numpy(output).shape}")
    t = _numpy(target)
    if t.ndim != 1 or t.shape[0] != s.shape[0]:
        raise ValueError(f"roc_auc_score: target must have shape ({s.shape[0]},) to match the output, got "
                         f"shape {t.shape}")
    if t.dtype.kind not in "biuf":
        raise ValueError(f"roc_auc_score: target must hold class labels, got dtype {t.dtype}")
    if np.isnan(s).any():
        raise ValueError("roc_auc_score: the output holds NaN")
    classes = np.unique(t)
    if len(classes) == 1:
        warnings.warn(f"roc_auc_score: only one class ({classes[0]}) is present in the target; ROC AUC "
                      f"is not defined (NaN)", UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    if len(classes) != 2:
        raise ValueError(f"roc_auc_score: the target holds {len(classes)} classes ({classes.tolist()}); "
                         f"ROC AUC is computed here for binary tasks")
    pos = t == classes[1]
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    u = _average_ranks(s)[pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))
