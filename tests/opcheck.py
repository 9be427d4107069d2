"""The one test helper for every op (DESIGN.md convention 7).

`check_op` runs four checks on an op given as a function of convnet tensors:
  1. forward and gradients (float32) against a plain NumPy reference;
  2. a float64 finite-difference check of the autograd gradients: element by element for inputs of
     at most FD_ELEMENTWISE elements, else along FD_DIRECTIONS random directions (as PyTorch's
     gradcheck(fast_mode=True): vᵀJu from central differences against the backward's (Jᵀv)·u);
  3. the same inputs as non-contiguous views (every other element of a larger tensor): forward
     and gradients bit for bit those of contiguous inputs;
  4. forward and gradients against PyTorch (float64 and float32), where torch is installed.
`check_devices` checks an op's CUDA forward and backward against its CPU ones.
`check_double_backward` checks an op's second derivatives (backward with create_graph=True): the
float64 gradgradcheck and the second derivatives of PyTorch, for contiguous and non-contiguous inputs;
`check_double_backward_raises` that an op without double backward raises where it would be needed.
`check_case` is the entry point of an op's case table, whose test is parametrized over DEVICES: on
"cpu" it runs every check of check_op, on "cuda" the check_devices comparison.
Failure messages name the op and the input shapes and parameters.

Also the tests' shared inputs and matchers: `randn` (a generator reset before every test, so a
test's inputs do not depend on which tests ran before it), `msg` (a regex for pytest.raises) and
`same_on_both` (an op on CPU and GPU tensors); and `torch`, `tF` (PyTorch and its functional API,
None without PyTorch).
"""

import re

import numpy as np
import pytest

import convnet as cn

HAS_CUDA = cn.cuda.is_available()
_skip_without_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device (convnet.cuda.is_available() is False)")
# parametrize("device", DEVICES): the CPU always, the GPU where there is one. The `cuda` marker
# selects the device tests for the emulated CUDA build (tests/build/test_emulated_cuda.py).
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, _skip_without_cuda])]


def on_devices(both=(), cpu=(), cuda=()):
    """A case table's rows over the devices, for parametrize("device,<the row's names>", ...): the rows
    of `both` on the CPU and on the GPU, those of `cpu` on the CPU only, those of `cuda` on the GPU only
    (marked as DEVICES marks it). A row is a tuple of the case's values. Rows written for the GPU's
    comparison alone stay on the GPU: the CPU's checks cost far more a case."""
    gpu = DEVICES[1]
    return ([("cpu", *row) for row in (*both, *cpu)]
            + [pytest.param("cuda", *row, marks=gpu.marks) for row in (*both, *cuda)])


def requires_cuda(test):
    """Marks a test that runs on the GPU: skipped without one, run by the emulated CUDA build."""
    return pytest.mark.cuda(_skip_without_cuda(test))


def without_gpu(test):
    """Marks a test of the behaviour without a GPU (run by the emulated CUDA build, which has one)."""
    return pytest.mark.cuda(pytest.mark.skipif(HAS_CUDA, reason="checks the behaviour without a GPU")(test))

try:
    import torch
except ImportError:  # the PyTorch parity check is skipped where torch is missing
    torch = None
tF = torch.nn.functional if torch is not None else None  # for the cases' torch_fn

FD_ELEMENTWISE = 20  # inputs up to this many elements: every element perturbed on its own
FD_DIRECTIONS = 4    # larger inputs: this many random directions
SEED = 1234
_rng = np.random.default_rng(SEED)


def reseed():
    """Resets randn's generator (conftest.py calls it before every test)."""
    global _rng
    _rng = np.random.default_rng(SEED)


def rng():
    """The generator behind randn, for other distributions."""
    return _rng


def randn(*shape):
    """A float64 array of the given shape with standard normal entries."""
    return _rng.standard_normal(shape)


def drawn_cases(n, seed, draw):
    """n cases of a table drawn at random: draw(r) gives a case, or None to reject the draw; r is one
    generator seeded with `seed`, so a table's drawn cases are the same in every run."""
    r = np.random.default_rng(seed)
    cases = []
    while len(cases) < n:
        case = draw(r)
        if case is not None:
            cases.append(case)
    return cases


