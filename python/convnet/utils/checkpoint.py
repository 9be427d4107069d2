"""Activation checkpointing, as `torch.utils.checkpoint`: trade compute for memory.

`checkpoint(function, *args)` runs `function` without keeping any of the activations inside it
for backward: only its inputs are kept. During backward the block runs forward again (with the
random state of the first run restored, so dropout draws the same masks, and under the same
autocast state), and its gradients are computed from that second run. The gradients equal those
of the plain run exactly.

Gradients flow to the tensors passed as arguments and to the parameters of the modules that
`function` holds: `function` itself when it is a `Module` or a method of one, and the modules and
leaf tensors that a Python function reaches through its closure, its default arguments or the
global names it reads (also inside lists, tuples and dicts). A function that reads another tensor
that requires grad (the output of an earlier layer kept in a variable, for instance) is refused:
pass that tensor as an argument.

    from convnet.utils.checkpoint import checkpoint, checkpoint_sequential

    y = checkpoint(model.layer2, x)               # layer2's activations recomputed in backward
    y = checkpoint_sequential(model.features, 4, x)  # 4 segments; only their inputs are kept
"""

import types

from .. import _core
from .._tensor import enable_grad, no_grad

__all__ = ["checkpoint", "checkpoint_sequential"]

_nn = _core.nn


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _collect(obj, leaves, modules, seen, depth=0):
    """Adds to `leaves` the parameters of the modules and the leaf tensors that require grad found
    in `obj` (a module, a tensor, a callable, or a list/tuple/dict of them), and the modules to
    `modules`."""
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, _core.Tensor):
        if obj.requires_grad and obj.is_leaf:
            leaves.append(obj)
        return
    if isinstance(obj, _nn.Module):
        leaves.extend(p for p in obj.parameters() if p.requires_grad)
        modules.append(obj)
        return
    if isinstance(obj, (list, tuple)):
        for o in obj:
            _collect(o, leaves, modules, seen, depth + 1)
        return
    if isinstance(obj, dict):
        for o in obj.values():
            _collect(o, leaves, modules, seen, depth + 1)
        return
    if isinstance(obj, types.MethodType):
        _collect(obj.__self__, leaves, modules, seen, depth + 1)
        _collect(obj.__func__, leaves, modules, seen, depth + 1)
        return
    if hasattr(obj, "func") and hasattr(obj, "args") and hasattr(obj, "keywords"):  # functools.partial
        for o in (obj.func, obj.args, obj.keywords):
            _collect(o, leaves, modules, seen, depth + 1)
        return
    if isinstance(obj, types.FunctionType):
        for cell in obj.__closure__ or ():
            try:
                _collect(cell.cell_contents, leaves, modules, seen, depth + 1)
            except ValueError:  # an empty cell
                pass
        for o in (obj.__defaults__ or ()) + tuple((obj.__kwdefaults__ or {}).values()):
            _collect(o, leaves, modules, seen, depth + 1)
        g = obj.__globals__
        for name in obj.__code__.co_names:
            if name in g:
                _collect(g[name], leaves, modules, seen, depth + 1)


def _leaves_of(function, args, kwargs):
    """(the leaf tensors that require grad, the modules) that `function` reaches, once each."""
    leaves, modules, seen = [], [], set(id(a) for a in args)
    _collect(function, leaves, modules, seen)
    for v in kwargs.values():
        _collect(v, leaves, modules, seen)
    out, ids = [], set()
    for t in leaves:
        if id(t) not in ids:
            ids.add(id(t))
            out.append(t)
    return out, modules


class _KeptBuffers:
    """The modules' buffers (batch-norm running statistics) as they were on entry, put back on exit:
    the recomputation must not update them a second time."""

    def __init__(self, modules):
        self.modules = modules

    def __enter__(self):
        self.saved = [(b, b.clone()) for m in self.modules for b in m.buffers()]

    def __exit__(self, *exc):
        with no_grad():
            for b, v in self.saved:
                b.copy_(v)
        return False


class _Autocast:
    """The autocast state of the forward pass, re-entered for the recomputation."""

    def __init__(self):
        from .. import amp

        self.states = [(d, amp.get_autocast_dtype(d)) for d in ("cuda", "cpu") if amp.is_autocast_enabled(d)]

    def __enter__(self):
        from .. import amp

        self.contexts = [amp.autocast(d, dtype=t) for d, t in self.states]
        for c in self.contexts:
            c.__enter__()

    def __exit__(self, *exc):
        for c in reversed(self.contexts):
            c.__exit__(*exc)
        return False


