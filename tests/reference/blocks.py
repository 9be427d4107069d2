"""Plain NumPy (float64) references for the building blocks of tests/ops/: cat and
stack, the activations beyond ops.py's, and the losses of the toolbox. Same conventions as
ops.py: every function computes in float64; `<op>_backward(..., dy, ...)` returns the gradient(s)
of sum(y * dy); reduced losses take a one-value dy.

Written from the textbook formulas, sharing nothing with the library's kernels.
"""

import math

import numpy as np

_erf = np.vectorize(math.erf)


def _f64(a):
    return np.asarray(a, dtype=np.float64)


# ---- cat / stack -------------------------------------------------------------------------------

def cat(xs, dim):
    return np.concatenate([_f64(x) for x in xs], axis=dim)


def cat_backward(xs, dy, dim):
    """The slice of dy that each input was copied to."""
    cuts = np.cumsum([np.shape(x)[dim] for x in xs])[:-1]
    return tuple(np.split(_f64(dy), cuts, axis=dim))


def stack(xs, dim):
    return np.stack([_f64(x) for x in xs], axis=dim)


def stack_backward(xs, dy, dim):
    return tuple(np.moveaxis(_f64(dy), dim, 0))


# ---- activations -------------------------------------------------------------------------------

def hardtanh(x, min_val=-1.0, max_val=1.0):
    return np.clip(_f64(x), min_val, max_val)


def hardtanh_backward(x, dy, min_val=-1.0, max_val=1.0):
    """dy strictly inside (min_val, max_val), 0 at and beyond the bounds (as PyTorch)."""
    x = _f64(x)
    return np.where((x > min_val) & (x < max_val), _f64(dy), 0.0)


def elu(x, alpha=1.0):
    x = _f64(x)
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def elu_backward(x, dy, alpha=1.0):
    x = _f64(x)
    return _f64(dy) * np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0)))


def gelu(x, approximate="none"):
    x = _f64(x)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return x * 0.5 * (1 + _erf(x / math.sqrt(2)))


def gelu_backward(x, dy, approximate="none"):
    x = _f64(x)
    if approximate == "tanh":
        k = math.sqrt(2 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x ** 3))
        d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    else:
        cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
        pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        d = cdf + x * pdf
    return _f64(dy) * d


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def silu(x):
    x = _f64(x)
    return x * _sigmoid(x)


def silu_backward(x, dy):
    x = _f64(x)
    s = _sigmoid(x)
    return _f64(dy) * (s + x * s * (1 - s))


