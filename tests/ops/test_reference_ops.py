"""Validates the NumPy reference ops in tests/reference/ops.py themselves.

Two independent checks, so that the references can be trusted as the yardstick
for the library's ops:
  * finite differences (float64, central, on sum(y * dy)) of every backward,
    plus a few hand-computed values: these need only NumPy and always run;
  * forward and backward against PyTorch in float64 to 1e-10 over randomized
    shapes, strides, paddings, dilations, groups, ceil_mode and
    count_include_pad: skipped where torch is not installed.
None of this needs the compiled convnet package.
"""


import numpy as np
import pytest

from reference import ops as R  # noqa: E402

TOL = 1e-10      # float64 reference vs PyTorch
FD_TOL = 1e-6    # float64 analytic vs central finite differences


def _close(label, what, got, want, tol):
    """Asserts max |got - want| <= tol * max(1, max |want|), naming the op, shapes and params."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{label}: {what} has shape {got.shape}, expected {want.shape}"
    if not want.size:
        return
    assert np.array_equal(np.isfinite(got), np.isfinite(want)), f"{label}: {what}: non-finite values differ"
    fin = np.isfinite(want)
    assert np.array_equal(got[~fin], want[~fin]), f"{label}: {what}: infinite values differ"
    diff = np.zeros(want.shape)
    diff[fin] = np.abs(got[fin] - want[fin])
    worst = np.unravel_index(int(np.argmax(diff)), want.shape)
    err = float(diff[worst])
    scale = max(1.0, float(np.max(np.abs(want[fin])))) if fin.any() else 1.0
    assert err <= tol * scale, (
        f"{label}: {what} differs: max abs error {err:.3g} > {tol:g} x {scale:.3g} "
        f"(at index {tuple(int(i) for i in worst)}: got {got[worst]!r}, expected {want[worst]!r})")


# ---- finite differences (no torch) -----------------------------------------------------------------

def _fd_check(label, f, args, grads, dy, wrt, seed=0, max_coords=150, eps=1e-6):
    """Compares analytic gradients `grads` (one per index in `wrt`) of sum(f(*args) * dy)
    with central differences, on all coordinates or a random subset of `max_coords`."""
    rng = np.random.default_rng(seed)
    args = [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else a for a in args]
    for g, i in zip(grads, wrt):
        x = args[i]
        assert np.shape(g) == x.shape, f"{label}: gradient of input {i} has shape {np.shape(g)}, expected {x.shape}"
        flat = x.reshape(-1)
        coords = np.arange(flat.size) if flat.size <= max_coords else rng.choice(flat.size, max_coords,
                                                                                  replace=False)
        num = np.empty(len(coords))
        for k, j in enumerate(coords):
            old = flat[j]
            flat[j] = old + eps
            hi = np.sum(f(*args) * dy)
            flat[j] = old - eps
            lo = np.sum(f(*args) * dy)
            flat[j] = old
            num[k] = (hi - lo) / (2 * eps)
        _close(label, f"gradient of input {i} (shape {x.shape}) vs finite differences",
               np.asarray(g).reshape(-1)[coords], num, FD_TOL)


def _distinct(rng, shape):
    """Values spaced at least 0.01 apart (no ties within a finite-difference step), random order."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.01 - n * 0.005).reshape(shape) + rng.uniform(0, 1e-3)


FD_CONV = [  # (N, C, H, W, K, R, S, stride, padding, dilation, groups)
    (2, 4, 6, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 7, 6, 6, 3, 2, (2, 1), (1, 2), (1, 2), 2),
    (2, 3, 5, 5, 3, 2, 3, (1, 2), (0, 1), (2, 1), 3),   # depthwise
    (1, 2, 6, 7, 2, 1, 1, (2, 3), (0, 0), (1, 1), 1),   # 1x1, strided
    (1, 2, 4, 4, 3, 3, 3, (1, 1), (3, 2), (1, 1), 1),   # padding as large as the kernel
]


