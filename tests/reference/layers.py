"""Plain NumPy references (float64) of the sample normalizations (layer, group, instance),
embedding, pixel shuffle, unfold/fold and max unpooling, written from their definitions
(loops over positions or explicit formulas) and sharing no structure with the library's kernels.

Conventions as tests/reference/ops.py: float64 in and out; every `<op>_backward(..., dy)`
returns the gradient(s) of sum(y * dy) with respect to the op's inputs.
"""

import numpy as np

from .ops import _f64, _pair


# ---- normalization over groups of a sample -----------------------------------------------------

def _normalize(x, axes, eps):
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps)


def _normalize_backward(x, dy, axes, eps):
    """The gradient of sum(dy * normalize(x)), from the chain rule over mean and variance."""
    n = np.prod([x.shape[a] for a in axes])
    mu = x.mean(axis=axes, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    dvar = np.sum(dy * (x - mu), axis=axes, keepdims=True) * -0.5 * rstd ** 3
    dmu = -np.sum(dy * rstd, axis=axes, keepdims=True) + dvar * np.mean(-2 * (x - mu), axis=axes, keepdims=True)
    return dy * rstd + dvar * 2 * (x - mu) / n + dmu / n


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = _f64(x)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    y = _normalize(x, axes, eps)
    return y * (1 if weight is None else weight) + (0 if bias is None else bias)


def layer_norm_backward(x, dy, normalized_shape, weight=None, eps=1e-5):
    """Gradients of x, weight and bias."""
    x, dy = _f64(x), _f64(dy)
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    lead = tuple(range(x.ndim - len(normalized_shape)))
    xhat = _normalize(x, axes, eps)
    dx = _normalize_backward(x, dy * (1 if weight is None else weight), axes, eps)
    return dx, np.sum(dy * xhat, axis=lead), np.sum(dy, axis=lead)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    x = _f64(x)
    n, c = x.shape[:2]
    g = x.reshape(n, num_groups, -1)
    y = _normalize(g, (2,), eps).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * np.reshape(weight, shape)
    if bias is not None:
        y = y + np.reshape(bias, shape)
    return y


def group_norm_backward(x, dy, num_groups, weight=None, eps=1e-5):
    """Gradients of x, weight and bias."""
    x, dy = _f64(x), _f64(dy)
    n, c = x.shape[:2]
    shape = (1, c) + (1,) * (x.ndim - 2)
    g = dy * (1 if weight is None else np.reshape(weight, shape))
    dx = _normalize_backward(x.reshape(n, num_groups, -1), g.reshape(n, num_groups, -1), (2,), eps)
    xhat = _normalize(x.reshape(n, num_groups, -1), (2,), eps).reshape(x.shape)
    other = (0,) + tuple(range(2, x.ndim))
    return dx.reshape(x.shape), np.sum(dy * xhat, axis=other), np.sum(dy, axis=other)


def instance_norm(x, weight=None, bias=None, eps=1e-5):
    return group_norm(x, x.shape[1], weight, bias, eps)


def instance_norm_backward(x, dy, weight=None, eps=1e-5):
    return group_norm_backward(x, dy, x.shape[1], weight, eps)


# ---- embedding ---------------------------------------------------------------------------------

def embedding(idx, weight):
    out = np.zeros(idx.shape + (weight.shape[1],))
    for pos in np.ndindex(*idx.shape):
        out[pos] = weight[idx[pos]]
    return out


def embedding_backward(idx, dy, num_embeddings, padding_idx=None):
    dw = np.zeros((num_embeddings, dy.shape[-1]))
    for pos in np.ndindex(*idx.shape):
        if idx[pos] != padding_idx:
            dw[idx[pos]] += dy[pos]
    return dw


# ---- pixel shuffle -------------------------------------------------------------------------------

def pixel_shuffle(x, r):
    x = _f64(x)
    *lead, cin, h, w = x.shape
    c = cin // (r * r)
    y = np.zeros((*lead, c, h * r, w * r))
    for ci in range(c):
        for i in range(r):
            for j in range(r):
                y[..., ci, i::r, j::r] = x[..., (ci * r + i) * r + j, :, :]
    return y


def pixel_unshuffle(y, r):
    y = _f64(y)
    *lead, c, hr, wr = y.shape
    x = np.zeros((*lead, c * r * r, hr // r, wr // r))
    for ci in range(c):
        for i in range(r):
            for j in range(r):
                x[..., (ci * r + i) * r + j, :, :] = y[..., ci, i::r, j::r]
    return x


# ---- unfold / fold -----------------------------------------------------------------------------------

def _blocks(h, w, kernel, dilation, padding, stride):
    """(P, Q, [(row, col) of each output block and tap as padded-input coordinates])."""
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = (_pair(v) for v in (kernel, dilation, padding, stride))
    p = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    q = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return p, q, kh, kw, dh, dw, ph, pw, sh, sw


def unfold(x, kernel, dilation=1, padding=0, stride=1):
    """x (N,C,H,W) -> (N, C*kh*kw, P*Q): column (p, q) holds block (p, q), row (c, i, j) its tap."""
    x = _f64(x)
    n, c, h, w = x.shape
    p, q, kh, kw, dh, dw, ph, pw, sh, sw = _blocks(h, w, kernel, dilation, padding, stride)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((n, c * kh * kw, p * q))
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                for a in range(p):
                    for b in range(q):
                        out[:, (ci * kh + i) * kw + j, a * q + b] = xp[:, ci, a * sh + i * dh, b * sw + j * dw]
    return out


def fold(cols, output_size, kernel, dilation=1, padding=0, stride=1):
    """cols (N, C*kh*kw, L) -> (N,C,H,W): the adjoint of unfold (entries summed per pixel)."""
    cols = _f64(cols)
    h, w = _pair(output_size)
    p, q, kh, kw, dh, dw, ph, pw, sh, sw = _blocks(h, w, kernel, dilation, padding, stride)
    n, rows, _ = cols.shape
    c = rows // (kh * kw)
    yp = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for ci in range(c):
        for i in range(kh):
            for j in range(kw):
                for a in range(p):
                    for b in range(q):
                        yp[:, ci, a * sh + i * dh, b * sw + j * dw] += cols[:, (ci * kh + i) * kw + j, a * q + b]
    return yp[:, :, ph:ph + h, pw:pw + w]


# ---- max unpooling -------------------------------------------------------------------------------------

def max_unpool2d(x, idx, output_size):
    """x, idx (N,C,P,Q) -> (N,C,H,W): zeros with y.flat[idx] = x per plane."""
    x = _f64(x)
    n, c = x.shape[:2]
    h, w = output_size
    y = np.zeros((n, c, h * w))
    for a in range(n):
        for b in range(c):
            y[a, b, idx[a, b].reshape(-1)] = x[a, b].reshape(-1)
    return y.reshape(n, c, h, w)
