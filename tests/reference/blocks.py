"""Plain NumPy (float64) references for the building blocks of tests/test_blocks.py: cat and
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

