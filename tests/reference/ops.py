"""Plain NumPy reference implementations (float64) of convnet's ops, forward and backward.

These are the independent references that the library's C++/CUDA ops are tested
against (DESIGN.md, convention 7), and they are themselves validated against
PyTorch and by finite differences in tests/ops/test_reference_ops.py. They are written
for clarity, not speed: a loop over output positions (windows) with NumPy doing
the batch and channel dimensions, so that they share no code or structure with
the library's kernels (no im2col, no GEMM). They are fast enough for the small
shapes tests use (N=2, C=4, H=W=9).

Conventions (as PyTorch):
  * every function computes in float64 and returns float64 arrays;
  * images are NCHW: x (N,C,H,W), conv weight w (K,C/groups,R,S), bias b (K,);
    output (N,K,P,Q);
  * `kernel`, `stride`, `padding`, `dilation` accept an int or a pair of ints
    (padding is numeric here: the caller resolves "same"/"valid");
  * every `<op>_backward(..., dy, ...)` returns the gradient(s) of sum(y * dy)
    with respect to the op's inputs: it *returns* fresh arrays (the library's
    accumulation into `.grad` is the caller's business);
  * losses take reduction in {"mean", "sum", "none"}; for "mean"/"sum" dy is a
    scalar (any size-1 array), for "none" it has the per-sample shape.

Legend: N batch, C in channels, H W input size, K out channels, R S kernel,
P Q output size.
"""

import numpy as np

__all__ = [
    "conv_output_size",
    "conv2d", "conv2d_backward", "conv3d",
    "max_pool2d", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_backward",
    "linear", "linear_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward",
    "softmax", "softmax_backward", "log_softmax", "log_softmax_backward",
    "dropout", "dropout_backward",
    "nll_loss", "nll_loss_backward", "cross_entropy", "cross_entropy_backward",
    "mse_loss", "mse_loss_backward",
]


# ---- helpers -----------------------------------------------------------------------------------

def _pair(v):
    """An int or a pair of ints -> a tuple of two Python ints."""
    if isinstance(v, (int, np.integer)):
        return int(v), int(v)
    a, b = v
    return int(a), int(b)


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def conv_output_size(size, kernel, stride, padding, dilation, ceil_mode=False):
    """Output length of a conv/pool along one axis (PyTorch's rule).

    floor((size + 2*padding - dilation*(kernel-1) - 1) / stride) + 1, or with
    ceil_mode ceil(...) + 1, after which the last window is dropped if it would
    start past the input and its left padding ((out-1)*stride >= size+padding).
    Returns 0 when not even one window fits.
    """
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0:
        return 0
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
    else:
        out = span // stride + 1
    return out


# ---- convolution -------------------------------------------------------------------------------

