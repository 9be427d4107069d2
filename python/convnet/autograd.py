"""Automatic differentiation beyond Tensor.backward, named as torch.autograd: grad, backward,
Function (custom ops with a Python backward), gradcheck and gradgradcheck (float64 finite
differences), detect_anomaly."""

import numpy as np

from . import _core
from ._core import Tensor
from ._tensor import _ModeSwitch, no_grad

__all__ = ["Function", "FunctionCtx", "GradcheckError", "backward", "detect_anomaly", "grad", "gradcheck",
           "gradgradcheck", "set_detect_anomaly"]


def _as_list(ts):
    return [ts] if isinstance(ts, Tensor) else list(ts)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of `outputs` (seeded with `grad_outputs`, ones for scalars) with respect to
    `inputs`, returned as a tuple instead of accumulated into `.grad`. With create_graph the result
    has a graph of its own (for gradient penalties and higher derivatives)."""
    outs, ins = _as_list(outputs), _as_list(inputs)
    gos = [] if grad_outputs is None else _as_list(grad_outputs)
    if gos and any(g is None for g in gos):
        gos = [_core.ones_like(o) if g is None else g for o, g in zip(outs, gos)]
    retain = create_graph if retain_graph is None else retain_graph
    res = _core._grad(outs, ins, gos, retain, create_graph, bool(allow_unused) or materialize_grads)
    if materialize_grads:
        res = [_core.zeros_like(i) if g is None else g for i, g in zip(ins, res)]
    return tuple(res)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False):
    """Tensor.backward for several tensors at once: their gradients add up in the leaves' .grad."""
    ts = _as_list(tensors)
    gs = [None] * len(ts) if grad_tensors is None else _as_list(grad_tensors)
    for k, (t, g) in enumerate(zip(ts, gs)):
        keep = True if k < len(ts) - 1 else retain_graph
        t.backward(g, retain_graph=keep, create_graph=create_graph)


class FunctionCtx:
    """What forward hands to backward: save_for_backward / saved_tensors, needs_input_grad,
    mark_non_differentiable, set_materialize_grads."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._non_differentiable = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        return self._saved

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """Accepted for compatibility: an in-place forward already writes its inputs' memory."""

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)


class Function:
    """A differentiable operation written in Python: subclass with static `forward(ctx, *args)`
    and `backward(ctx, *grad_outputs)` (one gradient, or None, per forward argument) and call
    `apply(*args)`. forward runs without recording; its tensor outputs get a node whose backward
    is yours."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function.forward: subclasses define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("Function.backward: subclasses define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx(tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            out = cls.forward(ctx, *args, **kwargs)
        multiple = isinstance(out, tuple)
        outs = out if multiple else (out,)
        inputs = [a for a in args if isinstance(a, Tensor)]
        if not any(ctx.needs_input_grad) or not _core.is_grad_enabled():
            return out
        skip = {id(t) for t in ctx._non_differentiable}

        def make_backward(k):
            def run(dy):
                grads = []
                for j, o in enumerate(outs):
                    if not isinstance(o, Tensor):
                        continue
                    grads.append(dy if j == k else (_core.zeros_like(o) if ctx.materialize_grads else None))
                res = cls.backward(ctx, *grads)
                res = res if isinstance(res, tuple) else (res,)
                if len(res) != len(args):
                    raise ValueError(f"{cls.__name__}.backward returned {len(res)} gradients, expected {len(args)} "
                                     "(one per argument of forward, None for the non-tensor ones)")
                return tuple(g for g, a in zip(res, args) if isinstance(a, Tensor))
            return run

        result = []
        for k, o in enumerate(outs):
            if isinstance(o, Tensor) and o.is_floating_point() and id(o) not in skip:
                o = _core._function_node(o, inputs, cls.__name__, make_backward(k))
            result.append(o)
        return tuple(result) if multiple else result[0]


class detect_anomaly(_ModeSwitch):
    """Context manager (and decorator): backward raises naming the node whose gradient holds a NaN."""

    _get = staticmethod(_core._is_anomaly_enabled)
    _set = staticmethod(_core._set_anomaly_enabled)

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def _value(self):
        return self.check_nan


def set_detect_anomaly(mode):
    _core._set_anomaly_enabled(bool(mode))


class GradcheckError(RuntimeError):
    """An analytic gradient that disagrees with its finite differences."""


def _numeric_jacobian_vjp(func, inputs, i, v, eps):
    """vᵀ ∂func/∂inputs[i] by central differences, element by element (float64)."""
    x = inputs[i]
    base = x.detach().numpy().copy()
    out = np.zeros(base.size)
    flat = base.reshape(-1)
    for j in range(flat.size):
        vals = []
        for d in (eps, -eps):
            flat[j] += d
            args = list(inputs)
            args[i] = _core.tensor(base, x.dtype).requires_grad_(x.requires_grad)  # as func saw it
            y = func(*args)
            vals.append(sum(float((t.detach().numpy() * w).sum()) for t, w in zip(_as_list(y), v)))
            flat[j] -= d
        out[j] = (vals[0] - vals[1]) / (2 * eps)
    return out.reshape(base.shape)


def gradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Checks the gradients of func at `inputs` (float64 tensors; those that require grad are
    checked) against central finite differences, for a random upstream gradient per output.
    Returns True, or raises GradcheckError (returns False with raise_exception=False)."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    rng = np.random.default_rng(0)
    outs = _as_list(func(*inputs))
    v = [rng.standard_normal(o.shape) for o in outs]
    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        if x.dtype != _core.dtype.float64:
            raise GradcheckError(f"gradcheck: input {i} is {x.dtype}; gradcheck needs float64 inputs")
        # outputs without a graph (a gradient constant in the inputs, under gradgradcheck) add nothing
        used = [(o, w) for o, w in zip(_as_list(func(*inputs)), v) if o.requires_grad]
        got = np.zeros(tuple(x.shape))
        if used:
            gos = [_core.tensor(w, o.dtype) for o, w in used]
            (g,) = grad([o for o, _ in used], [x], gos, allow_unused=True, materialize_grads=True)
            got = g.numpy()
        want = _numeric_jacobian_vjp(func, inputs, i, v, eps)
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            if not raise_exception:
                return False
            raise GradcheckError(f"gradcheck: the gradient of input {i} disagrees with finite differences: "
                                 f"max abs error {np.abs(got - want).max():.3g}\nanalytic:\n{got}\nnumerical:\n{want}")
    return True


def gradgradcheck(func, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """gradcheck of the gradient of func (computed with create_graph=True) for a fixed random
    upstream gradient: checks second derivatives."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    rng = np.random.default_rng(1)
    outs = _as_list(func(*inputs))
    v = [_core.tensor(rng.standard_normal(o.shape), o.dtype) for o in outs]
    diff = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]

    def first_order(*args):
        ys = _as_list(func(*args))
        ds = [a for a in args if isinstance(a, Tensor) and a.requires_grad]
        gs = grad(ys, ds, v, create_graph=True, allow_unused=True, materialize_grads=True)
        return tuple(gs)

    if not diff:
        return True
    return gradcheck(first_order, inputs, eps, atol, rtol, raise_exception)