def _run_detached(function, args, kwargs, leaves):
    """function(*args) with grad mode on but with `leaves` and the arguments cut off from autograd:
    the outputs require grad only if the function reads a tensor that requires grad and that
    checkpoint does not know of."""
    was = [t.requires_grad for t in leaves]
    try:
        for t in leaves:
            t.requires_grad_(False)
        detached = [a.detach() if isinstance(a, _core.Tensor) else a for a in args]
        with enable_grad():
            out = function(*detached, **kwargs)
    finally:
        for t, w in zip(leaves, was):
            t.requires_grad_(w)
    for o in _as_tuple(out):
        if isinstance(o, _core.Tensor) and o.requires_grad:
            raise ValueError(
                f"checkpoint: {getattr(function, '__qualname__', type(function).__name__)} reads a tensor that "
                f"requires grad and is neither one of its arguments nor a parameter of a module it holds (its "
                f"output of shape {tuple(o.shape)} depends on it); pass that tensor as an argument")
    return out


def checkpoint(function, *args, use_reentrant=False, preserve_rng_state=True, **kwargs):
    """`function(*args, **kwargs)`, keeping none of the activations inside it for backward.

    The outputs (a tensor or a tuple) are the plain run's. In backward `function` runs again on the
    saved inputs — with the random state of the first run restored when `preserve_rng_state` (so
    dropout masks repeat) and the modules' buffers put back afterwards (so batch-norm running
    statistics are updated once) — and the gradients of its arguments and of the parameters it holds
    come from that run, equal to the plain run's. A function with several tensor outputs runs again
    once for each output that receives a gradient, and the outputs' contributions to a gradient are
    then summed after the block's backward rather than before it (equal up to rounding).
    `use_reentrant` is accepted for PyTorch's signature; both values behave as PyTorch's
    non-reentrant variant (gradients also reach parameters through `convnet.autograd.grad`). The
    recomputation records no graph of its own gradients (no `create_graph` through a checkpoint).
    Without grad mode, or when nothing it reads requires grad, this is `function(*args, **kwargs)`.
    """
    if not _core.is_grad_enabled():
        return function(*args, **kwargs)
    leaves, modules = _leaves_of(function, args, kwargs)
    tensors = [a for a in args if isinstance(a, _core.Tensor)]
    if not any(t.requires_grad for t in tensors) and not leaves:
        return function(*args, **kwargs)
    rng = _core.get_rng_state() if preserve_rng_state else None
    autocast = _Autocast()
    out = _run_detached(function, args, kwargs, leaves)
    inputs = tensors + leaves

    def backward_for(k):
        def run(dy):
            current = _core.get_rng_state() if rng is not None else None
            try:
                if rng is not None:
                    _core.set_rng_state(rng)
                detached = [a.detach().requires_grad_(a.requires_grad) if isinstance(a, _core.Tensor) else a
                            for a in args]
                with enable_grad(), autocast, _KeptBuffers(modules):
                    again = _as_tuple(function(*detached, **kwargs))
            finally:
                if current is not None:
                    _core.set_rng_state(current)
            wrt = [d for d in detached if isinstance(d, _core.Tensor)] + leaves
            needed = [t for t in wrt if t.requires_grad]
            if not again[k].requires_grad or not needed:
                return tuple([None] * len(inputs))
            grads = iter(_core._grad([again[k]], needed, [dy], False, False, True))
            return tuple(next(grads) if t.requires_grad else None for t in wrt)
        return run

    outs = []
    for k, o in enumerate(_as_tuple(out)):
        if isinstance(o, _core.Tensor) and o.is_floating_point():
            o = _core._function_node(o, inputs, "checkpoint", backward_for(k))
        outs.append(o)
    return tuple(outs) if isinstance(out, tuple) else outs[0]


def checkpoint_sequential(functions, segments, input, use_reentrant=False, preserve_rng_state=True):
    """Runs a `Sequential` (or a list of modules or functions) in `segments` consecutive parts, each
    but the last under `checkpoint`: only the segments' inputs are kept for backward, and each
    segment runs forward again during backward (as `torch.utils.checkpoint.checkpoint_sequential`)."""
    mods = list(functions.children()) if isinstance(functions, _nn.Module) else list(functions)
    if not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a positive int, got {segments!r}")
    if not mods:
        return input
    segments = min(segments, len(mods))
    size = len(mods) // segments

    def run_segment(part):
        def forward(x):
            for m in part:
                x = m(x)
            return x
        return forward

    end = 0
    for start in range(0, size * (segments - 1), size):
        end = start + size
        input = checkpoint(run_segment(mods[start:end]), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve_rng_state)
    return run_segment(mods[end:])(input)