def softplus(x, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta; x itself where beta x > threshold."""
    x = _f64(x)
    bx = beta * x
    soft = (np.maximum(bx, 0) + np.log1p(np.exp(-np.abs(bx)))) / beta
    return np.where(bx > threshold, x, soft)


def softplus_backward(x, dy, beta=1.0, threshold=20.0):
    x = _f64(x)
    return _f64(dy) * np.where(beta * x > threshold, 1.0, _sigmoid(beta * x))


def _prelu_weight(x, w):
    """w shaped to broadcast over x: channels on dimension 1 when w has more than one value."""
    w = _f64(w).reshape(-1)
    if w.size == 1:
        return w.reshape(())
    return w.reshape((1, -1) + (1,) * (np.ndim(x) - 2))


def prelu(x, w):
    x = _f64(x)
    return np.where(x > 0, x, _prelu_weight(x, w) * x)


def prelu_backward(x, w, dy):
    """Returns (dx, dw): dw sums dy * x over the elements x <= 0 of each channel."""
    x, dy = _f64(x), _f64(dy)
    dx = np.where(x > 0, dy, _prelu_weight(x, w) * dy)
    contrib = np.where(x > 0, 0.0, x * dy)
    w = _f64(w)
    if w.size == 1:
        dw = np.full(w.shape, contrib.sum())
    else:
        axes = (0,) + tuple(range(2, x.ndim))
        dw = contrib.sum(axis=axes).reshape(w.shape)
    return dx, dw


# ---- losses ------------------------------------------------------------------------------------
# Reduced losses: "mean" divides the sum by `divisor` (the element count unless said otherwise).

def _reduce(l, reduction, divisor=None):
    if reduction == "none":
        return l
    s = l.sum()
    return s if reduction == "sum" else s / (l.size if divisor is None else divisor)


def _dy_per_element(dy, shape, reduction, divisor):
    """The gradient weight of each per-element loss."""
    dy = _f64(dy)
    if reduction == "none":
        return np.broadcast_to(dy, shape)
    g = dy.reshape(())
    return np.broadcast_to(g if reduction == "sum" else g / divisor, shape)


def _log_softmax(x, axis=1):
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _targets(scores, target, ignore_index):
    target = np.asarray(target)
    valid = target != ignore_index
    return np.where(valid, target, 0).astype(np.int64), valid


def cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Per position: (1-eps) w[t] (-logp[t]) + (eps/C) sum_c w[c] (-logp[c]); "mean" divides by the
    sum of w[t] over the positions not ignored. logits (N,C,d...), target (N,d...)."""
    logits = _f64(logits)
    C = logits.shape[1]
    w = np.ones(C) if weight is None else _f64(weight)
    t, valid = _targets(logits, target, ignore_index)
    logp = _log_softmax(logits)
    wshape = (1, C) + (1,) * (logits.ndim - 2)
    nll = -np.take_along_axis(logp, t[:, None], axis=1)[:, 0] * w[t]
    smooth = -(logp * w.reshape(wshape)).sum(axis=1)
    loss = np.where(valid, (1 - label_smoothing) * nll + label_smoothing / C * smooth, 0.0)
    return _reduce(loss, reduction, np.where(valid, w[t], 0.0).sum())


def cross_entropy_backward(logits, target, dy, weight=None, ignore_index=-100, reduction="mean",
                           label_smoothing=0.0):
    logits = _f64(logits)
    C = logits.shape[1]
    w = np.ones(C) if weight is None else _f64(weight)
    t, valid = _targets(logits, target, ignore_index)
    g = _dy_per_element(dy, t.shape, reduction, np.where(valid, w[t], 0.0).sum()) * valid
    s = np.exp(_log_softmax(logits))
    onehot = np.zeros_like(logits)
    np.put_along_axis(onehot, t[:, None], 1.0, axis=1)
    wshape = (1, C) + (1,) * (logits.ndim - 2)
    # d(-logp[c])/dx = s - onehot(c)
    d_nll = (s - onehot) * w[t][:, None]
    d_smooth = s * w.sum() - w.reshape(wshape)
    return ((1 - label_smoothing) * d_nll + label_smoothing / C * d_smooth) * g[:, None]


def nll_loss(logp, target, weight=None, ignore_index=-100, reduction="mean"):
    logp = _f64(logp)
    w = np.ones(logp.shape[1]) if weight is None else _f64(weight)
    t, valid = _targets(logp, target, ignore_index)
    loss = np.where(valid, -np.take_along_axis(logp, t[:, None], axis=1)[:, 0] * w[t], 0.0)
    return _reduce(loss, reduction, np.where(valid, w[t], 0.0).sum())


def nll_loss_backward(logp, target, dy, weight=None, ignore_index=-100, reduction="mean"):
    logp = _f64(logp)
    w = np.ones(logp.shape[1]) if weight is None else _f64(weight)
    t, valid = _targets(logp, target, ignore_index)
    g = _dy_per_element(dy, t.shape, reduction, np.where(valid, w[t], 0.0).sum()) * valid
    d = np.zeros_like(logp)
    np.put_along_axis(d, t[:, None], (-g * w[t])[:, None], axis=1)
    return d


def _elem_weight(w, shape):
    return np.ones(shape) if w is None else np.broadcast_to(_f64(w), shape)


def binary_cross_entropy(x, t, weight=None, reduction="mean"):
    """-w (t log x + (1 - t) log(1 - x)), each log clamped at -100."""
    x, t = _f64(x), _f64(t)
    with np.errstate(divide="ignore"):
        lx, l1x = np.maximum(np.log(x), -100), np.maximum(np.log(1 - x), -100)
    return _reduce(-_elem_weight(weight, x.shape) * (t * lx + (1 - t) * l1x), reduction)


def binary_cross_entropy_backward(x, t, dy, weight=None, reduction="mean"):
    """(dx, dt): dx = w (x - t) / (x (1 - x)), dt = w (log(1 - x) - log x)."""
    x, t = _f64(x), _f64(t)
    g = _dy_per_element(dy, x.shape, reduction, x.size) * _elem_weight(weight, x.shape)
    return g * (x - t) / (x * (1 - x)), g * (np.log(1 - x) - np.log(x))


def _log_sigmoid(x):
    return -(np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))


def binary_cross_entropy_with_logits(x, t, weight=None, reduction="mean", pos_weight=None):
    """-w (pw t log sigmoid(x) + (1 - t) log(1 - sigmoid(x)))."""
    x, t = _f64(x), _f64(t)
    pw = _elem_weight(pos_weight, x.shape)
    loss = -(pw * t * _log_sigmoid(x) + (1 - t) * _log_sigmoid(-x))
    return _reduce(_elem_weight(weight, x.shape) * loss, reduction)


def binary_cross_entropy_with_logits_backward(x, t, dy, weight=None, reduction="mean", pos_weight=None):
    x, t = _f64(x), _f64(t)
    pw = _elem_weight(pos_weight, x.shape)
    g = _dy_per_element(dy, x.shape, reduction, x.size) * _elem_weight(weight, x.shape)
    s = _sigmoid(x)
    dx = -(pw * t * (1 - s) - (1 - t) * s)
    dt = -(pw * _log_sigmoid(x) - _log_sigmoid(-x))
    return g * dx, g * dt