def case_ids(fmt):
    """An ids function for parametrize("device,case", on_devices(...)): the device as it is, a case's
    values through fmt (spaces dropped)."""
    return lambda v: v if isinstance(v, str) else fmt.format(*v).replace(" ", "")


def conv_inputs(xs, ws, bias_size, request, chunked):
    """The inputs of a convolution case: x of shape xs, w of shape ws (halved), a bias of bias_size
    values or none (bias_size None), and the indices of all of them to differentiate; chunked: the
    GPU's column buffers limited for the test (the small_workspace fixture of tests/ops)."""
    if chunked:
        request.getfixturevalue("small_workspace")
    inputs = [randn(*xs), randn(*ws) * 0.5] + ([randn(bias_size)] if bias_size else [])
    return inputs, tuple(range(len(inputs)))


def away_from(x, points, gap=0.05):
    """x with values near `points` (kinks) moved off them."""
    x = np.array(x, dtype=np.float64)
    for k in points:
        x[np.abs(x - k) < gap] += 2 * gap
    return x


def msg(*parts):
    """A regex (for pytest.raises(match=...)) that finds every literal part, in any order."""
    return "(?s)" + "".join(f"(?=.*{re.escape(p)})" for p in parts)


def same_on_both(fn, *arrays, tol=1e-6):
    """fn over CPU tensors and over GPU tensors: same device, dtype, shape and values within tol
    (tol=0: equal); outputs may be tuples. Returns the CPU result."""
    want = fn(*[cn.tensor(a) for a in arrays])
    got = fn(*[cn.tensor(a, device="cuda") for a in arrays])
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.device == cn.device("cuda:0") and g.dtype == w.dtype and g.shape == w.shape, (g, w)
        np.testing.assert_allclose(g.detach().cpu().numpy(), w.detach().numpy(), rtol=tol, atol=tol)
    return want


def _close(name, what, got, want, rtol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{name}: {what} has shape {got.shape}, expected {want.shape}"
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-3)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    assert err <= rtol * scale, (
        f"{name}: {what} differs: max abs error {err:.3g} > {rtol:g} × max |expected| {scale:.3g}")


def _to_cn(a, dtype, grad, device="cpu", strided=False):
    """(leaf, input): the array as a tensor; with strided, the input is a non-contiguous view of
    the leaf (every other element of a larger tensor) holding the same values."""
    a = a.astype(dtype) if a.dtype.kind == "f" else a
    if strided and a.ndim:
        a = np.stack([a, np.zeros_like(a)], axis=-1)
    t = cn.tensor(a, device=device)
    if grad:
        t.requires_grad_(True)
    return t, (t[..., 0] if strided and a.ndim > 1 else t)


def _run_cn(fn, inputs, diff, dtype, dy, device="cpu", strided=False):
    leaves, ts = zip(*[_to_cn(a, dtype, i in diff, device, strided) for i, a in enumerate(inputs)]) if inputs else ((), ())
    out = fn(*ts)
    assert out.device == cn.device(device), f"output on {out.device}, expected {device}"
    grads = []
    if diff:
        out.backward(cn.tensor(dy.astype(dtype), device=device))
        for i in diff:
            g = leaves[i].grad
            if g is not None and strided and inputs[i].ndim:
                g = g[..., 0]
            assert g is None or g.device == cn.device(device), f"gradient on {g.device}, expected {device}"
            grads.append(g.cpu().numpy() if g is not None else np.zeros_like(inputs[i]))
    return out.detach().cpu().numpy().astype(np.float64), grads


def to_np(t):
    return t.detach().numpy()


def assert_close(got, want, rtol, what):
    """got within rtol of the largest magnitude of want (and of its shape)."""
    _close(what, "values", got, want, rtol)


def load_from_torch(model, tmodel):
    r = model.load_state_dict({k: v.detach().numpy().copy() for k, v in tmodel.state_dict().items()})
    assert list(r.missing_keys) == [] and list(r.unexpected_keys) == []


