"""Keras-style conveniences over the C++ training step: fit, evaluate, predict."""

import math
import os
import time

import numpy as np

from . import _core
from . import functional as F
from ._tensor import no_grad
from .callbacks import Callback, LambdaCallback, LRSchedulerCallback


class History:
    """Per-epoch metrics of `fit`: `history.history["loss"]`, `["accuracy"]`, `["val_loss"]`, …"""

    def __init__(self):
        self.history = {}
        self.epoch = []

    def _log(self, epoch, metrics):
        self.epoch.append(epoch)
        for k, v in metrics.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return self.history[key]

    def __len__(self):
        return len(self.epoch)

    def __repr__(self):
        return f"History({self.history})"


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def _loss_fn(loss):
    if loss is None or loss == "cross_entropy":
        return F.cross_entropy
    if loss == "mse":
        return F.mse_loss
    if callable(loss):
        return loss
    raise ValueError(f"fit: loss must be a callable (such as nn.CrossEntropyLoss()) or "
                     f"'cross_entropy'/'mse', got {loss!r}")


def _device(device, model):
    """The convnet.device that `device` names: None for the device of the model's parameters
    (the CPU for a model without any), "auto" for the GPU where there is one, else "cpu", "cuda",
    "cuda:N" or a convnet.device."""
    if device is None:
        p = next(iter(model.parameters()), None)
        return p.device if p is not None else _core.device("cpu")
    if isinstance(device, _core.device):
        return device
    if device == "auto":
        return _core.device("cuda" if _core.cuda.is_available() else "cpu")
    if not isinstance(device, str):
        raise TypeError(f"device must be None, 'auto', 'cpu', 'cuda', 'cuda:N' or a convnet.device, "
                        f"got {type(device).__name__}")
    return _core.device(device)


def _to(t, device):
    """t on `device`; the copy from pinned memory (a DataLoader with pin_memory=True) is
    asynchronous."""
    if t.device == device:
        return t
    return t.to(device, non_blocking=t.is_pinned())


def _batch(batch, device):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("fit: each batch must be an (inputs, targets) pair")
    x, y = batch
    if not isinstance(x, _core.Tensor):
        x = _core.tensor(x)
    if not isinstance(y, _core.Tensor):
        y = _core.tensor(y)
    return _to(x, device), _to(y, device)


_AMP_DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}


def _amp(amp, device):
    """(autocast context factory or None, GradScaler or None) for fit's `amp` argument: None/False
    off, True/"bf16" bfloat16 autocast, "fp16" float16 autocast with a GradScaler."""
    if amp is None or amp is False:
        return None, None
    name = "bfloat16" if amp is True else _AMP_DTYPES.get(amp) if isinstance(amp, str) else None
    if name is None:
        raise ValueError(f"fit: amp must be None, False, True, 'bf16' or 'fp16', got {amp!r}")
    import convnet

    dtype = getattr(convnet, name)
    scaler = convnet.amp.GradScaler() if name == "float16" else None
    return (lambda: convnet.autocast(device.type, dtype=dtype)), scaler


class _StepLog:
    """The training steps' losses and correct counts, read from the device into the epoch's
    totals. `lazy` (a GPU) keeps them on the device until flush(), so that steps are not
    serialized by a read each; otherwise each is read as it is added (before backward)."""

    def __init__(self, epoch, lazy, batch_cbs):
        self.epoch, self.lazy, self.batch_cbs = epoch, lazy, batch_cbs
        self.pending = []
        self.total_loss, self.total_correct, self.seen, self.counted = 0.0, 0, 0, 0

    def add(self, step, shape, loss, correct):
        self.pending.append((step, shape, loss.detach(), correct))
        if not self.lazy:
            self.flush()

    def flush(self):
        pending, self.pending = self.pending, []
        for step, shape, loss, correct in pending:
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(
                    f"fit: the loss became {value} at epoch {self.epoch}, step {step} "
                    f"(batch shape {tuple(shape)}); lower the learning rate or check the data")
            n = shape[0]
            self.total_loss += value * n
            self.seen += n
            if correct is not None:
                self.total_correct += int(correct.item())
                self.counted += n
            for cb in self.batch_cbs:
                cb.on_train_batch_end(step, {"loss": value})


