"""Weight averaging, as torch.optim.swa_utils: `AveragedModel` for stochastic weight averaging
(SWA, an equal-weight average) and exponential moving averages (EMA, with
`get_ema_multi_avg_fn(decay)`), the `SWALR` schedule and `update_bn`.

convnet modules cannot be deep-copied (their layers live in C++), so an AveragedModel keeps its
own copies of the model's parameters and buffers and shares the model's layers: calling it runs
the model with the averaged tensors swapped in, and `with averaged.average_parameters():` does
the same around a block (an evaluation, a save); the model's own tensors are back afterwards.
`copy_to(model)` writes the averages into the model for good. Each average is updated by ops
that run in C++."""

import contextlib
import math

from .. import _core
from .._tensor import no_grad
from .lr_scheduler import LRScheduler, _per_group

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "get_swa_avg_fn",
           "get_swa_multi_avg_fn", "update_bn"]


def _check_decay(decay):
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"invalid decay value {decay!r}: expected a value in [0, 1]")


def _is_floating(t):
    return t.dtype in (_core.dtype.float32, _core.dtype.float64, _core.dtype.float16, _core.dtype.bfloat16)


def _average_into(avg, value):
    """avg <- value, in avg's dtype (an integer tensor takes the value truncated toward zero)."""
    avg.copy_(value.to(avg.dtype) if value.dtype != avg.dtype else value)


def get_ema_multi_avg_fn(decay=0.999):
    """In-place EMA of lists of tensors: ema <- lerp(ema, current, 1 - decay) (integer tensors:
    decay * ema + (1 - decay) * current, truncated)."""
    _check_decay(decay)

    def ema_update(ema_params, current_params, num_averaged):
        with no_grad():
            for e, c in zip(ema_params, current_params):
                if _is_floating(e):
                    e.copy_(e.lerp(c, 1 - decay))
                else:
                    _average_into(e, e.to(_core.dtype.float64) * decay + c.to(_core.dtype.float64) * (1 - decay))

    return ema_update


def get_swa_multi_avg_fn():
    """In-place equal-weight average of lists of tensors: avg <- lerp(avg, current, 1 / (n + 1))
    after n models were averaged."""

    def swa_update(averaged_params, current_params, num_averaged):
        w = 1.0 / (int(num_averaged) + 1)
        with no_grad():
            for a, c in zip(averaged_params, current_params):
                if _is_floating(a):
                    a.copy_(a.lerp(c, w))
                else:
                    a64 = a.to(_core.dtype.float64)
                    _average_into(a, a64 + (c.to(_core.dtype.float64) - a64) * w)

    return swa_update


def get_ema_avg_fn(decay=0.999):
    """EMA of one tensor: returns decay * ema + (1 - decay) * current."""
    _check_decay(decay)

    def ema_update(ema_param, current_param, num_averaged):
        return decay * ema_param + (1 - decay) * current_param

    return ema_update


def get_swa_avg_fn():
    """Equal-weight average of one tensor: returns avg + (current - avg) / (n + 1)."""

    def swa_update(averaged_param, current_param, num_averaged):
        return averaged_param + (current_param - averaged_param) / (int(num_averaged) + 1)

    return swa_update