@pytest.mark.parametrize("case", FD_CONV, ids=str)
def test_conv2d_backward_finite_differences(case):
    N, C, H, W, K, R_, S, s, p, d, g = case
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C // g, R_, S)), rng.standard_normal(K)
    y = R.conv2d(x, w, b, s, p, d, g)
    dy = rng.standard_normal(y.shape)
    dx, dw, db = R.conv2d_backward(x, w, dy, s, p, d, g)
    label = f"conv2d(x {x.shape}, w {w.shape}, stride={s}, padding={p}, dilation={d}, groups={g})"
    _fd_check(label, lambda x, w, b: R.conv2d(x, w, b, s, p, d, g), [x, w, b], [dx, dw, db], dy, (0, 1, 2))


FD_POOL = [  # (H, W, kernel, stride, padding, dilation, ceil_mode)
    (6, 6, (2, 2), (2, 2), (0, 0), (1, 1), False),
    (7, 7, (3, 3), (2, 2), (1, 1), (1, 1), True),
    (6, 5, (3, 2), (2, 2), (1, 0), (1, 1), True),
    (7, 8, (3, 2), (1, 3), (1, 1), (2, 1), False),
    (5, 5, (2, 2), (2, 2), (1, 1), (1, 1), True),   # the ceil_mode window that would start in padding is dropped
    (6, 6, (3, 3), (1, 1), (1, 1), (1, 1), False),  # overlapping windows
]


@pytest.mark.parametrize("case", FD_POOL, ids=str)
def test_max_pool2d_backward_finite_differences(case):
    H, W, k, s, p, d, ceil = case
    rng = np.random.default_rng(2)
    x = _distinct(rng, (2, 3, H, W))
    y = R.max_pool2d(x, k, s, p, d, ceil)
    dy = rng.standard_normal(y.shape)
    dx = R.max_pool2d_backward(x, dy, k, s, p, d, ceil)
    label = f"max_pool2d(x {x.shape}, kernel={k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})"
    _fd_check(label, lambda x: R.max_pool2d(x, k, s, p, d, ceil), [x], [dx], dy, (0,))


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", [c for c in FD_POOL if c[5] == (1, 1)], ids=str)
def test_avg_pool2d_backward_finite_differences(case, count_include_pad):
    H, W, k, s, p, _, ceil = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, H, W))
    y = R.avg_pool2d(x, k, s, p, ceil, count_include_pad)
    dy = rng.standard_normal(y.shape)
    dx = R.avg_pool2d_backward(x, dy, k, s, p, ceil, count_include_pad)
    label = (f"avg_pool2d(x {x.shape}, kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, "
             f"count_include_pad={count_include_pad})")
    _fd_check(label, lambda x: R.avg_pool2d(x, k, s, p, ceil, count_include_pad), [x], [dx], dy, (0,))


@pytest.mark.parametrize("size,out", [((6, 6), (1, 1)), ((7, 5), (3, 2)), ((4, 9), (3, 4)), ((3, 3), (5, 4))])
def test_adaptive_avg_pool2d_backward_finite_differences(size, out):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 2) + size)
    y = R.adaptive_avg_pool2d(x, out)
    dy = rng.standard_normal(y.shape)
    dx = R.adaptive_avg_pool2d_backward(x, dy, out)
    _fd_check(f"adaptive_avg_pool2d(x {x.shape}, output_size={out})", lambda x: R.adaptive_avg_pool2d(x, out),
              [x], [dx], dy, (0,))


