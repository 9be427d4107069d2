"""NumPy references (float64) for every op, forward and backward.

Written for clarity, not speed: direct loops over output positions and
windows, so that they share no code or structure with the C++ kernels.
"""

import math

import numpy as np


def conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    out = (math.ceil(span / stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# ---- convolution ---------------------------------------------------------------------------

def _pad(x, ph, pw, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    P = conv_output_size(H, R, sh, ph, dh)
    Q = conv_output_size(W, S, sw, pw, dw)
    xp = _pad(x, ph, pw)
    y = np.zeros((N, K, P, Q))
    Kg = K // groups
    for k in range(K):
        g = k // Kg
        for p in range(P):
            for q in range(Q):
                win = xp[:, g * Cg:(g + 1) * Cg, p * sh:p * sh + dh * (R - 1) + 1:dh,
                         q * sw:q * sw + dw * (S - 1) + 1:dw]
                y[:, k, p, q] = np.sum(win * w[k], axis=(1, 2, 3))
    if b is not None:
        y += b[None, :, None, None]
    return y


def conv2d_backward(x, w, dy, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    (sh, sw), (ph, pw), (dh, dw_) = stride, padding, dilation
    P, Q = dy.shape[2], dy.shape[3]
    xp = _pad(x, ph, pw)
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w, dtype=np.float64)
    Kg = K // groups
    for k in range(K):
        g = k // Kg
        cs = slice(g * Cg, (g + 1) * Cg)
        for p in range(P):
            for q in range(Q):
                hs = slice(p * sh, p * sh + dh * (R - 1) + 1, dh)
                ws = slice(q * sw, q * sw + dw_ * (S - 1) + 1, dw_)
                g_ = dy[:, k, p, q][:, None, None, None]
                dw[k] += np.sum(xp[:, cs, hs, ws] * g_, axis=0)
                dxp[:, cs, hs, ws] += w[k][None] * g_
    dx = dxp[:, :, ph:ph + H, pw:pw + W]
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


# ---- pooling -------------------------------------------------------------------------------

def _pool_windows(H, W, kernel, stride, padding, dilation, ceil_mode):
    (R, S), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    P = conv_output_size(H, R, sh, ph, dh, ceil_mode)
    Q = conv_output_size(W, S, sw, pw, dw, ceil_mode)
    return P, Q


def max_pool2d(x, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    y, _ = _max_pool(x, kernel, stride, padding, dilation, ceil_mode)
    return y


def _max_pool(x, kernel, stride, padding, dilation, ceil_mode):
    N, C, H, W = x.shape
    P, Q = _pool_windows(H, W, kernel, stride, padding, dilation, ceil_mode)
    (R, S), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    y = np.zeros((N, C, P, Q))
    arg = np.zeros((N, C, P, Q, 2), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for p in range(P):
                for q in range(Q):
                    best, where = -np.inf, (0, 0)
                    for r in range(R):
                        for s in range(S):
                            h, w = p * sh - ph + r * dh, q * sw - pw + s * dw
                            if 0 <= h < H and 0 <= w < W and (x[n, c, h, w] > best or where == (0, 0) and best == -np.inf):
                                if x[n, c, h, w] > best:
                                    best, where = x[n, c, h, w], (h, w)
                    y[n, c, p, q] = best
                    arg[n, c, p, q] = where
    return y, arg


def max_pool2d_backward(x, dy, kernel, stride, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    _, arg = _max_pool(x, kernel, stride, padding, dilation, ceil_mode)
    dx = np.zeros_like(x, dtype=np.float64)
    N, C, P, Q = dy.shape
    for n in range(N):
        for c in range(C):
            for p in range(P):
                for q in range(Q):
                    h, w = arg[n, c, p, q]
                    dx[n, c, h, w] += dy[n, c, p, q]
    return dx


def _avg_divisors(H, W, P, Q, kernel, stride, padding, count_include_pad):
    (R, S), (sh, sw), (ph, pw) = kernel, stride, padding
    div = np.zeros((P, Q))
    spans = {}
    for p in range(P):
        for q in range(Q):
            h0, w0 = p * sh - ph, q * sw - pw
            h1, w1 = min(h0 + R, H + ph), min(w0 + S, W + pw)
            pool = (h1 - h0) * (w1 - w0)
            h0c, w0c, h1c, w1c = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            div[p, q] = pool if count_include_pad else (h1c - h0c) * (w1c - w0c)
            spans[p, q] = (h0c, h1c, w0c, w1c)
    return div, spans


def avg_pool2d(x, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    N, C, H, W = x.shape
    P, Q = _pool_windows(H, W, kernel, stride, padding, (1, 1), ceil_mode)
    div, spans = _avg_divisors(H, W, P, Q, kernel, stride, padding, count_include_pad)
    y = np.zeros((N, C, P, Q))
    for (p, q), (h0, h1, w0, w1) in spans.items():
        y[:, :, p, q] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div[p, q]
    return y


def avg_pool2d_backward(x, dy, kernel, stride, padding=(0, 0), ceil_mode=False, count_include_pad=True):
    N, C, H, W = x.shape
    P, Q = dy.shape[2:]
    div, spans = _avg_divisors(H, W, P, Q, kernel, stride, padding, count_include_pad)
    dx = np.zeros_like(x, dtype=np.float64)
    for (p, q), (h0, h1, w0, w1) in spans.items():
        dx[:, :, h0:h1, w0:w1] += dy[:, :, p, q][:, :, None, None] / div[p, q]
    return dx


def _adaptive_spans(size, out):
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    N, C, H, W = x.shape
    P, Q = output_size
    y = np.zeros((N, C, P, Q))
    for p, (h0, h1) in enumerate(_adaptive_spans(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_spans(W, Q)):
            y[:, :, p, q] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(x, dy, output_size):
    N, C, H, W = x.shape
    P, Q = output_size
    dx = np.zeros_like(x, dtype=np.float64)
    for p, (h0, h1) in enumerate(_adaptive_spans(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_spans(W, Q)):
            dx[:, :, h0:h1, w0:w1] += dy[:, :, p, q][:, :, None, None] / ((h1 - h0) * (w1 - w0))
    return dx


# ---- dense and pointwise ---------------------------------------------------------------------

def linear(x, w, b=None):
    y = x @ w.T
    return y + b if b is not None else y


def linear_backward(x, w, dy):
    x2, dy2 = x.reshape(-1, x.shape[-1]), dy.reshape(-1, dy.shape[-1])
    return dy @ w, dy2.T @ x2, dy2.sum(0)


def relu(x):
    return np.where(x > 0, x, 0.0)


def relu_backward(x, dy):
    return np.where(x > 0, dy, 0.0)


def leaky_relu(x, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(x, dy, negative_slope=0.01):
    return np.where(x > 0, dy, dy * negative_slope)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(x, dy):
    s = sigmoid(x)
    return dy * s * (1 - s)


def tanh(x):
    return np.tanh(x)


def tanh_backward(x, dy):
    return dy * (1 - np.tanh(x) ** 2)


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(x, dy, dim):
    s = softmax(x, dim)
    return s * (dy - (dy * s).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def log_softmax_backward(x, dy, dim):
    return dy - softmax(x, dim) * dy.sum(axis=dim, keepdims=True)


def dropout(x, mask, p):
    return x * mask / (1 - p)


def dropout_backward(dy, mask, p):
    return dy * mask / (1 - p)


# ---- losses ----------------------------------------------------------------------------------

def _reduce(l, reduction, count=None):
    if reduction == "none":
        return l
    return l.sum() if reduction == "sum" else l.sum() / (l.size if count is None else count)


def _dreduce(dy, shape, reduction, count=None):
    if reduction == "none":
        return dy
    scale = 1.0 if reduction == "sum" else 1.0 / (np.prod(shape) if count is None else count)
    return np.full(shape, float(np.asarray(dy)) * scale)


def nll_loss(logp, target, reduction="mean"):
    l = -np.take_along_axis(logp, target[:, None], axis=1)[:, 0]
    return _reduce(l, reduction)


def nll_loss_backward(logp, target, dy, reduction="mean"):
    g = _dreduce(dy, target.shape, reduction)
    dx = np.zeros_like(logp, dtype=np.float64)
    np.put_along_axis(dx, target[:, None], -g[:, None], axis=1)
    return dx


def cross_entropy(logits, target, reduction="mean"):
    return nll_loss(log_softmax(logits, 1), target, reduction)


def cross_entropy_backward(logits, target, dy, reduction="mean"):
    g = _dreduce(dy, target.shape, reduction)
    onehot = np.zeros_like(logits, dtype=np.float64)
    np.put_along_axis(onehot, target[:, None], 1.0, axis=1)
    return (softmax(logits, 1) - onehot) * g[:, None]


def mse_loss(x, y, reduction="mean"):
    return _reduce((x - y) ** 2, reduction)


def mse_loss_backward(x, y, dy, reduction="mean"):
    g = _dreduce(dy, x.shape, reduction) * 2 * (x - y)
    return g, -g