class AveragedModel:
    """Running average of `model`'s parameters (SWA by default; EMA with
    `multi_avg_fn=get_ema_multi_avg_fn(decay)` or `avg_fn=get_ema_avg_fn(decay)`), as
    torch.optim.swa_utils.AveragedModel.

    `update_parameters(model)` folds the model's current parameters in (the first call copies
    them). With `use_buffers=True` the buffers (batch-norm statistics) are averaged as well;
    otherwise they follow the model's at each update, and `update_bn(loader, averaged)`
    recomputes them for the averaged weights. `device` keeps the averages there.
    `avg_fn(avg, current, n)` returns the new average of one tensor; `multi_avg_fn(avgs, currents,
    n)` updates lists of tensors of one device and dtype in place; n is the number of models
    averaged so far.

    The averages share `model`'s layers (see the module docstring): `averaged(x)` runs the model
    on them, `with averaged.average_parameters():` swaps them in around a block, `copy_to(model)`
    writes them into the model. `state_dict()` holds "module.<name>" for each parameter and buffer
    and "n_averaged", as PyTorch's; `parameters()` and `buffers()` are the averages."""

    def __init__(self, model, device=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        if avg_fn is not None and multi_avg_fn is not None:
            raise ValueError("AveragedModel: give only one of avg_fn and multi_avg_fn")
        self.model = model
        self.device = device
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers
        self._params = [(n, self._copy(p, device)) for n, p in model.named_parameters()]
        self._buffers = [(n, self._copy(b, device)) for n, b in model.named_buffers()]
        self.n_averaged = _core.tensor(0, dtype=_core.dtype.int64)
        self.training = model.training
        # the state dict's order: the model's (each module's parameters, then its buffers)
        mine = dict(self._params + self._buffers)
        self._state_order = [n for n in model.state_dict() if n in mine]

    @staticmethod
    def _copy(t, device):
        c = t.detach().clone()
        return c.to(device) if device is not None else c

    # ---- the averages -----------------------------------------------------------------------

    def parameters(self):
        return iter([p for _, p in self._params])

    def named_parameters(self):
        return iter(self._params)

    def buffers(self):
        return iter([b for _, b in self._buffers])

    def named_buffers(self):
        return iter(self._buffers)

    def update_parameters(self, model):
        """Folds `model`'s current parameters (and buffers with use_buffers) into the averages."""
        mine = [p for _, p in self._params] + ([b for _, b in self._buffers] if self.use_buffers else [])
        theirs = list(model.parameters()) + (list(model.buffers()) if self.use_buffers else [])
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} tensors to average, "
                             f"the averaged model {len(mine)}")
        theirs = [t.detach().to(a.device) for a, t in zip(mine, theirs)]
        n = int(self.n_averaged.item())
        with no_grad():
            if n == 0:
                for a, t in zip(mine, theirs):
                    a.copy_(t)
            elif self.avg_fn is not None:
                for a, t in zip(mine, theirs):
                    _average_into(a, self.avg_fn(a, t, n))
            else:
                fn = self.multi_avg_fn or get_swa_multi_avg_fn()
                groups = {}
                for a, t in zip(mine, theirs):
                    avgs, currents = groups.setdefault((str(a.device), str(a.dtype)), ([], []))
                    avgs.append(a)
                    currents.append(t)
                for avgs, currents in groups.values():
                    fn(avgs, currents, n)
            if not self.use_buffers:  # the buffers follow the model's
                for (_, b), mb in zip(self._buffers, model.buffers()):
                    b.copy_(mb.detach().to(b.device))
        self.n_averaged = _core.tensor(n + 1, dtype=_core.dtype.int64)

    # ---- running the model on the averages ------------------------------------------------

    @contextlib.contextmanager
    def average_parameters(self):
        """Runs the block with the averages in the model's parameters and buffers (in place of
        the model's own tensors, which come back at the end); the model's layers write into the
        averages meanwhile (batch-norm statistics in training mode, as update_bn does)."""
        own = list(self.model.parameters()) + list(self.model.buffers())
        avgs = self._tensors()
        if len(own) != len(avgs):
            raise ValueError(f"AveragedModel: the model now has {len(own)} parameters and buffers, the "
                             f"averages {len(avgs)}")
        saved = [t.data for t in own]
        for t, a in zip(own, avgs):
            t.data = a
        try:
            yield self.model
        finally:
            for t, s in zip(own, saved):
                t.data = s

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        was_training = self.model.training
        self.model.train(self.training)
        try:
            with self.average_parameters():
                return self.model(*args, **kwargs)
        finally:
            self.model.train(was_training)

    def copy_to(self, model=None):
        """Writes the averages into `model` (default: the model averaged), in place."""
        model = self.model if model is None else model
        with no_grad():
            for t, a in zip(list(model.parameters()) + list(model.buffers()), self._tensors()):
                t.copy_(a.to(t.device))

    def _tensors(self):
        """The averaged parameters, then the buffers."""
        return [t for _, t in self._params + self._buffers]

    def train(self, mode=True):
        self.training = mode
        return self

    def eval(self):
        return self.train(False)

    def to(self, device):
        """Moves the averages to `device` (the model's layers move with `model.to`)."""
        self._params = [(n, p.to(device)) for n, p in self._params]
        self._buffers = [(n, b.to(device)) for n, b in self._buffers]
        return self

    # ---- state --------------------------------------------------------------------------------

    def state_dict(self):
        mine = dict(self._params + self._buffers)
        sd = {"n_averaged": self.n_averaged.clone()}
        sd.update((f"module.{n}", mine[n].detach().clone()) for n in self._state_order)
        return sd

    def load_state_dict(self, state_dict):
        names = [n for n, _ in self._params + self._buffers]
        want = {f"module.{n}" for n in names} | {"n_averaged"}
        missing, unexpected = sorted(want - set(state_dict)), sorted(set(state_dict) - want)
        if missing or unexpected:
            raise KeyError(f"AveragedModel.load_state_dict: missing keys {missing}, unexpected keys {unexpected}")
        with no_grad():
            for n, t in self._params + self._buffers:
                v = state_dict[f"module.{n}"]
                v = v if isinstance(v, _core.Tensor) else _core.tensor(v)
                if tuple(v.shape) != tuple(t.shape):
                    raise ValueError(f"AveragedModel.load_state_dict: module.{n} has shape {tuple(v.shape)}, "
                                     f"expected {tuple(t.shape)}")
                t.copy_(v.to(t.device).to(t.dtype))
        n = state_dict["n_averaged"]
        self.n_averaged = _core.tensor(int(n.item() if isinstance(n, _core.Tensor) else n), dtype=_core.dtype.int64)

    def __repr__(self):
        return (f"AveragedModel(n_averaged={int(self.n_averaged.item())}, use_buffers={self.use_buffers},\n"
                f"  {self.model!r})")


