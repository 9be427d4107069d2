"""Keras-style conveniences over the C++ training step: fit, evaluate, predict."""

import math
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


def _batch(batch):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("fit: each batch must be an (inputs, targets) pair")
    x, y = batch
    if not isinstance(x, _core.Tensor):
        x = _core.tensor(x)
    if not isinstance(y, _core.Tensor):
        y = _core.tensor(y)
    return x, y


def _forward(model, x):
    """model(x); for (N, V, C, H, W) inputs (several views of each image, as TenCrop gives) the
    model's outputs for the N*V views averaged over the views."""
    if x.ndim != 5:
        return model(x)
    n, v = x.shape[0], x.shape[1]
    out = model(x.reshape(n * v, *x.shape[2:]))
    return out.reshape(n, v, *out.shape[1:]).mean(1)


def _correct(out, y):
    """Number of rows of `out` whose argmax equals the integer target."""
    if y.dtype != _core.dtype.int64 or out.ndim != 2:
        return None
    return int((out.argmax(1) == y).sum().item())


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


class Trainer:
    """The state of one `fit` run, as callbacks see it (`callback.trainer`): model, optimizer,
    loaders, history, the current `epoch` of `epochs`, `stop_training` (set it to stop after this
    epoch) and `resumed` (the checkpoint path when the run resumed). `state_dict()` is what a
    checkpoint holds; `load_state_dict()` restores it, random states included."""

    def __init__(self, model, optimizer, train_loader, val_loader, epochs, callbacks):
        self.model = model
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
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
            "history": {"epoch": list(self.history.epoch),
                        "history": {k: list(v) for k, v in self.history.history.items()}},
            "rng": {"convnet": _core.get_rng_state(), "numpy": np.random.get_state(),
                    "python": random.getstate()},
            "train_loader": _loader_state(self.train_loader),
        }

    def load_state_dict(self, state):
        import random

        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        saved = state.get("callbacks", {})
        for key, cb in self._keyed_callbacks():
            if key in saved:
                cb.load_state_dict(saved[key])
        self.history = History()
        self.history.epoch = list(state["history"]["epoch"])
        self.history.history = {k: list(v) for k, v in state["history"]["history"].items()}
        self.epoch = state["epoch"]
        _core.set_rng_state(state["rng"]["convnet"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])
        _load_loader_state(self.train_loader, state.get("train_loader"))


