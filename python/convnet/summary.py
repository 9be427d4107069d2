"""convnet.summary: a Keras-style table of a model's layers."""

import numpy as np

from . import _core
from ._tensor import no_grad

_nn = _core.nn


def _macs(module, inp, out):
    """Multiply–accumulate count of one forward of `module` (bias additions not counted)."""
    if isinstance(module, _nn.Conv2d):
        kh, kw = module.kernel_size
        return out.numel() * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, _nn.Conv1d):
        return out.numel() * (module.in_channels // module.groups) * module.kernel_size[0]
    if isinstance(module, _nn.ConvTranspose2d):  # every input value meets out/groups * kh * kw weights
        kh, kw = module.kernel_size
        return inp.numel() * (module.out_channels // module.groups) * kh * kw
    if isinstance(module, _nn.Linear):
        return out.numel() * module.in_features
    return 0


class ModelSummary:
    """Rows of (name, type, output shape, parameters, MACs) and their totals; `str()` renders them."""

    def __init__(self, rows, total_params, trainable_params, total_macs, input_shape):
        self.rows = rows
        self.total_params = total_params
        self.trainable_params = trainable_params
        self.total_macs = total_macs
        self.input_shape = input_shape

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Param #", "MACs")
        body = [(f"{n} ({t})", str(tuple(s)), f"{p:,}", f"{m:,}") for n, t, s, p, m in self.rows]
        widths = [max(len(r[i]) for r in [head] + body) for i in range(4)]
        fmt = "  ".join(["{:<%d}" % widths[0]] + ["{:>%d}" % w for w in widths[1:]])
        rule = "=" * (sum(widths) + 6)
        out = [rule, fmt.format(*head), rule]
        out += [fmt.format(*r) for r in body]
        out += [rule,
                f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Non-trainable params: {self.total_params - self.trainable_params:,}",
                f"Total MACs: {self.total_macs:,} (for input shape {tuple(self.input_shape)})",
                rule]
        return "\n".join(out)

    def __repr__(self):
        return str(self)


def summary(model, input_shape, batch_size=1, print_fn=print):
    """Runs one forward pass of zeros shaped (batch_size, *input_shape) and tabulates
    each leaf layer's output shape, parameter count and multiply–accumulate count.

    Returns the ModelSummary (also printed through `print_fn` unless it is None).
    """
    rows = []
    handles = []

    def hook_for(name):
        def hook(module, inputs, output):
            params = sum(p.numel() for p in module.parameters(recurse=False))
            rows.append((name or type(module).__name__, type(module).__name__, output.shape, params,
                         _macs(module, inputs[0], output)))
        return hook

    for name, m in model.named_modules():
        if not m.children():
            handles.append(m.register_forward_hook(hook_for(name)))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(_core.zeros(*((batch_size,) + tuple(input_shape))))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = model.parameters()
    total = int(np.sum([p.numel() for p in params])) if params else 0
    trainable = int(np.sum([p.numel() for p in params if p.requires_grad])) if params else 0
    s = ModelSummary(rows, total, trainable, int(np.sum([r[4] for r in rows])) if rows else 0,
                     (batch_size,) + tuple(input_shape))
    if print_fn is not None:
        print_fn(str(s))
    return s