def update_bn(loader, model, device=None):
    """Recomputes the running statistics of `model`'s batch-norm layers with one pass over
    `loader` (each batch a tensor, or a list or tuple whose first item is the input), in
    training mode with a cumulative average (momentum None), as torch.optim.swa_utils.update_bn.
    An AveragedModel gets the statistics of its averaged weights (into its buffers)."""
    if isinstance(model, AveragedModel):
        with model.average_parameters() as m:
            update_bn(loader, m, device)
        return
    momenta = {}
    for m in model.modules():
        if isinstance(m, _core.nn._BatchNorm):
            m.reset_running_stats()
            momenta[m] = m.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for m in momenta:
        m.momentum = None
    try:
        with no_grad():
            for batch in loader:
                x = batch[0] if isinstance(batch, (list, tuple)) else batch
                if not isinstance(x, _core.Tensor):
                    x = _core.tensor(x)
                if device is not None:
                    x = x.to(device)
                model(x)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneals each group's learning rate to `swa_lr` over `anneal_epochs` epochs ("cos" or
    "linear"), then keeps it, as torch.optim.swa_utils.SWALR (computed from the current rate, so
    it takes over from an earlier schedule where that one left the rate)."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for lr, g in zip(_per_group("SWALR: swa_lr", optimizer, swa_lr), optimizer.param_groups):
            g["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"SWALR: anneal_epochs must be an int >= 0, got {anneal_epochs!r}")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t):
        return t if self._anneal_strategy == "linear" else (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _initial_lr(lr, swa_lr, alpha):
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self._anneal(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev = [self._initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self._anneal(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev)]
