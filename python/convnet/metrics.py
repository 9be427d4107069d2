"""Classification metrics on a model's outputs: top-k accuracy, per-class accuracy and the confusion
matrix, computed with NumPy and returned as Python floats or NumPy arrays.

`output` is either scores (N, C) (logits or probabilities; the predicted class of a row is its
argmax, the first one on ties) or predicted labels (N,); `target` holds the true labels (N,).
Both may be convnet tensors or NumPy arrays. Ranks break ties by class index, as a stable sort of
the scores in decreasing order does, so top-1 accuracy always agrees with the argmax."""

import numpy as np

from . import _core

__all__ = ["accuracy", "confusion_matrix", "per_class_accuracy", "topk_correct"]


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