def module_matches_torch(spec, shape, train=False, tol=1e-5, x=None, same_repr=True):
    """Builds nn.<spec> in both libraries with torch's parameters, compares forward, the input
    gradient and every parameter gradient, and the repr (with same_repr=False only the class name:
    for modules whose repr shows their arguments in another form than torch's)."""
    torch_ = pytest.importorskip("torch")
    from convnet import nn  # noqa: F401  (named in eval)
    tnn = torch_.nn  # noqa: F841  (named in eval)
    torch_.manual_seed(0)
    t = eval("tnn." + spec)
    m = eval("nn." + spec)
    assert repr(m) == repr(t) if same_repr else type(m).__name__ == type(t).__name__, (spec, repr(m), repr(t))
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in t.named_parameters()], spec
    assert list(m.state_dict().keys()) == list(t.state_dict().keys()), spec
    load_from_torch(m, t)
    m.train(train)
    t.train(train)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) if x is None else x
    xc = cn.tensor(x).requires_grad_(True)
    xt = torch_.from_numpy(x.copy()).requires_grad_(True)
    y, yt = m(xc), t(xt)
    assert_close(to_np(y), yt.detach().numpy(), tol, f"{spec} forward")
    dy = np.random.default_rng(1).standard_normal(yt.shape).astype(np.float32)
    y.backward(cn.tensor(dy))
    yt.backward(torch_.from_numpy(dy))
    assert_close(to_np(xc.grad), xt.grad.numpy(), tol, f"{spec} input grad")
    tp = dict(t.named_parameters())
    for n, p in m.named_parameters():
        assert_close(to_np(p.grad), tp[n].grad.numpy(), tol, f"{spec} grad of {n}")
    return m, t


def check_devices(name, fn, inputs, diff=(0,), rtol=1e-4, dtypes=(np.float32, np.float64), seed=0):
    """Checks that op `fn` gives on the GPU the forward output and the gradients of the
    `diff` inputs that it gives on the CPU, within rtol of the largest magnitude, for a
    random upstream gradient; `inputs` as for check_op."""
    if not HAS_CUDA:
        pytest.skip("no CUDA device (convnet.cuda.is_available() is False)")
    rng = np.random.default_rng(seed)
    inputs = [np.asarray(a) for a in inputs]
    label = f"{name}[inputs {', '.join(str(a.shape) for a in inputs)}]"
    diff = tuple(diff)
    for dtype in dtypes:
        out, _ = _run_cn(fn, inputs, (), dtype, None)
        dy = rng.standard_normal(out.shape)
        want, want_grads = _run_cn(fn, inputs, diff, dtype, dy, "cpu")
        got, got_grads = _run_cn(fn, inputs, diff, dtype, dy, "cuda")
        what = np.dtype(dtype).name
        _close(label, f"CUDA forward vs CPU ({what})", got, want, rtol)
        for k, i in enumerate(diff):
            _close(label, f"CUDA gradient of input {i} vs CPU ({what})", got_grads[k], want_grads[k], rtol)


def _fd_output(fn, inputs, i, x):
    """The float64 output of fn with input i replaced by x."""
    out, _ = _run_cn(fn, inputs[:i] + [x] + inputs[i + 1:], (), np.float64, None)
    return out


def _fd_elementwise(label, fn, inputs, i, dy, grad, fd_rtol, eps=1e-6):
    """Every element of input i perturbed on its own: dyᵀ ∂out/∂x_j against the gradient."""
    x = inputs[i].astype(np.float64)
    flat = x.reshape(-1)
    num = np.zeros(flat.size)
    for j in range(flat.size):
        old = flat[j]
        flat[j] = old + eps
        hi = _fd_output(fn, inputs, i, x)
        flat[j] = old - eps
        lo = _fd_output(fn, inputs, i, x)
        flat[j] = old
        num[j] = np.sum((hi - lo) * dy) / (2 * eps)
    _close(label, f"gradient of input {i} vs finite differences (float64)", grad.reshape(-1), num, fd_rtol)