def _forward(model, x):
    """model(x); for (N, V, C, H, W) inputs (several views of each image, as TenCrop gives) the
    model's outputs for the N*V views averaged over the views."""
    if x.ndim != 5:
        return model(x)
    n, v = x.shape[0], x.shape[1]
    out = model(x.reshape(n * v, *x.shape[2:]))
    return out.reshape(n, v, *out.shape[1:]).mean(1)


def _correct(out, y):
    """Number of rows of `out` whose argmax equals the integer target, as a tensor on their device."""
    if y.dtype != _core.dtype.int64 or out.ndim != 2:
        return None
    return (out.argmax(1) == y).sum()


def _as_callbacks(callbacks, scheduler, scheduler_monitor):
    """Callback objects in the order `fit` calls them: a schedule first, checkpoints last, the
    given order otherwise; plain functions become LambdaCallback(on_epoch_end=fn)."""
    cbs = []
    if scheduler is not None:
        cbs.append(LRSchedulerCallback(scheduler, monitor=scheduler_monitor))
    for cb in callbacks or ():
        if isinstance(cb, Callback):
            cbs.append(cb)
        elif callable(cb):
            cbs.append(LambdaCallback(on_epoch_end=cb))
        else:
            raise TypeError(f"fit: callbacks must be Callback objects or functions (epoch, logs), "
                            f"got {type(cb).__name__}")
    return sorted(cbs, key=lambda cb: cb.order)


def _rng_holders(loader):
    """The loader and what decides its epochs' draws (its samplers and their epoch generators), in a
    fixed order."""
    out, stack, seen = [], [loader], set()
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in seen or isinstance(obj, (int, float, str, np.ndarray)):
            continue
        seen.add(id(obj))
        out.append(obj)
        stack += [getattr(obj, a, None) for a in ("_rng", "batch_sampler", "sampler")]
    return out


def _loader_state(loader):
    """What a loader needs to repeat its next epochs: its own `state_dict()` where it has one, else
    the epoch counters (which seed the shuffles and augmentations of seeded loaders and samplers) and
    NumPy generators of the loader and its samplers."""
    if hasattr(loader, "state_dict"):
        return {"state_dict": loader.state_dict()}
    state = []
    for obj in _rng_holders(loader):
        entry = {a: getattr(obj, a) for a in ("_epoch", "epoch")
                 if isinstance(getattr(obj, a, None), int) and not isinstance(getattr(obj, a), bool)}
        if isinstance(getattr(obj, "generator", None), np.random.Generator):
            entry["generator"] = obj.generator.bit_generator.state
        state.append(entry)
    return {"counters": state}


def _load_loader_state(loader, state):
    if state is None:
        return
    if "state_dict" in state:
        loader.load_state_dict(state["state_dict"])
        return
    holders = _rng_holders(loader)
    if len(holders) != len(state["counters"]):
        raise ValueError("fit: the train loader is not built as the one whose state the checkpoint holds "
                         f"({len(holders)} loader/sampler objects, the checkpoint has {len(state['counters'])})")
    for obj, entry in zip(holders, state["counters"]):
        for a, v in entry.items():
            if a == "generator":
                obj.generator.bit_generator.state = v
            else:
                setattr(obj, a, v)


# The entries of a training checkpoint (Trainer.state_dict) that resuming reads: key -> (types, what)
_RESUME_KEYS = {
    "epoch": (int, "the number of epochs done (an int)"),
    "model": (dict, "the model's state dict"),
    "optimizer": (dict, "the optimizer's state dict"),
    "history": (dict, "the History ({'epoch': [...], 'history': {...}})"),
    "rng": (dict, "the random states ({'convnet', 'numpy', 'python'})"),
}


def _check_resume_state(state, path):
    """Raises CheckpointError naming the first entry of a checkpoint that `fit` cannot resume from."""
    from .checkpoint import CheckpointError

    def bad(key, what, got):
        return CheckpointError(f"fit: resume_from={os.fspath(path)}: the checkpoint's {key!r} is {got}, expected "
                               f"{what}")

    for key, (kind, what) in _RESUME_KEYS.items():
        if key not in state:
            raise bad(key, what, "missing")
        if not isinstance(state[key], kind) or isinstance(state[key], bool):
            raise bad(key, what, f"a {type(state[key]).__name__}")
    if state["epoch"] < 0:
        raise bad("epoch", _RESUME_KEYS["epoch"][1], str(state["epoch"]))
    h = state["history"]
    if not isinstance(h.get("epoch"), list) or not isinstance(h.get("history"), dict) or not all(
            isinstance(v, list) for v in h["history"].values()):
        raise bad("history", _RESUME_KEYS["history"][1], repr(h)[:80])
    rng = state["rng"]
    for key, kind in (("convnet", _core.Tensor), ("numpy", tuple), ("python", tuple)):
        if not isinstance(rng.get(key), kind):
            raise bad(f"rng.{key}", f"a {kind.__name__}", "missing" if key not in rng else
                      f"a {type(rng[key]).__name__}")