def _conv_args(x, w, stride, padding, dilation, groups):
    N, C, H, W = x.shape
    K, Cg, R, S = w.shape
    if groups < 1 or C != Cg * groups or K % groups != 0:
        raise ValueError(f"conv2d reference: x {x.shape}, w {w.shape} and groups={groups} do not fit "
                         f"(need C == w.shape[1]*groups and K % groups == 0)")
    sh, sw = _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    P = conv_output_size(H, R, sh, ph, dh)
    Q = conv_output_size(W, S, sw, pw, dw)
    return N, C, H, W, K, Cg, R, S, sh, sw, ph, pw, dh, dw, P, Q


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Cross-correlation as torch.nn.functional.conv2d.

    x (N,C,H,W), w (K,C/groups,R,S), b (K,) or None -> y (N,K,P,Q).
    """
    x, w = _f64(x), _f64(w)
    N, C, H, W, K, Cg, R, S, sh, sw, ph, pw, dh, dw, P, Q = _conv_args(x, w, stride, padding, dilation,
                                                                       groups)
    Kg = K // groups
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # zero padding
    y = np.zeros((N, K, P, Q))
    for g in range(groups):
        ci = slice(g * Cg, (g + 1) * Cg)   # input channels of group g
        ko = slice(g * Kg, (g + 1) * Kg)   # output channels of group g
        for p in range(P):
            for q in range(Q):
                # the window of output (p, q): rows p*sh + r*dh, columns q*sw + s*dw
                win = xp[:, ci, p * sh:p * sh + dh * (R - 1) + 1:dh, q * sw:q * sw + dw * (S - 1) + 1:dw]
                y[:, ko, p, q] = np.einsum("ncrs,kcrs->nk", win, w[ko])
    if b is not None:
        y += _f64(b)[None, :, None, None]
    return y


def conv2d_backward(x, w, dy, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    """Gradients of sum(conv2d(x, w, b) * dy): returns (dx (N,C,H,W), dw (K,C/groups,R,S), db (K,))."""
    x, w, dy = _f64(x), _f64(w), _f64(dy)
    N, C, H, W, K, Cg, R, S, sh, sw, ph, pw, dh, dw_, P, Q = _conv_args(x, w, stride, padding, dilation,
                                                                        groups)
    if dy.shape != (N, K, P, Q):
        raise ValueError(f"conv2d_backward reference: dy has shape {dy.shape}, expected {(N, K, P, Q)}")
    Kg = K // groups
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    for g in range(groups):
        ci = slice(g * Cg, (g + 1) * Cg)
        ko = slice(g * Kg, (g + 1) * Kg)
        for p in range(P):
            for q in range(Q):
                hs = slice(p * sh, p * sh + dh * (R - 1) + 1, dh)
                ws = slice(q * sw, q * sw + dw_ * (S - 1) + 1, dw_)
                g_pq = dy[:, ko, p, q]                                   # (N, Kg)
                dw[ko] += np.einsum("nk,ncrs->kcrs", g_pq, xp[:, ci, hs, ws])
                dxp[:, ci, hs, ws] += np.einsum("nk,kcrs->ncrs", g_pq, w[ko])
    dx = dxp[:, :, ph:ph + H, pw:pw + W]   # the gradient that fell on padding is dropped
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def conv3d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Cross-correlation as torch.nn.functional.conv3d.

    x (N,C,D,H,W), w (K,C/groups,KD,R,S), b (K,) or None -> y (N,K,OD,P,Q); stride and dilation an
    int or a triple; padding an int, a triple, or a triple of (before, after) pairs (what "same"
    gives an even kernel).
    """
    x, w = _f64(x), _f64(w)
    N, C = x.shape[:2]
    K, Cg = w.shape[:2]
    if groups < 1 or C != Cg * groups or K % groups != 0:
        raise ValueError(f"conv3d reference: x {x.shape}, w {w.shape} and groups={groups} do not fit")
    triple = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v,) * 3  # noqa: E731
    stride, dilation = triple(stride), triple(dilation)
    pads = [p if isinstance(p, (tuple, list)) else (p, p) for p in triple(padding)]
    xp = np.pad(x, ((0, 0), (0, 0), *pads))  # zero padding
    kernel = w.shape[2:]
    out = [(xp.shape[2 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1 for i in range(3)]
    Kg = K // groups
    y = np.zeros((N, K, *out))
    for g in range(groups):
        ci, ko = slice(g * Cg, (g + 1) * Cg), slice(g * Kg, (g + 1) * Kg)
        for o in np.ndindex(*out):
            # the window of output o: along axis i, o_i*stride_i + k*dilation_i for k < kernel_i
            win = xp[(slice(None), ci) + tuple(slice(o[i] * stride[i], o[i] * stride[i] + dilation[i] *
                                                     (kernel[i] - 1) + 1, dilation[i]) for i in range(3))]
            y[(slice(None), ko) + o] = np.einsum("ncdrs,kcdrs->nk", win, w[ko])
    if b is not None:
        y += _f64(b)[None, :, None, None, None]
    return y


# ---- pooling -----------------------------------------------------------------------------------

def _window_cells(p, q, H, W, kernel, stride, padding, dilation):
    """Real (inside the input) cells of window (p, q), in row-major window order."""
    (R, S), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    hs, ws = [], []
    for r in range(R):
        for s in range(S):
            h, w = p * sh - ph + r * dh, q * sw - pw + s * dw
            if 0 <= h < H and 0 <= w < W:
                hs.append(h)
                ws.append(w)
    return np.array(hs, dtype=np.int64), np.array(ws, dtype=np.int64)


def _max_pool_args(x, kernel, stride, padding, dilation, ceil_mode):
    kernel = _pair(kernel)
    stride = _pair(stride) if stride is not None else kernel   # PyTorch: stride defaults to kernel
    padding, dilation = _pair(padding), _pair(dilation)
    H, W = x.shape[2:]
    P = conv_output_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    Q = conv_output_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    return kernel, stride, padding, dilation, P, Q


def max_pool2d(x, kernel, stride=None, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """As torch.nn.functional.max_pool2d: x (N,C,H,W) -> y (N,C,P,Q).

    Padding cells never win (they act as -inf); a window with no real cell gives -inf.
    """
    x = _f64(x)
    N, C, H, W = x.shape
    kernel, stride, padding, dilation, P, Q = _max_pool_args(x, kernel, stride, padding, dilation, ceil_mode)
    y = np.full((N, C, P, Q), -np.inf)
    for p in range(P):
        for q in range(Q):
            hs, ws = _window_cells(p, q, H, W, kernel, stride, padding, dilation)
            if hs.size:
                y[:, :, p, q] = x[:, :, hs, ws].max(axis=2)
    return y


def max_pool2d_backward(x, dy, kernel, stride=None, padding=(0, 0), dilation=(1, 1), ceil_mode=False):
    """Gradient of sum(max_pool2d(x) * dy) w.r.t. x (N,C,H,W).

    Each window's gradient goes to its *first* maximum in row-major window order
    (np.argmax returns the first), as PyTorch does; overlapping windows add up.
    """
    x, dy = _f64(x), _f64(dy)
    N, C, H, W = x.shape
    kernel, stride, padding, dilation, P, Q = _max_pool_args(x, kernel, stride, padding, dilation, ceil_mode)
    if dy.shape != (N, C, P, Q):
        raise ValueError(f"max_pool2d_backward reference: dy has shape {dy.shape}, expected {(N, C, P, Q)}")
    dx = np.zeros_like(x)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")   # (N, C) each
    for p in range(P):
        for q in range(Q):
            hs, ws = _window_cells(p, q, H, W, kernel, stride, padding, dilation)
            if not hs.size:
                continue
            first = np.argmax(x[:, :, hs, ws], axis=2)                        # (N, C)
            np.add.at(dx, (n_idx, c_idx, hs[first], ws[first]), dy[:, :, p, q])
    return dx


def _avg_windows(H, W, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Per output cell: the real rows/cols it covers and its divisor, exactly as PyTorch (CPU)."""
    (R, S), (sh, sw), (ph, pw) = kernel, stride, padding
    P = conv_output_size(H, R, sh, ph, 1, ceil_mode)
    Q = conv_output_size(W, S, sw, pw, 1, ceil_mode)
    windows = []
    for p in range(P):
        for q in range(Q):
            h0, w0 = p * sh - ph, q * sw - pw
            h1, w1 = min(h0 + R, H + ph), min(w0 + S, W + pw)   # clip to [-pad, size+pad)
            pool_size = (h1 - h0) * (w1 - w0)                    # counted before clipping to the input
            h0, w0, h1, w1 = max(h0, 0), max(w0, 0), min(h1, H), min(w1, W)
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = pool_size
            else:
                div = (h1 - h0) * (w1 - w0)                      # real input cells only
            windows.append((p, q, h0, h1, w0, w1, div))
    return P, Q, windows


def avg_pool2d(x, kernel, stride=None, padding=(0, 0), ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """As torch.nn.functional.avg_pool2d: x (N,C,H,W) -> y (N,C,P,Q). An empty window gives 0."""
    x = _f64(x)
    N, C, H, W = x.shape
    kernel = _pair(kernel)
    stride = _pair(stride) if stride is not None else kernel
    P, Q, windows = _avg_windows(H, W, kernel, stride, _pair(padding), ceil_mode, count_include_pad,
                                 divisor_override)
    y = np.zeros((N, C, P, Q))
    for p, q, h0, h1, w0, w1, div in windows:
        if h0 < h1 and w0 < w1:
            y[:, :, p, q] = x[:, :, h0:h1, w0:w1].sum(axis=(2, 3)) / div
    return y


def avg_pool2d_backward(x, dy, kernel, stride=None, padding=(0, 0), ceil_mode=False, count_include_pad=True,
                        divisor_override=None):
    """Gradient of sum(avg_pool2d(x) * dy) w.r.t. x (N,C,H,W)."""
    x, dy = _f64(x), _f64(dy)
    N, C, H, W = x.shape
    kernel = _pair(kernel)
    stride = _pair(stride) if stride is not None else kernel
    P, Q, windows = _avg_windows(H, W, kernel, stride, _pair(padding), ceil_mode, count_include_pad,
                                 divisor_override)
    if dy.shape != (N, C, P, Q):
        raise ValueError(f"avg_pool2d_backward reference: dy has shape {dy.shape}, expected {(N, C, P, Q)}")
    dx = np.zeros_like(x)
    for p, q, h0, h1, w0, w1, div in windows:
        if h0 < h1 and w0 < w1:
            dx[:, :, h0:h1, w0:w1] += dy[:, :, p, q][:, :, None, None] / div
    return dx


def _adaptive_bins(size, out):
    """Bin i covers [floor(i*size/out), ceil((i+1)*size/out))."""
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def adaptive_avg_pool2d(x, output_size):
    """As torch.nn.functional.adaptive_avg_pool2d: x (N,C,H,W) -> y (N,C,P,Q)."""
    x = _f64(x)
    N, C, H, W = x.shape
    P, Q = _pair(output_size)
    y = np.zeros((N, C, P, Q))
    for p, (h0, h1) in enumerate(_adaptive_bins(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_bins(W, Q)):
            y[:, :, p, q] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(x, dy, output_size):
    """Gradient of sum(adaptive_avg_pool2d(x) * dy) w.r.t. x (N,C,H,W)."""
    x, dy = _f64(x), _f64(dy)
    N, C, H, W = x.shape
    P, Q = _pair(output_size)
    dx = np.zeros_like(x)
    for p, (h0, h1) in enumerate(_adaptive_bins(H, P)):
        for q, (w0, w1) in enumerate(_adaptive_bins(W, Q)):
            dx[:, :, h0:h1, w0:w1] += dy[:, :, p, q][:, :, None, None] / ((h1 - h0) * (w1 - w0))
    return dx


# ---- dense -------------------------------------------------------------------------------------

def linear(x, w, b=None):
    """y = x @ w.T + b with x (..., in), w (out, in), b (out,) -> y (..., out)."""
    y = _f64(x) @ _f64(w).T
    return y + _f64(b) if b is not None else y


def linear_backward(x, w, dy):
    """Returns (dx (..., in), dw (out, in), db (out,)); leading dimensions of x are summed over."""
    x, w, dy = _f64(x), _f64(w), _f64(dy)
    x2 = x.reshape(-1, x.shape[-1])       # (M, in)
    dy2 = dy.reshape(-1, dy.shape[-1])    # (M, out)
    return dy @ w, dy2.T @ x2, dy2.sum(axis=0)


# ---- elementwise -------------------------------------------------------------------------------

def relu(x):
    x = _f64(x)
    return np.where(x > 0, x, 0.0)


def relu_backward(x, dy):
    """Gradient 1 for x > 0, 0 otherwise (0 at x == 0, as PyTorch)."""
    return np.where(_f64(x) > 0, _f64(dy), 0.0)


def leaky_relu(x, negative_slope=0.01):
    x = _f64(x)
    return np.where(x > 0, x, x * negative_slope)


def leaky_relu_backward(x, dy, negative_slope=0.01):
    dy = _f64(dy)
    return np.where(_f64(x) > 0, dy, dy * negative_slope)


def sigmoid(x):
    """1 / (1 + exp(-x)), evaluated without overflow for large |x|."""
    x = _f64(x)
    e = np.exp(-np.abs(x))                      # in (0, 1]
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_backward(x, dy):
    s = sigmoid(x)
    return _f64(dy) * s * (1.0 - s)


def tanh(x):
    return np.tanh(_f64(x))


def tanh_backward(x, dy):
    t = np.tanh(_f64(x))
    return _f64(dy) * (1.0 - t * t)


# ---- softmax -----------------------------------------------------------------------------------

def softmax(x, dim):
    """exp(x - max) / sum(exp(x - max)) along `dim`."""
    x = _f64(x)
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(x, dy, dim):
    """dx = s * (dy - sum(dy * s)) along `dim`, with s = softmax(x)."""
    s, dy = softmax(x, dim), _f64(dy)
    return s * (dy - (dy * s).sum(axis=dim, keepdims=True))


def log_softmax(x, dim):
    """x - max - log(sum(exp(x - max))) along `dim`."""
    x = _f64(x)
    z = x - x.max(axis=dim, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=dim, keepdims=True))


def log_softmax_backward(x, dy, dim):
    """dx = dy - softmax(x) * sum(dy) along `dim`."""
    dy = _f64(dy)
    return dy - softmax(x, dim) * dy.sum(axis=dim, keepdims=True)


# ---- dropout -----------------------------------------------------------------------------------

def dropout(x, mask, p):
    """Inverted dropout with a given 0/1 mask: x * mask / (1 - p); p == 1 gives zeros (as PyTorch)."""
    x = _f64(x)
    if p >= 1:
        return np.zeros_like(x)
    return x * _f64(mask) / (1.0 - p)


def dropout_backward(dy, mask, p):
    """Gradient of sum(dropout(x, mask, p) * dy) w.r.t. x: dy * mask / (1 - p)."""
    dy = _f64(dy)
    if p >= 1:
        return np.zeros_like(dy)
    return dy * _f64(mask) / (1.0 - p)


# ---- losses ------------------------------------------------------------------------------------

def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _scalar(dy):
    a = _f64(dy)
    if a.size != 1:
        raise ValueError(f"dy of a reduced loss must hold one value, got shape {a.shape}")
    return a.reshape(())


def _class_targets(scores, target, ignore_index):
    """Checks (N,C,d1,...) scores against (N,d1,...) integer targets; returns (target, valid mask)."""
    target = np.asarray(target)
    if target.dtype.kind not in "iu":
        raise ValueError(f"target must hold integer class indices, got dtype {target.dtype}")
    if scores.ndim < 2 or target.shape != scores.shape[:1] + scores.shape[2:]:
        raise ValueError(f"scores of shape {scores.shape} need a target of shape "
                         f"{scores.shape[:1] + scores.shape[2:]}, got {target.shape}")
    valid = target != ignore_index
    C = scores.shape[1]
    bad = valid & ((target < 0) | (target >= C))
    if bad.any():
        raise ValueError(f"target holds {target[bad][0]}, outside 0..{C - 1}")
    return np.where(valid, target, 0).astype(np.int64), valid


def nll_loss(logp, target, reduction="mean", ignore_index=-100):
    """-logp[n, target[n], ...], reduced; "mean" divides by the number of non-ignored targets.

    logp (N,C) or (N,C,d1,...), target (N,) or (N,d1,...) ints -> scalar or (N,d1,...).
    """
    _check_reduction(reduction)
    logp = _f64(logp)
    t, valid = _class_targets(logp, target, ignore_index)
    picked = np.take_along_axis(logp, t[:, None], axis=1)[:, 0]      # (N, d1, ...)
    losses = np.where(valid, -picked, 0.0)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / valid.sum()


def _nll_weights(target, valid, dy, reduction):
    """d loss / d (-picked[n, ...]) for every target position: (N, d1, ...)."""
    if reduction == "none":
        return np.where(valid, _f64(dy), 0.0)
    scale = _scalar(dy) if reduction == "sum" else _scalar(dy) / valid.sum()
    return np.where(valid, scale, 0.0)


def nll_loss_backward(logp, target, dy, reduction="mean", ignore_index=-100):
    """Gradient w.r.t. logp: -weight at each target class, 0 elsewhere."""
    _check_reduction(reduction)
    logp = _f64(logp)
    t, valid = _class_targets(logp, target, ignore_index)
    g = _nll_weights(t, valid, dy, reduction)
    dlogp = np.zeros_like(logp)
    np.put_along_axis(dlogp, t[:, None], -g[:, None], axis=1)
    return dlogp


def cross_entropy(logits, target, reduction="mean", ignore_index=-100):
    """nll_loss(log_softmax(logits, 1), target): logits (N,C) or (N,C,d1,...), integer targets."""
    return nll_loss(log_softmax(logits, 1), target, reduction, ignore_index)


def cross_entropy_backward(logits, target, dy, reduction="mean", ignore_index=-100):
    """Gradient w.r.t. logits by the chain rule through cross_entropy's two steps: nll_loss's
    gradient (-weight at each target class) through log_softmax's backward, which comes to
    (softmax(logits) - onehot(target)) * weight per position."""
    dlogp = nll_loss_backward(log_softmax(logits, 1), target, dy, reduction, ignore_index)
    return log_softmax_backward(logits, dlogp, 1)


def mse_loss(x, y, reduction="mean"):
    """(x - y)**2, reduced ("mean" over all elements)."""
    _check_reduction(reduction)
    d2 = (_f64(x) - _f64(y)) ** 2
    if reduction == "none":
        return d2
    return d2.sum() if reduction == "sum" else d2.mean()


def mse_loss_backward(x, y, dy, reduction="mean"):
    """Returns (dx, dy_input): the gradients w.r.t. x and w.r.t. y (= -dx)."""
    _check_reduction(reduction)
    diff = _f64(x) - _f64(y)
    if reduction == "none":
        g = _f64(dy)
    elif reduction == "sum":
        g = _scalar(dy)
    else:
        g = _scalar(dy) / diff.size
    dx = 2.0 * diff * g
    return dx, -dx