def _fd_directions(label, fn, inputs, i, diff, rng, fd_rtol, eps=1e-6):
    """vᵀJu for FD_DIRECTIONS random pairs (u over input i, v over the output): the central
    difference along u against the backward's (Jᵀv)·u, within fd_rtol of ‖Jᵀv‖·‖u‖/√n."""
    x = inputs[i].astype(np.float64)
    for d in range(FD_DIRECTIONS):
        u = rng.standard_normal(x.shape)
        out = _fd_output(fn, inputs, i, x)
        v = rng.standard_normal(out.shape)
        _, grads = _run_cn(fn, inputs, diff, np.float64, v)
        g = grads[diff.index(i)]
        want = np.sum((_fd_output(fn, inputs, i, x + eps * u) - _fd_output(fn, inputs, i, x - eps * u)) * v) / (2 * eps)
        got = float(np.sum(g * u))
        scale = max(float(np.linalg.norm(g) * np.linalg.norm(u) / np.sqrt(u.size)), 1e-3)
        assert abs(got - want) <= fd_rtol * scale, (
            f"{label}: gradient of input {i} vs finite differences along random direction {d} (float64): "
            f"(Jᵀv)·u = {got:.10g}, central difference {want:.10g}, error {abs(got - want):.3g} > {fd_rtol:g} × {scale:.3g}")


def check_op(name, fn, inputs, diff=(0,), ref=None, ref_grad=None, torch_fn=None, rtol=1e-4,
             fd_rtol=1e-5, seed=0):
    """Checks op `fn` on `inputs` (NumPy arrays; floating ones are cast per check).

    diff: indices of the inputs to differentiate with respect to.
    ref(*inputs) -> output, ref_grad(*inputs, dy) -> tuple of gradients for `diff`.
    torch_fn(*torch_tensors) -> torch output (same signature as fn).
    """
    rng = np.random.default_rng(seed)
    inputs = [np.asarray(a) for a in inputs]
    shapes = ", ".join(str(a.shape) for a in inputs)
    label = f"{name}[inputs {shapes}]"
    diff = tuple(diff)

    out64, grads64 = _run_cn(fn, inputs, (), np.float64, None)
    dy = rng.standard_normal(out64.shape)

    # 1. NumPy reference, float32
    out32, grads32 = _run_cn(fn, inputs, diff, np.float32, dy)
    if ref is not None:
        _close(label, "forward vs NumPy", out32, ref(*inputs), rtol)
    if ref_grad is not None:
        want = ref_grad(*inputs, dy)
        want = want if isinstance(want, (tuple, list)) else (want,)
        for k, i in enumerate(diff):
            _close(label, f"gradient of input {i} vs NumPy", grads32[k], want[k], rtol)

    # 2. finite differences, float64
    if diff:
        _, grads = _run_cn(fn, inputs, diff, np.float64, dy)
        for k, i in enumerate(diff):
            if inputs[i].size <= FD_ELEMENTWISE:
                _fd_elementwise(label, fn, inputs, i, dy, grads[k], fd_rtol)
            else:
                _fd_directions(label, fn, inputs, i, diff, rng, fd_rtol)

    # 3. non-contiguous inputs (views) give exactly the results of contiguous ones
    for np_dtype in (np.float32, np.float64):
        want, want_grads = _run_cn(fn, inputs, diff, np_dtype, dy)
        got, got_grads = _run_cn(fn, inputs, diff, np_dtype, dy, strided=True)
        what = np.dtype(np_dtype).name
        assert np.array_equal(got, want, equal_nan=True), f"{label}: forward of non-contiguous inputs ({what}) differs"
        for k, i in enumerate(diff):
            assert np.array_equal(got_grads[k], want_grads[k], equal_nan=True), (
                f"{label}: gradient of non-contiguous input {i} ({what}) differs")

    # 4. PyTorch
    if torch_fn is not None and torch is not None:
        for np_dtype, t_dtype in ((np.float64, torch.float64), (np.float32, torch.float32)):
            ts = []
            for i, a in enumerate(inputs):
                t = torch.from_numpy(np.array(a.astype(np_dtype) if a.dtype.kind == "f" else a))
                if i in diff:
                    t.requires_grad_(True)
                ts.append(t)
            tout = torch_fn(*ts)
            mine, mgrads = _run_cn(fn, inputs, diff, np_dtype, dy)
            _close(label, f"forward vs PyTorch ({np_dtype.__name__})", mine, tout.detach().numpy(), rtol)
            if diff:
                tout.backward(torch.from_numpy(dy.astype(np_dtype)).to(t_dtype))
                for k, i in enumerate(diff):
                    _close(label, f"gradient of input {i} vs PyTorch ({np_dtype.__name__})",
                           mgrads[k], ts[i].grad.numpy(), rtol)