def l1_loss(x, t, reduction="mean"):
    return _reduce(np.abs(_f64(x) - _f64(t)), reduction)


def l1_loss_backward(x, t, dy, reduction="mean"):
    d = np.sign(_f64(x) - _f64(t)) * _dy_per_element(dy, np.shape(x), reduction, np.size(x))
    return d, -d


def smooth_l1_loss(x, t, reduction="mean", beta=1.0):
    d = np.abs(_f64(x) - _f64(t))
    quad = 0.5 * d * d / beta if beta > 0 else np.zeros_like(d)
    return _reduce(np.where(d < beta, quad, d - 0.5 * beta), reduction)


def smooth_l1_loss_backward(x, t, dy, reduction="mean", beta=1.0):
    d = _f64(x) - _f64(t)
    slope = np.where(np.abs(d) < beta, d / beta if beta > 0 else 0.0, np.sign(d))
    g = slope * _dy_per_element(dy, d.shape, reduction, d.size)
    return g, -g


def kl_div(x, t, reduction="mean", log_target=False):
    """t (log t - x) (0 where t == 0), or exp(t) (t - x) with log_target; "batchmean" divides the
    sum by the batch size."""
    x, t = _f64(x), _f64(t)
    if log_target:
        loss = np.exp(t) * (t - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = np.where(t > 0, t * (np.log(t) - x), -t * x)
    if reduction == "batchmean":
        return loss.sum() / x.shape[0]
    return _reduce(loss, reduction)


def kl_div_backward(x, t, dy, reduction="mean", log_target=False):
    """(dx, dt) for t > 0."""
    x, t = _f64(x), _f64(t)
    red, div = ("mean", x.shape[0]) if reduction == "batchmean" else (reduction, x.size)
    g = _dy_per_element(dy, x.shape, red, div)
    if log_target:
        e = np.exp(t)
        return -g * e, g * e * (t - x + 1)
    return -g * t, g * (np.log(t) + 1 - x)


def multi_margin_loss(x, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Per sample: sum over j != y of w[y] max(0, margin - x[y] + x[j])^p / C; "mean" over samples.
    x (N,C) with target (N,), or one sample x (C,) with a 0-d target."""
    one = np.ndim(x) == 1
    x = np.atleast_2d(_f64(x))
    y = np.atleast_1d(np.asarray(target)).astype(np.int64)
    N, C = x.shape
    w = np.ones(C) if weight is None else _f64(weight)
    z = np.maximum(margin - x[np.arange(N), y][:, None] + x, 0) ** p
    z[np.arange(N), y] = 0
    loss = z.sum(axis=1) * w[y] / C
    return _reduce(loss[0] if one else loss, reduction)


def multi_margin_loss_backward(x, target, dy, p=1, margin=1.0, weight=None, reduction="mean"):
    x = np.atleast_2d(_f64(x))
    y = np.atleast_1d(np.asarray(target)).astype(np.int64)
    N, C = x.shape
    w = np.ones(C) if weight is None else _f64(weight)
    g = _dy_per_element(np.reshape(dy, -1) if reduction == "none" else dy, (N,), reduction, N)
    z = margin - x[np.arange(N), y][:, None] + x
    d = np.where(z > 0, p * np.maximum(z, 0) ** (p - 1), 0.0)
    d[np.arange(N), y] = 0
    d[np.arange(N), y] = -d.sum(axis=1)
    return (d * (g * w[y] / C)[:, None]).reshape(np.shape(target) + (C,))


def cross_entropy_probs(logits, target, weight=None, reduction="mean", label_smoothing=0.0):
    """Class probabilities as target: -sum_c w[c] t[c] logp[c], t smoothed to t (1-eps) + eps/C;
    "mean" divides by the number of positions."""
    logits, t = _f64(logits), _f64(target)
    C = logits.shape[1]
    t = t * (1 - label_smoothing) + label_smoothing / C
    w = np.ones(C) if weight is None else _f64(weight)
    loss = -(_log_softmax(logits) * t * w.reshape((1, C) + (1,) * (logits.ndim - 2))).sum(axis=1)
    return _reduce(loss, reduction)


def cross_entropy_probs_backward(logits, target, dy, weight=None, reduction="mean", label_smoothing=0.0):
    """(dlogits, dtarget)."""
    logits, t = _f64(logits), _f64(target)
    C = logits.shape[1]
    ts = t * (1 - label_smoothing) + label_smoothing / C
    w = (np.ones(C) if weight is None else _f64(weight)).reshape((1, C) + (1,) * (logits.ndim - 2))
    per_shape = logits.shape[:1] + logits.shape[2:]
    g = np.expand_dims(_dy_per_element(dy, per_shape, reduction, int(np.prod(per_shape))), 1)
    logp = _log_softmax(logits)
    wt = w * ts
    dx = g * (np.exp(logp) * wt.sum(axis=1, keepdims=True) - wt)
    dt = -g * w * logp * (1 - label_smoothing)
    return dx, dt