def test_dense_pointwise_softmax_backward_finite_differences():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    dy = rng.standard_normal((2, 3, 5))
    _fd_check("linear(x (2, 3, 4), w (5, 4))", R.linear, [x, w, b], R.linear_backward(x, w, dy), dy, (0, 1, 2))

    a = rng.standard_normal((3, 4, 5))
    a[np.abs(a) < 1e-2] = 0.5   # keep away from the kink of relu / leaky_relu
    dy = rng.standard_normal(a.shape)
    for name, kw in [("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                     ("sigmoid", {}), ("tanh", {})]:
        f, fb = getattr(R, name), getattr(R, name + "_backward")
        _fd_check(f"{name}{kw or ''}(x {a.shape})", lambda v: f(v, **kw), [a], [fb(a, dy, **kw)], dy, (0,))
    for name in ("softmax", "log_softmax"):
        for dim in (0, 1, -1):
            f, fb = getattr(R, name), getattr(R, name + "_backward")
            _fd_check(f"{name}(x {a.shape}, dim={dim})", lambda v: f(v * 3, dim), [a],
                      [3 * fb(a * 3, dy, dim)], dy, (0,))
    mask = (rng.uniform(size=a.shape) > 0.3).astype(np.float64)
    _fd_check("dropout(p=0.3)", lambda v: R.dropout(v, mask, 0.3), [a], [R.dropout_backward(dy, mask, 0.3)],
              dy, (0,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)])
def test_losses_backward_finite_differences(reduction, shape):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 2
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    t.reshape(-1)[::4] = -100   # a few ignored targets
    dy = rng.standard_normal(t.shape) if reduction == "none" else np.array(rng.standard_normal())
    for name in ("cross_entropy", "nll_loss"):
        f, fb = getattr(R, name), getattr(R, name + "_backward")
        _fd_check(f"{name}(x {x.shape}, reduction={reduction}, ignore_index=-100)",
                  lambda v: f(v, t, reduction), [x], [fb(x, t, dy, reduction)], dy, (0,))
    y = rng.standard_normal(shape)
    dy = rng.standard_normal(shape) if reduction == "none" else np.array(rng.standard_normal())
    _fd_check(f"mse_loss(x {x.shape}, reduction={reduction})", lambda a, b: R.mse_loss(a, b, reduction), [x, y],
              R.mse_loss_backward(x, y, dy, reduction), dy, (0, 1))


# ---- hand-computed values (no torch) ---------------------------------------------------------------

@pytest.mark.parametrize("args,want", [
    ((28, 5, 1, 0, 1), 24), ((28, 3, 1, 1, 1), 28), ((7, 3, 2, 0, 1), 3), ((9, 3, 2, 1, 2), 4),
    ((7, 3, 2, 0, 1, True), 3), ((6, 3, 2, 1, 1, True), 4), ((6, 2, 2, 0, 1, True), 3),
    ((5, 2, 2, 1, 1, True), 3),   # ceil gives 4, but the 4th window would start in the right padding
    ((5, 2, 2, 0, 1, True), 3), ((2, 3, 1, 0, 1), 0),
])
def test_conv_output_size_values(args, want):
    assert R.conv_output_size(*args) == want, f"conv_output_size{args} = {R.conv_output_size(*args)}, expected {want}"


def test_avg_pool2d_divisor_values():
    x = np.ones((1, 1, 4, 4))
    # kernel 3, stride 2, padding 1: the corner window covers 2x2 real cells of a 3x3 window
    _close("avg_pool2d(count_include_pad=True)", "forward", R.avg_pool2d(x, 3, 2, 1, False, True),
           [[[[4 / 9, 6 / 9], [6 / 9, 1.0]]]], 1e-15)
    _close("avg_pool2d(count_include_pad=False)", "forward", R.avg_pool2d(x, 3, 2, 1, False, False),
           np.ones((1, 1, 2, 2)), 1e-15)
    # ceil_mode: the last window [3, 6) is clipped to [3, 5) (input + right padding) for the divisor
    got = R.avg_pool2d(x, 3, 2, 1, True, True)
    _close("avg_pool2d(ceil_mode=True, count_include_pad=True)", "forward", got,
           [[[[4 / 9, 6 / 9, 2 / 6], [6 / 9, 1.0, 3 / 6], [2 / 6, 3 / 6, 1 / 4]]]], 1e-15)
    _close("avg_pool2d(ceil_mode=True, count_include_pad=False)", "forward", R.avg_pool2d(x, 3, 2, 1, True, False),
           np.ones((1, 1, 3, 3)), 1e-15)


def test_max_pool2d_gradient_goes_to_first_maximum():
    x = np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [2.0, 3.0, 1.0]]]])
    dx = R.max_pool2d_backward(x, np.ones((1, 1, 2, 2)), 2, 1, 0)
    # windows (0,0),(0,1),(1,0),(1,1): their first 3 in row-major order is at (0,1),(0,1),(1,0),(1,2)
    _close("max_pool2d(kernel 2, stride 1) with ties", "dx", dx, [[[[0, 2, 0], [1, 0, 1], [0, 0, 0]]]], 0)