def fit(model, train_loader, optimizer, loss=None, epochs=1, val_loader=None, verbose=True,
        callbacks=None, scheduler=None, scheduler_monitor="val_loss", resume_from=None):
    """Trains `model` for `epochs` passes over `train_loader` and returns a History.

    Each step runs forward, loss, backward and `optimizer.step()` in C++. A tqdm bar
    shows the running loss, accuracy and images/s when `verbose`. Raises
    NonFiniteLossError naming the epoch and step if the loss becomes NaN or infinite.
    The History holds per epoch `loss`, `accuracy` (integer targets), `lr` (group 0's rate during
    the epoch), `time`, and with a `val_loader` `val_loss` and `val_accuracy`.

    `callbacks`: `convnet.callbacks` objects (EarlyStopping, ModelCheckpoint, CSVLogger, …) or
    functions called as `fn(epoch, logs)` after each epoch. `scheduler`: a learning-rate schedule
    stepped after each epoch (ReduceLROnPlateau with the `scheduler_monitor` metric).
    `resume_from`: a checkpoint written by ModelCheckpoint; the model, optimizer, schedule,
    callbacks, History, loader epoch and random states are restored and training continues with
    the epoch after the saved one, up to `epochs` in all, giving the weights an uninterrupted run
    gives (same thread count).
    """
    from tqdm.auto import tqdm

    criterion = _loss_fn(loss)
    cbs = _as_callbacks(callbacks, scheduler, scheduler_monitor)
    trainer = Trainer(model, optimizer, train_loader, val_loader, epochs, cbs)
    if resume_from is not None:
        from .checkpoint import load_checkpoint

        trainer.load_state_dict(load_checkpoint(resume_from))
        trainer.resumed = resume_from
    history = trainer.history
    # callbacks of negative order (schedules, metrics of their own) see an epoch before the History logs it
    cbs_before_log = [cb for cb in cbs if cb.order < 0]
    cbs_after_log = [cb for cb in cbs if cb.order >= 0]
    batch_cbs = [cb for cb in cbs if type(cb).on_train_batch_end is not Callback.on_train_batch_end]
    for cb in cbs:
        cb.set_trainer(trainer)
        cb.on_train_begin()
    for epoch in range(trainer.epoch + 1, epochs + 1):
        trainer.epoch = epoch
        for cb in cbs:
            cb.on_epoch_begin(epoch)
        lr = optimizer.param_groups[0]["lr"] if optimizer.param_groups else None
        model.train()
        total_loss, total_correct, seen, counted = 0.0, 0, 0, 0
        start = time.perf_counter()
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=not verbose,
                   leave=True, dynamic_ncols=True)
        for step, batch in enumerate(bar, 1):
            x, y = _batch(batch)
            optimizer.zero_grad()
            out = model(x)
            l = criterion(out, y)
            value = l.item()
            if not math.isfinite(value):
                bar.close()
                raise NonFiniteLossError(
                    f"fit: the loss became {value} at epoch {epoch}, step {step} "
                    f"(batch shape {tuple(x.shape)}); lower the learning rate or check the data")
            l.backward()
            optimizer.step()
            n = x.shape[0]
            total_loss += value * n
            seen += n
            c = _correct(out, y)
            if c is not None:
                total_correct += c
                counted += n
            for cb in batch_cbs:
                cb.on_train_batch_end(step, {"loss": value})
            if verbose and (step % 20 == 0 or step == len(train_loader)):
                post = {"loss": f"{total_loss / seen:.4f}",
                        "img/s": f"{seen / (time.perf_counter() - start):.0f}"}
                if counted:
                    post["acc"] = f"{total_correct / counted:.4f}"
                bar.set_postfix(post, refresh=False)
        metrics = {"loss": total_loss / max(seen, 1)}
        if counted:
            metrics["accuracy"] = total_correct / counted
        metrics["time"] = time.perf_counter() - start
        if val_loader is not None:
            v = evaluate(model, val_loader, loss=criterion)
            metrics["val_loss"] = v["loss"]
            metrics["val_accuracy"] = v["accuracy"]
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


def evaluate(model, loader, loss=None):
    """Loss, top-1 `accuracy` and `top5` accuracy of `model` over `loader` (in eval mode).
    Batches of several views per image (N, V, C, H, W), as TenCrop gives, are scored by the model's
    outputs averaged over the views."""
    criterion = _loss_fn(loss)
    was_training = model.training
    model.eval()
    total_loss, top1, top5, seen = 0.0, 0, 0, 0
    try:
        with no_grad():
            for batch in loader:
                x, y = _batch(batch)
                out = _forward(model, x)
                total_loss += criterion(out, y).item() * x.shape[0]
                seen += x.shape[0]
                if y.dtype == _core.dtype.int64 and out.ndim == 2:
                    scores, labels = out.numpy(), y.numpy()
                    k = min(5, scores.shape[1])
                    best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
                    top5 += int((best == labels[:, None]).any(axis=1).sum())
                    top1 += int((scores.argmax(1) == labels).sum())
    finally:
        model.train(was_training)
    if seen == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    return {"loss": total_loss / seen, "accuracy": top1 / seen, "top5": top5 / seen}


def predict(model, x, batch_size=256):
    """Outputs of `model` for inputs `x` (array or tensor), batched, in eval mode, as a NumPy array.
    Inputs (N, V, C, H, W) of several views per image give the outputs averaged over the views."""
    if isinstance(x, _core.Tensor):
        x = x.detach().numpy()
    x = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    was_training = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for i in range(0, len(x), batch_size):
                outs.append(_forward(model, _core.from_numpy(x[i:i + batch_size])).numpy().copy())
    finally:
        model.train(was_training)
    return np.concatenate(outs) if outs else np.empty((0,), np.float32)