def check_case(device, name, fn, inputs, diff=(0,), ref=None, ref_grad=None, torch_fn=None, rtol=1e-4,
               fd_rtol=1e-5, seed=0, cuda_rtol=1e-4, cuda_dtypes=(np.float32, np.float64), double_backward=False):
    """One case of an op's table on `device` (a DEVICES parameter): on "cpu" check_op (NumPy
    reference, finite differences, PyTorch parity; rtol, fd_rtol) and, with double_backward,
    check_double_backward (its finite differences for inputs of at most GRADGRAD_ELEMENTS elements
    to differentiate); on "cuda" check_devices (the GPU against the CPU; cuda_rtol, cuda_dtypes).
    The other arguments as for check_op."""
    if device == "cuda":
        check_devices(name, fn, inputs, diff, rtol=cuda_rtol, dtypes=cuda_dtypes, seed=seed)
        return
    check_op(name, fn, inputs, diff, ref=ref, ref_grad=ref_grad, torch_fn=torch_fn, rtol=rtol,
             fd_rtol=fd_rtol, seed=seed)
    if double_backward:
        small = sum(np.asarray(inputs[i]).size for i in diff) <= GRADGRAD_ELEMENTS
        check_double_backward(name, fn, inputs, diff, torch_fn=torch_fn, gradgrad=small, seed=seed)


# check_case runs gradgradcheck (two create_graph backwards per element) up to this many elements
GRADGRAD_ELEMENTS = 150


def _second_derivatives(lib, fn, ts, diff, dy, us):
    """The gradients g_i of fn's output (seeded with dy) with respect to the inputs `diff` through
    backward with create_graph, then the gradients of Σ_i <g_i, u_i> with respect to those inputs
    and to dy: (first, second) as float64 arrays (zeros for an input the result does not depend on)."""
    out = fn(*ts)
    dyt = lib.tensor(dy) if lib is cn else torch.from_numpy(dy.copy())
    dyt.requires_grad_(True)
    wrt = [ts[i] for i in diff]
    gs = lib.autograd.grad(out, wrt, dyt, create_graph=True, allow_unused=True)
    gs = [g if g is not None else lib.zeros_like(t) for g, t in zip(gs, wrt)]
    total = sum((g * (lib.tensor(u) if lib is cn else torch.from_numpy(u.copy()))).sum() for g, u in zip(gs, us))
    # a total without a graph (gradients constant in everything: sign, floor) has zero derivatives
    second = (lib.autograd.grad(total, wrt + [dyt], allow_unused=True) if total.requires_grad
              else [None] * (len(wrt) + 1))

    def to_array(t):  # PyTorch returns some zero gradients (l1_loss's second derivative) as ZeroTensors
        return np.array(t.detach().numpy(**({"force": True} if lib is torch else {})), dtype=np.float64)

    return ([to_array(g) for g in gs],
            [np.zeros(tuple(t.shape)) if d is None else to_array(d) for d, t in zip(second, wrt + [dyt])])


def _strided_view(t):
    """A floating tensor of 1 or more dimensions as a non-contiguous view with its values,
    differentiable (others as they are)."""
    if t.dim() == 0 or not t.dtype.is_floating_point:
        return t
    return cn.stack([t, cn.zeros_like(t)], -1)[..., 0]