def test_conv2d_matches_direct_sum():
    """conv2d against the definition, one output element at a time (independent of the window slicing)."""
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal(6)
    s, p, d, g = (2, 1), (1, 2), (2, 1), 2
    y = R.conv2d(x, w, b, s, p, d, g)
    want = np.zeros_like(y)
    for n, k, i, j in np.ndindex(*y.shape):
        c0 = (k // 3) * 2
        acc = b[k]
        for c, r, t in np.ndindex(2, 3, 2):
            h, v = i * s[0] - p[0] + r * d[0], j * s[1] - p[1] + t * d[1]
            if 0 <= h < 7 and 0 <= v < 6:
                acc += x[n, c0 + c, h, v] * w[k, c, r, t]
        want[n, k, i, j] = acc
    _close(f"conv2d(x {x.shape}, w {w.shape}, stride={s}, padding={p}, dilation={d}, groups={g})",
           "forward vs direct sum", y, want, 1e-12)


# ---- PyTorch ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def _tt(torch, a, grad=True):
    t = torch.tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(True) if grad else t


def conv_cases(n, seed=7):
    r = np.random.default_rng(seed)
    cases = [(2, 4, 9, 9, 8, 3, 3, (1, 1), (1, 1), (1, 1), 1, True),
             (2, 4, 9, 9, 4, 3, 3, (2, 2), (1, 1), (1, 1), 4, True),    # depthwise
             (2, 4, 9, 9, 6, 1, 1, (1, 1), (0, 0), (1, 1), 2, False),   # 1x1, grouped
             (1, 3, 8, 9, 2, 5, 5, (1, 1), (2, 2), (1, 1), 1, True),
             (1, 2, 5, 6, 3, 2, 2, (3, 2), (4, 3), (2, 3), 1, True)]    # padding larger than the kernel
    while len(cases) < n:
        groups = int(r.choice([1, 1, 2, 3, 4]))
        C, K = groups * int(r.integers(1, 3)), groups * int(r.integers(1, 4))
        R_, S = int(r.integers(1, 5)), int(r.integers(1, 5))
        stride = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        pad = (int(r.integers(0, 4)), int(r.integers(0, 4)))
        dil = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        H, W = int(r.integers(3, 11)), int(r.integers(3, 11))
        if R.conv_output_size(H, R_, stride[0], pad[0], dil[0]) < 1 or \
                R.conv_output_size(W, S, stride[1], pad[1], dil[1]) < 1:
            continue
        cases.append((int(r.integers(1, 3)), C, H, W, K, R_, S, stride, pad, dil, groups, bool(r.integers(0, 2))))
    return cases


def _conv_id(c):
    N, C, H, W, K, R_, S, s, p, d, g, bias = c
    return f"x{(N, C, H, W)}-w{(K, C // g, R_, S)}-s{s}-p{p}-d{d}-g{g}-{'bias' if bias else 'nobias'}"


CONV = conv_cases(30)


@pytest.mark.parametrize("case", CONV, ids=[_conv_id(c) for c in CONV])
def test_conv2d_vs_torch(torch, case):
    N, C, H, W, K, R_, S, s, p, d, g, bias = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((K, C // g, R_, S))
    b = rng.standard_normal(K) if bias else None
    label = f"conv2d(x {x.shape}, w {w.shape}, bias={bias}, stride={s}, padding={p}, dilation={d}, groups={g})"
    y = R.conv2d(x, w, b, s, p, d, g)
    xt, wt = _tt(torch, x), _tt(torch, w)
    bt = _tt(torch, b) if bias else None
    yt = torch.nn.functional.conv2d(xt, wt, bt, s, p, d, g)
    _close(label, "forward vs PyTorch", y, yt.detach().numpy(), TOL)
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    dx, dw, db = R.conv2d_backward(x, w, dy, s, p, d, g)
    _close(label, "dx vs PyTorch", dx, xt.grad.numpy(), TOL)
    _close(label, "dw vs PyTorch", dw, wt.grad.numpy(), TOL)
    if bias:
        _close(label, "db vs PyTorch", db, bt.grad.numpy(), TOL)


def pool_cases(n, seed, dilation):
    r = np.random.default_rng(seed)
    cases = [((6, 6), (2, 2), (2, 2), (0, 0), (1, 1), False), ((7, 7), (3, 3), (2, 2), (1, 1), (1, 1), True),
             ((6, 5), (3, 2), (2, 2), (1, 0), (1, 1), True), ((5, 5), (2, 2), (2, 2), (1, 1), (1, 1), True),
             ((9, 9), (3, 3), (3, 3), (1, 1), (1, 1), True), ((8, 9), (4, 3), (3, 2), (2, 1), (1, 1), True)]
    if dilation:
        cases += [((9, 9), (3, 3), (2, 2), (1, 1), (2, 2), True), ((8, 7), (2, 3), (1, 2), (1, 1), (3, 2), False)]
    while len(cases) < n:
        k = (int(r.integers(1, 5)), int(r.integers(1, 5)))
        s = (int(r.integers(1, 4)), int(r.integers(1, 4)))
        p = (int(r.integers(0, k[0] // 2 + 1)), int(r.integers(0, k[1] // 2 + 1)))   # PyTorch: pad <= kernel/2
        d = (int(r.integers(1, 3)), int(r.integers(1, 3))) if dilation else (1, 1)
        hw = (int(r.integers(2, 11)), int(r.integers(2, 11)))
        ceil = bool(r.integers(0, 2))
        P = R.conv_output_size(hw[0], k[0], s[0], p[0], d[0], ceil)
        Q = R.conv_output_size(hw[1], k[1], s[1], p[1], d[1], ceil)
        if P < 1 or Q < 1:
            continue
        # every window must hold a real cell (PyTorch leaves a window of padding only undefined)
        if any(R._window_cells(i, j, hw[0], hw[1], k, s, p, d)[0].size == 0 for i in range(P) for j in range(Q)):
            continue
        cases.append((hw, k, s, p, d, ceil))
    return cases


def _pool_id(c):
    hw, k, s, p, d, ceil = c
    return f"hw{hw}-k{k}-s{s}-p{p}-d{d}-{'ceil' if ceil else 'floor'}"


MAXPOOL = pool_cases(24, 11, dilation=True)
AVGPOOL = pool_cases(16, 12, dilation=False)


@pytest.mark.parametrize("case", MAXPOOL, ids=[_pool_id(c) for c in MAXPOOL])
def test_max_pool2d_vs_torch(torch, case):
    (H, W), k, s, p, d, ceil = case
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    for what, x in [("random input", rng.standard_normal((2, 3, H, W))),
                    ("input with ties", rng.integers(-2, 3, (2, 3, H, W)).astype(np.float64))]:
        label = (f"max_pool2d(x {x.shape}, {what}, kernel={k}, stride={s}, padding={p}, dilation={d}, "
                 f"ceil_mode={ceil})")
        y = R.max_pool2d(x, k, s, p, d, ceil)
        xt = _tt(torch, x)
        yt = torch.nn.functional.max_pool2d(xt, k, s, p, d, ceil_mode=ceil)
        _close(label, "forward vs PyTorch", y, yt.detach().numpy(), TOL)
        dy = rng.standard_normal(y.shape)
        yt.backward(torch.tensor(dy))
        _close(label, "dx vs PyTorch", R.max_pool2d_backward(x, dy, k, s, p, d, ceil), xt.grad.numpy(), TOL)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("case", AVGPOOL, ids=[_pool_id(c) for c in AVGPOOL])
def test_avg_pool2d_vs_torch(torch, case, count_include_pad):
    (H, W), k, s, p, _, ceil = case
    cip = count_include_pad
    rng = np.random.default_rng(abs(hash((case, cip))) % 2**32)
    x = rng.standard_normal((2, 3, H, W))
    label = f"avg_pool2d(x {x.shape}, kernel={k}, stride={s}, padding={p}, ceil_mode={ceil}, count_include_pad={cip})"
    y = R.avg_pool2d(x, k, s, p, ceil, cip)
    xt = _tt(torch, x)
    yt = torch.nn.functional.avg_pool2d(xt, k, s, p, ceil_mode=ceil, count_include_pad=cip)
    _close(label, "forward vs PyTorch", y, yt.detach().numpy(), TOL)
    dy = rng.standard_normal(y.shape)
    yt.backward(torch.tensor(dy))
    _close(label, "dx vs PyTorch", R.avg_pool2d_backward(x, dy, k, s, p, ceil, cip), xt.grad.numpy(), TOL)


@pytest.mark.parametrize("size,out", [((6, 6), (1, 1)), ((7, 5), (3, 2)), ((5, 5), (5, 5)), ((4, 9), (3, 4)),
                                      ((9, 9), (4, 7)), ((3, 5), (5, 8)), ((10, 7), (7, 10))])
def test_adaptive_avg_pool2d_vs_torch(torch, size, out):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((2, 3) + size)
    label = f"adaptive_avg_pool2d(x {x.shape}, output_size={out})"
    xt = _tt(torch, x)
    yt = torch.nn.functional.adaptive_avg_pool2d(xt, out)
    _close(label, "forward vs PyTorch", R.adaptive_avg_pool2d(x, out), yt.detach().numpy(), TOL)
    dy = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    _close(label, "dx vs PyTorch", R.adaptive_avg_pool2d_backward(x, dy, out), xt.grad.numpy(), TOL)


@pytest.mark.parametrize("H", list(range(1, 12)))
def test_conv_output_size_vs_torch(torch, H):
    """Output sizes of max_pool2d (floor and ceil mode, dilation) and conv2d as PyTorch computes them."""
    x = torch.zeros(1, 1, H, 1, dtype=torch.float64)
    for k in range(1, 5):
        for s in range(1, 4):
            for p in range(0, k // 2 + 1):
                for d in range(1, 3):
                    if H + 2 * p - d * (k - 1) - 1 < 0:
                        assert R.conv_output_size(H, k, s, p, d) == 0
                        continue   # PyTorch raises
                    for ceil in (False, True):
                        want = R.conv_output_size(H, k, s, p, d, ceil)
                        got = torch.nn.functional.max_pool2d(x, (k, 1), (s, 1), (p, 0), (d, 1), ceil_mode=ceil)
                        assert got.shape[2] == want, (f"conv_output_size(size={H}, kernel={k}, stride={s}, "
                                                      f"padding={p}, dilation={d}, ceil_mode={ceil}) = {want}, "
                                                      f"PyTorch max_pool2d gives {got.shape[2]}")
                    cw = torch.zeros(1, 1, k, 1, dtype=torch.float64)
                    got = torch.nn.functional.conv2d(x, cw, None, (s, 1), (p, 0), (d, 1))
                    assert got.shape[2] == R.conv_output_size(H, k, s, p, d), \
                        f"conv_output_size(size={H}, kernel={k}, stride={s}, padding={p}, dilation={d}) vs conv2d"


@pytest.mark.parametrize("shape", [(5, 7, 3), (1, 4, 4), (3, 2, 6, 5), (4, 9)])
def test_linear_vs_torch(torch, shape):
    rng = np.random.default_rng(14)
    x, w = rng.standard_normal(shape[:-1]), rng.standard_normal((shape[-1], shape[-2]))
    b = rng.standard_normal(shape[-1])
    label = f"linear(x {x.shape}, w {w.shape})"
    xt, wt, bt = _tt(torch, x), _tt(torch, w), _tt(torch, b)
    yt = torch.nn.functional.linear(xt, wt, bt)
    _close(label, "forward vs PyTorch", R.linear(x, w, b), yt.detach().numpy(), TOL)
    dy = rng.standard_normal(yt.shape)
    yt.backward(torch.tensor(dy))
    for what, got, t in zip(("dx", "dw", "db"), R.linear_backward(x, w, dy), (xt, wt, bt)):
        _close(label, f"{what} vs PyTorch", got, t.grad.numpy(), TOL)


@pytest.mark.parametrize("name,kw", [("relu", {}), ("leaky_relu", {}), ("leaky_relu", {"negative_slope": 0.2}),
                                     ("sigmoid", {}), ("tanh", {})])
def test_activations_vs_torch(torch, name, kw):
    rng = np.random.default_rng(15)
    x = rng.standard_normal((3, 4, 5)) * 4
    x[0, 0, :3] = [0.0, 800.0, -800.0]   # the kink and saturation
    label = f"{name}{kw or ''}(x {x.shape})"
    xt = _tt(torch, x)
    yt = getattr(torch.nn.functional, name)(xt, **kw)
    _close(label, "forward vs PyTorch", getattr(R, name)(x, **kw), yt.detach().numpy(), TOL)
    dy = rng.standard_normal(x.shape)
    yt.backward(torch.tensor(dy))
    _close(label, "dx vs PyTorch", getattr(R, name + "_backward")(x, dy, **kw), xt.grad.numpy(), TOL)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((4, 10), 1), ((2, 3, 4), 0), ((2, 3, 4), -1), ((3, 5, 2, 2), 1)])
def test_softmax_vs_torch(torch, name, shape, dim):
    rng = np.random.default_rng(16)
    x = rng.standard_normal(shape) * 3
    x.reshape(-1)[0] = 1000.0   # stability
    label = f"{name}(x {x.shape}, dim={dim})"
    xt = _tt(torch, x)
    yt = getattr(torch.nn.functional, name)(xt, dim=dim)
    _close(label, "forward vs PyTorch", getattr(R, name)(x, dim), yt.detach().numpy(), TOL)
    dy = rng.standard_normal(shape)
    yt.backward(torch.tensor(dy))
    _close(label, "dx vs PyTorch", getattr(R, name + "_backward")(x, dy, dim), xt.grad.numpy(), TOL)


def test_dropout_vs_torch(torch):
    rng = np.random.default_rng(17)
    x, p = rng.standard_normal((4, 6)), 0.3
    mask = (rng.uniform(size=x.shape) >= p).astype(np.float64)
    xt = _tt(torch, x)
    yt = xt * torch.tensor(mask) / (1 - p)   # what torch's dropout computes for the mask it drew
    _close("dropout(x (4, 6), p=0.3)", "forward vs PyTorch", R.dropout(x, mask, p), yt.detach().numpy(), TOL)
    dy = rng.standard_normal(x.shape)
    yt.backward(torch.tensor(dy))
    _close("dropout(x (4, 6), p=0.3)", "dx vs PyTorch", R.dropout_backward(dy, mask, p), xt.grad.numpy(), TOL)
    one = torch.nn.functional.dropout(torch.tensor(x), 1.0).numpy()
    _close("dropout(p=1)", "forward vs PyTorch", R.dropout(x, np.zeros_like(x), 1.0), one, 0)


@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3), (2, 3, 5)])
def test_class_losses_vs_torch(torch, shape, reduction, ignore):
    rng = np.random.default_rng(18)
    x = rng.standard_normal(shape) * 2
    t = rng.integers(0, shape[1], (shape[0],) + shape[2:])
    if ignore:
        t.reshape(-1)[1::3] = -100
    dy = rng.standard_normal(t.shape) if reduction == "none" else np.array(rng.standard_normal())
    for name, arg in [("cross_entropy", x), ("nll_loss", R.log_softmax(x, 1))]:
        label = f"{name}(input {x.shape}, target {t.shape}, reduction={reduction}, ignore_index=-100, ignored={ignore})"
        xt = _tt(torch, arg)
        yt = getattr(torch.nn.functional, name)(xt, torch.tensor(t), reduction=reduction)
        _close(label, "forward vs PyTorch", getattr(R, name)(arg, t, reduction), yt.detach().numpy(), TOL)
        yt.backward(torch.tensor(dy))
        _close(label, "dx vs PyTorch", getattr(R, name + "_backward")(arg, t, dy, reduction), xt.grad.numpy(), TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 4, 5)])
def test_mse_loss_vs_torch(torch, shape, reduction):
    rng = np.random.default_rng(19)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    label = f"mse_loss(x {shape}, reduction={reduction})"
    xt, yt_in = _tt(torch, x), _tt(torch, y)
    lt = torch.nn.functional.mse_loss(xt, yt_in, reduction=reduction)
    _close(label, "forward vs PyTorch", R.mse_loss(x, y, reduction), lt.detach().numpy(), TOL)
    dy = rng.standard_normal(shape) if reduction == "none" else np.array(rng.standard_normal())
    lt.backward(torch.tensor(dy))
    dx, dyin = R.mse_loss_backward(x, y, dy, reduction)
    _close(label, "gradient w.r.t. input vs PyTorch", dx, xt.grad.numpy(), TOL)
    _close(label, "gradient w.r.t. target vs PyTorch", dyin, yt_in.grad.numpy(), TOL)