def _unwrap(model):
    """The module inside a DistributedDataParallel wrapper, else the model itself."""
    from .nn.parallel import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _sum_over_ranks(values):
    """The sums over the ranks of a distributed run of a list of numbers (the numbers themselves in
    a single process)."""
    from . import distributed as dist

    if dist.get_world_size() == 1:
        return list(values)
    a = np.array(values, np.float64)
    dist.all_reduce(_core.from_numpy(a))
    return a.tolist()


def _set_epoch(loader, epoch):
    """Tells the DistributedSamplers of a loader which epoch starts, so their shuffles differ."""
    from .data import DistributedSampler

    for obj in _rng_holders(loader):
        if isinstance(obj, DistributedSampler):
            obj.set_epoch(epoch)


class Trainer:
    """The state of one `fit` run, as callbacks see it (`callback.trainer`): model, optimizer,
    loaders, history, the current `epoch` of `epochs`, `stop_training` (set it to stop after this
    epoch) and `resumed` (the checkpoint path when the run resumed). `state_dict()` is what a
    checkpoint holds; `load_state_dict()` restores it, random states included."""

    def __init__(self, model, optimizer, train_loader, val_loader, epochs, callbacks, device=None, scaler=None,
                 ema=None):
        self.model = model
        self.ema = ema
        self.module = _unwrap(model)
        self.device = device
        self.scaler = scaler
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.callbacks = callbacks
        self.history = History()
        self.epoch = 0
        self.stop_training = False
        self.resumed = None

    def _keyed_callbacks(self):
        seen = {}
        for cb in self.callbacks:
            name = type(cb).__name__
            seen[name] = seen.get(name, -1) + 1
            yield (name if seen[name] == 0 else f"{name}_{seen[name]}"), cb

    def state_dict(self):
        import random

        return {
            "epoch": self.epoch,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
            "history": {"epoch": list(self.history.epoch),
                        "history": {k: list(v) for k, v in self.history.history.items()}},
            "rng": {"convnet": _core.get_rng_state(), "numpy": np.random.get_state(),
                    "python": random.getstate()},
            "train_loader": _loader_state(self.train_loader),
            **({"scaler": self.scaler.state_dict()} if self.scaler is not None else {}),
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
        }

    def load_state_dict(self, state):
        import random

        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        saved = state.get("callbacks", {})
        for key, cb in self._keyed_callbacks():
            if key in saved:
                cb.load_state_dict(saved[key])
        self.history = History()
        self.history.epoch = list(state["history"]["epoch"])
        self.history.history = {k: list(v) for k, v in state["history"]["history"].items()}
        self.epoch = state["epoch"]
        _core.set_rng_state(state["rng"]["convnet"].cpu())
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        _load_loader_state(self.train_loader, state.get("train_loader"))
        if self.scaler is not None and "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])