def check_double_backward(name, fn, inputs, diff=(0,), torch_fn=None, rtol=1e-7, gradgrad=True, seed=0):
    """Checks the second derivatives of op `fn` (float64) at `inputs` (NumPy arrays) with respect to
    the `diff` inputs: cn.autograd.gradgradcheck (finite differences of the create_graph gradient;
    skipped with gradgrad=False, for inputs too large for it) and, where torch is installed, the
    first and second derivatives of torch_fn (the gradients with create_graph, then the gradient of
    their dot product with random directions with respect to the inputs and to the upstream
    gradient) within rtol of the largest magnitude; both for contiguous inputs and for
    non-contiguous views of them."""
    r = np.random.default_rng(seed)
    inputs = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs]
    label = f"{name}[inputs {', '.join(str(a.shape) for a in inputs)}] double backward"
    diff = tuple(diff)
    out_shape = _run_cn(fn, inputs, (), np.float64, None)[0].shape
    dy = r.standard_normal(out_shape)
    us = [r.standard_normal(inputs[i].shape) for i in diff]
    want = None
    if torch_fn is not None and torch is not None:
        tts = [torch.from_numpy(a.copy()).requires_grad_(i in diff) for i, a in enumerate(inputs)]
        want = _second_derivatives(torch, torch_fn, tts, diff, dy, us)
    for strided in (False, True):
        what = "non-contiguous" if strided else "contiguous"
        ts = [_to_cn(a, np.float64, i in diff)[1] for i, a in enumerate(inputs)]
        # the op sees each floating input as a non-contiguous view (every other element of a larger
        # tensor), made anew at every call from the leaf
        op = (lambda *a: fn(*[_strided_view(t) for t in a])) if strided else fn
        if gradgrad:
            assert cn.autograd.gradgradcheck(op, ts, atol=1e-6, rtol=1e-4), f"{label}: gradgradcheck ({what})"
        if want is not None:
            got = _second_derivatives(cn, op, ts, diff, dy, us)
            for k, i in enumerate(diff):
                _close(label, f"gradient of input {i} with create_graph vs PyTorch ({what})", got[0][k], want[0][k],
                       rtol)
                _close(label, f"second derivative, input {i}, vs PyTorch ({what})", got[1][k], want[1][k], rtol)
            _close(label, f"second derivative, upstream gradient, vs PyTorch ({what})", got[1][-1], want[1][-1], rtol)


def check_double_backward_raises(name, fn, inputs, diff=(0,), seed=0):
    """For an op `fn` without double backward, at `inputs` (NumPy arrays): the gradients of the `diff`
    inputs are the same with and without create_graph, and a second backward through them (with
    autograd.grad, and through the .grad that backward(create_graph=True) leaves) raises RuntimeError
    "<name>: double backward is not implemented"."""
    r = np.random.default_rng(seed)
    inputs = [np.asarray(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in inputs]
    label = f"{name}[inputs {', '.join(str(a.shape) for a in inputs)}]"
    dy = r.standard_normal(_run_cn(fn, inputs, (), np.float64, None)[0].shape)
    leaves = [_to_cn(a, np.float64, i in diff)[1] for i, a in enumerate(inputs)]
    wrt = [leaves[i] for i in diff]
    plain = cn.autograd.grad(fn(*leaves), wrt, cn.tensor(dy))
    graph = cn.autograd.grad(fn(*leaves), wrt, cn.tensor(dy), create_graph=True)
    for i, p, g in zip(diff, plain, graph):
        assert g.requires_grad, f"{label}: the gradient of input {i} with create_graph has no graph"
        _close(label, f"gradient of input {i} with create_graph vs without", g.detach().numpy(), p.numpy(), 1e-12)
    error = msg(f"{name}: double backward is not implemented")
    with pytest.raises(RuntimeError, match=error):
        cn.autograd.grad(sum((g * g).sum() for g in graph), wrt)
    fn(*leaves).backward(cn.tensor(dy), create_graph=True)
    with pytest.raises(RuntimeError, match=error):
        sum((t.grad * t.grad).sum() for t in wrt).backward()
