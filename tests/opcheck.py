"""The one test helper for every op (DESIGN.md convention 7).

`check_op` runs three checks on an op given as a function of convnet tensors:
  1. forward and gradients (float32) against a plain NumPy reference;
  2. a float64 finite-difference check of the autograd gradients;
  3. forward and gradients against PyTorch (float64 and float32), where torch is installed.
`check_devices` checks an op's CUDA forward and backward against its CPU ones.
Failure messages name the op and the input shapes and parameters.
"""

import numpy as np
import pytest

import convnet as cn

HAS_CUDA = cn.cuda.is_available()
_skip_without_cuda = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA device (convnet.cuda.is_available() is False)")
# parametrize("device", DEVICES): the CPU always, the GPU where there is one. The `cuda` marker
# selects the device tests for the emulated CUDA build (tests/build/test_emulated_cuda.py).
DEVICES = ["cpu", pytest.param("cuda", marks=[pytest.mark.cuda, _skip_without_cuda])]


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


def _close(name, what, got, want, rtol):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, f"{name}: {what} has shape {got.shape}, expected {want.shape}"
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-3)
    err = float(np.max(np.abs(got - want))) if want.size else 0.0
    assert err <= rtol * scale, (
        f"{name}: {what} differs: max abs error {err:.3g} > {rtol:g} × max |expected| {scale:.3g}")


def _to_cn(a, dtype, grad, device="cpu"):
    t = cn.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, device=device)
    if grad:
        t.requires_grad_(True)
    return t


def _run_cn(fn, inputs, diff, dtype, dy, device="cpu"):
    ts = [_to_cn(a, dtype, i in diff, device) for i, a in enumerate(inputs)]
    out = fn(*ts)
    assert out.device == cn.device(device), f"output on {out.device}, expected {device}"
    grads = []
    if diff:
        out.backward(cn.tensor(dy.astype(dtype), device=device))
        for i in diff:
            g = ts[i].grad
            assert g is None or g.device == cn.device(device), f"gradient on {g.device}, expected {device}"
            grads.append(g.cpu().numpy() if g is not None else np.zeros_like(inputs[i]))
    return out.detach().cpu().numpy().astype(np.float64), grads


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
        eps = 1e-6
        for k, i in enumerate(diff):
            x = inputs[i].astype(np.float64)
            num = np.zeros_like(x)
            flat = x.reshape(-1)
            idx = range(flat.size) if flat.size <= 400 else rng.choice(flat.size, 400, replace=False)
            for j in idx:
                old = flat[j]
                flat[j] = old + eps
                hi, _ = _run_cn(fn, inputs[:i] + [x] + inputs[i + 1:], (), np.float64, None)
                flat[j] = old - eps
                lo, _ = _run_cn(fn, inputs[:i] + [x] + inputs[i + 1:], (), np.float64, None)
                flat[j] = old
                num.reshape(-1)[j] = np.sum((hi - lo) * dy) / (2 * eps)
            mask = np.zeros(flat.size, bool)
            mask[list(idx)] = True
            _close(label, f"gradient of input {i} vs finite differences (float64)",
                   grads[k].reshape(-1)[mask], num.reshape(-1)[mask], fd_rtol)

    # 3. PyTorch
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