def fit(model, train_loader, optimizer, loss=None, epochs=1, val_loader=None, verbose=True,
        callbacks=None, scheduler=None, scheduler_monitor="val_loss", resume_from=None, device=None, amp=None,
        metrics=None, check_memory=True, accumulate_grad_batches=1, clip_grad_norm=None, ema=None):
    """Trains `model` for `epochs` passes over `train_loader` and returns a History.

    Each step runs forward, loss, backward and `optimizer.step()` in C++. A tqdm bar
    shows the running loss, accuracy and images/s when `verbose`. Raises
    NonFiniteLossError naming the epoch and step if the loss becomes NaN or infinite.
    The History holds per epoch `loss`, `accuracy` (integer targets), `lr` (group 0's rate during
    the epoch), `time`, and with a `val_loader` `val_loss` and `val_accuracy`.

    `device`: where to train: "cpu", "cuda", "cuda:N", "auto" (the GPU where there is one), or None
    (the default: where the model's parameters are, the CPU for a new model). The model moves there
    in place (the optimizer keeps its parameters, its state follows them) and so does each batch,
    asynchronously from a DataLoader with pin_memory=True. On a GPU the losses and accuracies are
    read back every 20 steps (each step when there are batch callbacks), so a non-finite loss is
    reported up to 19 steps late; on the CPU each loss is checked before its backward pass.
    `amp`: mixed precision: True or "bf16" runs forward and loss under
    `convnet.autocast(device_type, dtype=convnet.bfloat16)`; "fp16" under float16 with a
    `convnet.amp.GradScaler` scaling the loss (its state goes into checkpoints).

    `metrics`: more validation metrics, as `evaluate` takes them, logged as `val_<name>`.
    `accumulate_grad_batches`: k > 1 sums the gradients of k batches before each optimizer step
    (each batch's loss scaled by 1/k, so k batches of B images step as one batch of k*B with a
    mean loss); the last group of an epoch, when fewer than k batches are left, is stepped too,
    its losses scaled by 1/(its size) where the loader has a length. `clip_grad_norm`: before
    each step the gradients are scaled so that their total L2 norm is at most this
    (`convnet.nn.utils.clip_grad_norm_` over the model's parameters; with "fp16" after the
    GradScaler unscales them). `ema`: a `convnet.optim.swa_utils.AveragedModel` of `model`
    (`AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.999))` for an EMA of the
    weights) updated after every optimizer step; `val_loss` and `val_accuracy` are then those of
    the averaged weights, the averages go into checkpoints, and after fit `ema.copy_to(model)`
    puts them in the model (which keeps its own trained weights until then).

    `callbacks`: `convnet.callbacks` objects (EarlyStopping, ModelCheckpoint, CSVLogger, …) or
    functions called as `fn(epoch, logs)` after each epoch. `scheduler`: a learning-rate schedule
    stepped after each epoch (ReduceLROnPlateau with the `scheduler_monitor` metric).
    `resume_from`: a checkpoint written by ModelCheckpoint; the model, optimizer, schedule,
    callbacks, History, loader epoch and random states are restored (onto `device`) and training
    continues with the epoch after the saved one, up to `epochs` in all, giving the weights an
    uninterrupted run gives (same thread count).

    `check_memory`: before the first step, the memory of a training step at the first batch's size
    (`convnet.summary.estimate_memory`, measured on two small slices of that batch) is compared with
    the memory available (MemAvailable and the cgroup's limit, or `CONVNET_MEMORY_AVAILABLE`; the
    GPU's free memory on CUDA); when it does not fit, `InsufficientMemoryError` (a MemoryError) is
    raised before any step, naming both figures and the batch size that would fit. False skips the
    check (it is also skipped for a DistributedDataParallel model).

    Distributed (`model` a `convnet.nn.parallel.DistributedDataParallel`, one process per rank):
    each rank trains on the batches of its own loader (a `DistributedSampler` gives each its shard;
    fit calls its `set_epoch` each epoch), the metrics are summed over the ranks, only rank 0 shows
    the progress bar and prints, only rank 0 writes checkpoints and logs, and checkpoints hold the
    wrapped module's state, so a run resumes under any number of processes (each reads the file).
    """
    from tqdm.auto import tqdm

    criterion = _loss_fn(loss)
    extra_metrics = _check_metrics("fit", metrics)
    if extra_metrics and val_loader is None:
        raise ValueError("fit: metrics are computed on the validation set; pass a val_loader")
    dev = _device(device, model)
    autocast, scaler = _amp(amp, dev)
    if not isinstance(accumulate_grad_batches, int) or accumulate_grad_batches < 1:
        raise ValueError(f"fit: accumulate_grad_batches must be an int >= 1, got {accumulate_grad_batches!r}")
    if clip_grad_norm is not None and not clip_grad_norm > 0:
        raise ValueError(f"fit: clip_grad_norm must be None or a positive number, got {clip_grad_norm!r}")
    model.to(dev)
    if ema is not None and ema.device is None:  # the averages follow the model
        ema.to(dev)
    from . import distributed as dist

    verbose = verbose and dist.get_rank() == 0
    cbs = _as_callbacks(callbacks, scheduler, scheduler_monitor)
    trainer = Trainer(model, optimizer, train_loader, val_loader, epochs, cbs, dev, scaler, ema)
    k = accumulate_grad_batches
    from .nn.utils import clip_grad_norm_

    def optimizer_step():
        if clip_grad_norm is not None:
            if scaler is not None:
                scaler.unscale_(optimizer)
            clip_grad_norm_(model.parameters(), clip_grad_norm)
        if scaler is None:
            optimizer.step()
        else:
            scaler.step(optimizer)
            scaler.update()
        if ema is not None:
            ema.update_parameters(trainer.module)

    if resume_from is not None:
        from .checkpoint import CheckpointError, load_checkpoint

        state = load_checkpoint(resume_from)
        _check_resume_state(state, resume_from)
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError, OverflowError, AttributeError, IndexError, RuntimeError) as e:
            raise CheckpointError(f"fit: resume_from={os.fspath(resume_from)}: the checkpoint does not fit this "
                                  f"run: {type(e).__name__}: {e}") from e
        trainer.resumed = resume_from
    history = trainer.history
    # callbacks of negative order (schedules, metrics of their own) see an epoch before the History logs it
    cbs_before_log = [cb for cb in cbs if cb.order < 0]
    cbs_after_log = [cb for cb in cbs if cb.order >= 0]
    batch_cbs = [cb for cb in cbs if cb.wants_batches()]
    lazy = dev.type != "cpu" and not batch_cbs
    check_memory = check_memory and trainer.module is model
    for cb in cbs:
        cb.set_trainer(trainer)
        cb.on_train_begin()
    for epoch in range(trainer.epoch + 1, epochs + 1):
        trainer.epoch = epoch
        for cb in cbs:
            cb.on_epoch_begin(epoch)
        lr = optimizer.param_groups[0]["lr"] if optimizer.param_groups else None
        model.train()
        _set_epoch(train_loader, epoch)
        log = _StepLog(epoch, lazy, batch_cbs)
        n_batches = len(train_loader) if hasattr(train_loader, "__len__") else None
        start = time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=not verbose,
                   leave=True, dynamic_ncols=True)
        try:
            step = 0
            for step, batch in enumerate(bar, 1):
                x, y = _batch(batch, dev)
                if check_memory:
                    from .summary import check_memory as check_step_memory

                    check_step_memory(model, x.shape[0], optimizer, loss=criterion, device=dev, sample=(x, y))
                    check_memory = False
                if (step - 1) % k == 0:
                    optimizer.zero_grad()
                    # the losses of a group of k batches (fewer at the end of the epoch) are averaged
                    group = k if n_batches is None else min(k, n_batches - step + 1)
                if autocast is None:
                    out = model(x)
                    l = criterion(out, y)
                else:
                    with autocast():
                        out = model(x)
                        l = criterion(out, y)
                log.add(step, x.shape, l, _correct(out, y))
                if group > 1:
                    l = l * (1.0 / group)
                if scaler is None:
                    l.backward()
                else:
                    scaler.scale(l).backward()
                if step % k == 0:
                    optimizer_step()
                if step % 20 == 0 or step == n_batches:
                    log.flush()
                    if verbose:
                        post = {"loss": f"{log.total_loss / log.seen:.4f}",
                                "img/s": f"{log.seen * dist.get_world_size() / (time.perf_counter() - start):.0f}"}
                        if log.counted:
                            post["acc"] = f"{log.total_correct / log.counted:.4f}"
                        bar.set_postfix(post, refresh=False)
            if step % k != 0:  # a last, partial group of batches
                optimizer_step()
            log.flush()
        finally:
            bar.close()
        total_loss, seen, total_correct, counted = _sum_over_ranks(
            [log.total_loss, log.seen, log.total_correct, log.counted])
        metrics = {"loss": total_loss / max(seen, 1)}
        if counted:
            metrics["accuracy"] = total_correct / counted
        metrics["time"] = time.perf_counter() - start
        if val_loader is not None:
            v = evaluate(model if ema is None else ema, val_loader, loss=criterion, device=dev, metrics=extra_metrics)
            metrics["val_loss"] = v["loss"]
            metrics["val_accuracy"] = v["accuracy"]
            metrics.update({f"val_{k}": v[k] for k in extra_metrics or {}})
            if verbose:
                print(f"epoch {epoch}/{epochs}: loss {metrics['loss']:.4f}, val_loss {v['loss']:.4f}, "
                      f"val_accuracy {v['accuracy']:.4f}")
        if lr is not None:
            metrics["lr"] = lr
        for cb in cbs_before_log:
            cb.on_epoch_end(epoch, metrics)
        history._log(epoch, metrics)
        for cb in cbs_after_log:
            cb.on_epoch_end(epoch, metrics)
        if trainer.stop_training:
            break
    for cb in cbs:
        cb.on_train_end()
    return history


