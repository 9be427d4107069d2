"""The one test helper for every op (DESIGN.md convention 7).

`check_op` runs three checks on an op given as a function of convnet tensors:
  1. forward and gradients (float32) against a plain NumPy reference;
  2. a float64 finite-difference check of the autograd gradients;
  3. forward and gradients against PyTorch (float64 and float32), where torch is installed.
Failure messages name the op and the input shapes and parameters.
"""

import numpy as np

import convnet as cn

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


def _to_cn(a, dtype, grad):
    t = cn.tensor(a.astype(dtype) if a.dtype.kind == "f" else a)
    if grad:
        t.requires_grad_(True)
    return t


def _run_cn(fn, inputs, diff, dtype, dy):
    ts = [_to_cn(a, dtype, i in diff) for i, a in enumerate(inputs)]
    out = fn(*ts)
    grads = []
    if diff:
        out.backward(cn.tensor(dy.astype(dtype)))
        grads = [ts[i].grad.numpy() if ts[i].grad is not None else np.zeros_like(inputs[i])
                 for i in diff]
    return out.detach().numpy().astype(np.float64), grads


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
