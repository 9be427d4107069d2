"""Plain NumPy references (float64) of the normalization, transposed-convolution, padding,
adaptive/LP pooling and interpolation ops, forward and backward, written from the formulas
(loops over windows or output positions) and sharing no structure with the library's kernels.

Conventions as tests/reference/ops.py: float64 in and out; every `<op>_backward(..., dy)`
returns the gradient(s) of sum(y * dy) with respect to the op's inputs.
"""

import math

import numpy as np

from .ops import _f64, _pair


# ---- batch norm ------------------------------------------------------------------------------

def _channel_axes(x):
    return (0,) + tuple(range(2, x.ndim))


def _bshape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Returns (y, new_running_mean, new_running_var); the running statistics are returned
    updated (training) or unchanged, never modified in place."""
    x = _f64(x)
    ax = _channel_axes(x)
    if training:
        mean, var = x.mean(axis=ax), x.var(axis=ax)
        m = x.size // x.shape[1]
        rm = None if running_mean is None else (1 - momentum) * _f64(running_mean) + momentum * mean
        rv = None if running_var is None else (1 - momentum) * _f64(running_var) + momentum * var * m / (m - 1)
    else:
        mean, var = _f64(running_mean), _f64(running_var)
        rm, rv = running_mean, running_var
    y = (x - mean.reshape(_bshape(x))) / np.sqrt(var.reshape(_bshape(x)) + eps)
    if weight is not None:
        y = y * _f64(weight).reshape(_bshape(x))
    if bias is not None:
        y = y + _f64(bias).reshape(_bshape(x))
    return y, rm, rv


def batch_norm_backward(x, dy, running_mean=None, running_var=None, weight=None, training=False, eps=1e-5):
    """(dx, dweight, dbias)."""
    x, dy = _f64(x), _f64(dy)
    ax = _channel_axes(x)
    bs = _bshape(x)
    if training:
        mean, var = x.mean(axis=ax), x.var(axis=ax)
    else:
        mean, var = _f64(running_mean), _f64(running_var)
    invstd = 1 / np.sqrt(var + eps)
    xhat = (x - mean.reshape(bs)) * invstd.reshape(bs)
    w = np.ones(x.shape[1]) if weight is None else _f64(weight)
    dw = (dy * xhat).sum(axis=ax)
    db = dy.sum(axis=ax)
    g = dy * w.reshape(bs)
    if training:
        m = x.size // x.shape[1]
        dx = invstd.reshape(bs) / m * (m * g - g.sum(axis=ax).reshape(bs)
                                      - xhat * (g * xhat).sum(axis=ax).reshape(bs))
    else:
        dx = g * invstd.reshape(bs)
    return dx, dw, db


# ---- local response norm ---------------------------------------------------------------------

def _lrn_scale(x, size, alpha, k):
    C = x.shape[1]
    scale = np.empty_like(x)
    for c in range(C):
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        scale[:, c] = k + alpha / size * (x[:, lo:hi] ** 2).sum(axis=1)
    return scale


def local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    x = _f64(x)
    return x / _lrn_scale(x, size, alpha, k) ** beta


def local_response_norm_backward(x, dy, size, alpha=1e-4, beta=0.75, k=1.0):
    x, dy = _f64(x), _f64(dy)
    C = x.shape[1]
    s = _lrn_scale(x, size, alpha, k)
    dx = dy * s ** -beta
    for c in range(C):  # y[c] depends on x[j] for j in c's window through s[c]
        lo, hi = max(0, c - size // 2), min(C, c + (size - 1) // 2 + 1)
        g = dy[:, c] * x[:, c] * (-beta) * s[:, c] ** (-beta - 1) * alpha / size
        for j in range(lo, hi):
            dx[:, j] += g * 2 * x[:, j]
    return dx


# ---- adaptive and LP pooling ---------------------------------------------------------------------

def _adaptive_out(x, output_size):
    P, Q = (output_size, output_size) if not isinstance(output_size, (tuple, list)) else output_size
    return x.shape[2] if P is None else P, x.shape[3] if Q is None else Q


def _bins(size, out):
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    """reference.ops.adaptive_avg_pool2d with None entries (the input's size) resolved."""
    from .ops import adaptive_avg_pool2d as avg
    return avg(x, _adaptive_out(_f64(x), output_size))


def adaptive_avg_pool2d_backward(x, dy, output_size):
    from .ops import adaptive_avg_pool2d_backward as avg_backward
    return avg_backward(x, dy, _adaptive_out(_f64(x), output_size))


def adaptive_max_pool2d(x, output_size):
    x = _f64(x)
    P, Q = _adaptive_out(x, output_size)
    y = np.zeros(x.shape[:2] + (P, Q))
    for p, (h0, h1) in enumerate(_bins(x.shape[2], P)):
        for q, (w0, w1) in enumerate(_bins(x.shape[3], Q)):
            y[:, :, p, q] = x[:, :, h0:h1, w0:w1].max(axis=(2, 3))
    return y


def adaptive_max_pool2d_backward(x, dy, output_size):
    """dy goes to the first maximum of each window (row-major order)."""
    x, dy = _f64(x), _f64(dy)
    P, Q = _adaptive_out(x, output_size)
    dx = np.zeros_like(x)
    for p, (h0, h1) in enumerate(_bins(x.shape[2], P)):
        for q, (w0, w1) in enumerate(_bins(x.shape[3], Q)):
            win = x[:, :, h0:h1, w0:w1].reshape(x.shape[0], x.shape[1], -1)
            k = win.argmax(axis=2)
            for n in range(x.shape[0]):
                for c in range(x.shape[1]):
                    h, w = divmod(int(k[n, c]), w1 - w0)
                    dx[n, c, h0 + h, w0 + w] += dy[n, c, p, q]
    return dx


def lp_pool2d(x, norm_type, kernel, stride=None, ceil_mode=False):
    """(sum over the window of x^p)^(1/p), torch's way: kh*kw * avg_pool2d(x^p) (so ceil_mode's
    clipped windows are scaled by kh*kw / cells)."""
    from .ops import avg_pool2d
    kh, kw = _pair(kernel)
    a = avg_pool2d(_f64(x) ** norm_type, (kh, kw), stride or (kh, kw), (0, 0), ceil_mode)
    return (a * kh * kw) ** (1.0 / norm_type)


def lp_pool2d_backward(x, dy, norm_type, kernel, stride=None, ceil_mode=False):
    from .ops import avg_pool2d, avg_pool2d_backward
    x, dy = _f64(x), _f64(dy)
    kh, kw = _pair(kernel)
    st = stride or (kh, kw)
    a = avg_pool2d(x ** norm_type, (kh, kw), st, (0, 0), ceil_mode)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(a > 0, dy * kh * kw / norm_type * (a * kh * kw) ** (1.0 / norm_type - 1), 0.0)
    return avg_pool2d_backward(x, g, (kh, kw), st, (0, 0), ceil_mode) * norm_type * x ** (norm_type - 1)


# ---- transposed convolution ------------------------------------------------------------------------

def _transpose_taps(x, w, stride, padding, dilation, groups):
    """Every product of a transposed convolution: (input channel c, the output channels of its group,
    kernel tap r s, input cell h v, the cell i j it reaches in the output padded by `padding`), and
    the shape (rows, columns) of a padded output large enough for all of them."""
    (sh, sw), (dh, dw), (ph, pw) = _pair(stride), _pair(dilation), _pair(padding)
    _, C, H, W = x.shape
    _, Kg, R, S = w.shape
    Cg = C // groups
    taps = [(c, slice(g * Kg, (g + 1) * Kg), r, s, h, v, h * sh + r * dh, v * sw + s * dw)
            for g in range(groups) for c in range(g * Cg, (g + 1) * Cg)
            for r in range(R) for s in range(S) for h in range(H) for v in range(W)]
    return taps, (H * sh + dh * R + 2 * ph, W * sw + dw * S + 2 * pw)


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """Each input value scatters x * w into the output: x (N,C,H,W), w (C,K/groups,R,S) -> (N,K,P,Q)."""
    x, w = _f64(x), _f64(w)
    (sh, sw), (ph, pw), (oh, ow), (dh, dw) = map(_pair, (stride, padding, output_padding, dilation))
    N, _, H, W = x.shape
    _, Kg, R, S = w.shape
    P = (H - 1) * sh - 2 * ph + dh * (R - 1) + oh + 1
    Q = (W - 1) * sw - 2 * pw + dw * (S - 1) + ow + 1
    taps, size = _transpose_taps(x, w, stride, padding, dilation, groups)
    full = np.zeros((N, Kg * groups) + size)
    for c, ks, r, s, h, v, i, j in taps:
        full[:, ks, i, j] += x[:, c, h, v][:, None] * w[c, :, r, s][None, :]
    y = full[:, :, ph:ph + P, pw:pw + Q]
    if b is not None:
        y = y + _f64(b)[None, :, None, None]
    return y


def conv_transpose2d_backward(x, w, dy, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """(dx, dw, db) of sum(conv_transpose2d(x, w, b) * dy)."""
    x, w, dy = _f64(x), _f64(w), _f64(dy)
    ph, pw = _pair(padding)
    P, Q = dy.shape[2:]
    taps, size = _transpose_taps(x, w, stride, padding, dilation, groups)
    full = np.zeros(dy.shape[:2] + size)
    full[:, :, ph:ph + P, pw:pw + Q] = dy
    dx, dw = np.zeros_like(x), np.zeros_like(w)
    for c, ks, r, s, h, v, i, j in taps:
        gv = full[:, ks, i, j]  # (N, K/groups)
        dx[:, c, h, v] += gv @ w[c, :, r, s]
        dw[c, :, r, s] += x[:, c, h, v] @ gv
    return dx, dw, dy.sum(axis=(0, 2, 3))


# ---- constant padding ---------------------------------------------------------------------------------

def pad(x, pads, value=0.0):
    """F.pad(x, pads, value=value) for 2 pads (last dimension) or 4 (last two): np.pad for the
    positive ones, slicing for the negative ones."""
    x = _f64(x)
    k = len(pads) // 2  # dimensions padded, from the last
    width = [(0, 0)] * x.ndim
    crop = [slice(None)] * x.ndim
    for i in range(k):
        lo, hi = pads[2 * i], pads[2 * i + 1]
        d = x.ndim - 1 - i
        width[d] = (max(lo, 0), max(hi, 0))
        n = x.shape[d] + max(lo, 0) + max(hi, 0)
        crop[d] = slice(max(-lo, 0), n - max(-hi, 0))
    return np.pad(x, width, constant_values=value)[tuple(crop)]


def pad_backward(x, dy, pads):
    """The gradient reaching x: dy at the cells that hold x, 0 where x was cropped."""
    x = _f64(x)
    idx = np.arange(x.size, dtype=np.float64).reshape(x.shape) + 1
    where = pad(idx, pads, 0.0)  # which input cell each output cell holds (0: padding)
    dx = np.zeros(x.size)
    held = where > 0
    dx[(where[held] - 1).astype(np.int64)] += _f64(dy)[held]
    return dx.reshape(x.shape)


# ---- interpolation -------------------------------------------------------------------------------------

def _out_size(x, size, scale_factor):
    if size is not None:
        return _pair(size), (None, None)
    f = (scale_factor, scale_factor) if np.isscalar(scale_factor) else tuple(scale_factor)
    return (math.floor(x.shape[2] * f[0]), math.floor(x.shape[3] * f[1])), f


def _nearest_index(o, n_in, n_out, f):
    """PyTorch's nearest source index; the scale is a float32, as in its CPU kernel."""
    if n_out == n_in:
        return o
    if n_out == 2 * n_in:
        return o // 2
    s = np.float32(1.0 / f) if f is not None else np.float32(n_in) / np.float32(n_out)
    return min(int(np.floor(np.float32(o) * s)), n_in - 1)


def _linear_source(o, n_in, n_out, f, align_corners):
    """(i0, i1, weight of i1) of output o along one axis."""
    if align_corners:
        src = o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / f if f is not None else n_in / n_out
        src = max(s * (o + 0.5) - 0.5, 0.0)
    i0 = min(int(math.floor(src)), n_in - 1)
    return i0, min(i0 + 1, n_in - 1), min(max(src - i0, 0.0), 1.0)


def _interp_matrix(n_in, n_out, f, mode, align_corners):
    """(n_out, n_in): the weights each output takes from each input along one axis."""
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        if mode == "nearest":
            m[o, _nearest_index(o, n_in, n_out, f)] = 1
        else:
            i0, i1, lam = _linear_source(o, n_in, n_out, f, align_corners)
            m[o, i0] += 1 - lam
            m[o, i1] += lam
    return m


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Separable resize: y = Mh x Mw^T per plane, with PyTorch's source indices and weights."""
    x = _f64(x)
    (P, Q), (fh, fw) = _out_size(x, size, scale_factor)
    mh = _interp_matrix(x.shape[2], P, fh, mode, bool(align_corners))
    mw = _interp_matrix(x.shape[3], Q, fw, mode, bool(align_corners))
    return np.einsum("ph,nchw,qw->ncpq", mh, x, mw)


def interpolate_backward(x, dy, size=None, scale_factor=None, mode="nearest", align_corners=None):
    x = _f64(x)
    (P, Q), (fh, fw) = _out_size(x, size, scale_factor)
    mh = _interp_matrix(x.shape[2], P, fh, mode, bool(align_corners))
    mw = _interp_matrix(x.shape[3], Q, fw, mode, bool(align_corners))
    return np.einsum("ph,ncpq,qw->nchw", mh, _f64(dy), mw)