def _check_metrics(who, metrics):
    """The {name: fn(output, target)} of `metrics` (None stays None)."""
    if metrics is None:
        return None
    if not isinstance(metrics, dict) or not all(isinstance(k, str) and callable(f) for k, f in metrics.items()):
        raise TypeError(f"{who}: metrics must be a dict of name -> fn(output, target) (such as "
                        f"{{'f1': functools.partial(convnet.metrics.f1_score, average='macro')}}), got {metrics!r}")
    clash = sorted(set(metrics) & {"loss", "accuracy", "top5"})
    if clash:
        raise ValueError(f"{who}: metric name(s) {clash} are taken by the built-in metrics")
    return metrics


def _gathered(parts):
    """The concatenation of every rank's list of arrays (this process's alone when not distributed)."""
    from . import distributed as dist

    if dist.get_world_size() > 1:
        every = []
        dist.all_gather_object(every, parts)
        parts = [a for rank_parts in every for a in rank_parts]
    return np.concatenate(parts)


def evaluate(model, loader, loss=None, device=None, metrics=None):
    """Loss, top-1 `accuracy` and `top5` accuracy of `model` over `loader` (in eval mode); in a
    distributed run, over the batches of every rank's loader.
    Batches of several views per image (N, V, C, H, W), as TenCrop gives, are scored by the model's
    outputs averaged over the views. `device` as for `fit` (default: where the model is).
    `metrics`: a dict of name -> fn(output, target), called once with the outputs and targets of
    the whole loader (NumPy arrays; of every rank) and added to the result under its name, e.g.
    `{"f1": functools.partial(convnet.metrics.f1_score, average="macro")}`."""
    criterion = _loss_fn(loss)
    metrics = _check_metrics("evaluate", metrics)
    outputs, targets = [], []
    dev = _device(device, model)
    model.to(dev)
    was_training = model.training
    model.eval()
    total_loss, top1, top5, seen = 0.0, 0, 0, 0
    try:
        with no_grad():
            for batch in loader:
                x, y = _batch(batch, dev)
                out = _forward(model, x)
                total_loss += criterion(out, y).item() * x.shape[0]
                seen += x.shape[0]
                if metrics:
                    outputs.append(out.float().cpu().numpy().copy())
                    targets.append(y.cpu().numpy().copy())
                if y.dtype == _core.dtype.int64 and out.ndim == 2:
                    scores, labels = out.cpu().numpy(), y.cpu().numpy()
                    k = min(5, scores.shape[1])
                    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
                    top5 += int((best == labels[:, None]).any(axis=1).sum())
                    top1 += int((scores.argmax(1) == labels).sum())
    finally:
        model.train(was_training)
    total_loss, top1, top5, seen = _sum_over_ranks([total_loss, top1, top5, seen])
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    result = {"loss": total_loss / seen, "accuracy": top1 / seen, "top5": top5 / seen}
    if metrics:
        output, target = _gathered(outputs), _gathered(targets)
        result.update({name: fn(output, target) for name, fn in metrics.items()})
    return result


def predict(model, x, batch_size=256, device=None):
    """Outputs of `model` for inputs `x` (array or tensor), batched, in eval mode, as a NumPy array.
    Inputs (N, V, C, H, W) of several views per image give the outputs averaged over the views.
    `device` as for `fit` (default: where the model is)."""
    if isinstance(x, _core.Tensor):
        x = x.detach().cpu().numpy()
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    dev = _device(device, model)
    model.to(dev)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(x), batch_size):
                xb = _to(_core.from_numpy(x[i:i + batch_size]), dev)
                outs.append(_forward(model, xb).cpu().numpy().copy())
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.empty((0,), np.float32)
