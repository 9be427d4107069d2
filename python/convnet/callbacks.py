"""Callbacks for `convnet.fit` (as Keras's): EarlyStopping, ModelCheckpoint, LRSchedulerCallback,
CSVLogger, TensorBoard and LambdaCallback.

Epochs are numbered from 1, as in the History that `fit` returns. At the end of each epoch `fit`
calls `on_epoch_end(epoch, logs)` of every callback, ordered by their `order` (schedules first,
checkpoints last, so a checkpoint holds the other callbacks' updated state), with the epoch's
metrics (`loss`, `accuracy`, `val_loss`, `val_accuracy`, `lr`, `time`) as `logs`; the History
logs them after the callbacks of negative order (which may add metrics of their own) and before
the others. Training stops after the epoch if a callback set `self.trainer.stop_training`. A callback's `state_dict()` goes into
the checkpoints that ModelCheckpoint writes and comes back through `fit(..., resume_from=path)`."""

import itertools
import math
import os
import warnings

from . import _core

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LRSchedulerCallback", "LambdaCallback",
           "ModelCheckpoint", "TensorBoard"]


def _writes_files():
    """Whether this process writes the files of callbacks: rank 0 of a distributed run (every rank
    holds the same model and metrics), or the only process."""
    from . import distributed

    return distributed.get_rank() == 0


class Callback:
    """Base class. `self.trainer` (set by `fit`) has `model`, `optimizer`, `history`, `epoch`,
    `epochs`, `stop_training` and `state_dict()` (the whole training state, as checkpoints hold
    it). Override any of the hooks; `on_train_batch_end` is called only where `wants_batches()` (by
    default: where the subclass overrides it)."""

    order = 0
    trainer = None

    @property
    def model(self):
        """The trained model (the module inside a DistributedDataParallel wrapper)."""
        return self.trainer.module

    def set_trainer(self, trainer):
        self.trainer = trainer

    def on_train_begin(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, step, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def wants_batches(self):
        """Whether `fit` calls `on_train_batch_end` (which makes a GPU run read each step's loss):
        where the subclass overrides it."""
        return type(self).on_train_batch_end is not Callback.on_train_batch_end

    def state_dict(self):
        return {}

    def load_state_dict(self, state_dict):
        pass


class LambdaCallback(Callback):
    """A callback from functions: `on_epoch_end(epoch, logs)`, `on_epoch_begin(epoch, logs)`,
    `on_train_begin(logs)`, `on_train_end(logs)`. A plain function in `fit(callbacks=...)` becomes
    `LambdaCallback(on_epoch_end=fn)`."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None):
        self._fns = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                     "on_train_begin": on_train_begin, "on_train_end": on_train_end}

    def on_train_begin(self, logs=None):
        if self._fns["on_train_begin"]:
            self._fns["on_train_begin"](logs)

    def on_epoch_begin(self, epoch, logs=None):
        if self._fns["on_epoch_begin"]:
            self._fns["on_epoch_begin"](epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._fns["on_epoch_end"]:
            self._fns["on_epoch_end"](epoch, logs)

    def on_train_end(self, logs=None):
        if self._fns["on_train_end"]:
            self._fns["on_train_end"](logs)


def _mode(who, mode, monitor):
    if mode == "auto":
        return "max" if "acc" in monitor or monitor.endswith("top5") else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode must be 'min', 'max' or 'auto', got {mode!r}")
    return mode


def _monitored(who, monitor, logs):
    """logs[monitor], or None (with a warning naming the available metrics) when it is absent."""
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{who}: metric {monitor!r} is not available (have: "
                      f"{', '.join(sorted(logs or {}))}); nothing done this epoch", stacklevel=3)
    return value


class EarlyStopping(Callback):
    """Stops training when `monitor` has not improved by more than `min_delta` for `patience`
    epochs (Keras's rules: with patience=0 the first epoch without improvement stops). `mode`
    'min', 'max' or 'auto' (max for accuracies). `baseline`: the wait only resets once the metric
    beats it. With `restore_best_weights`, the model gets back the weights of its best epoch when
    training ends. `stopped_epoch` and `best_epoch` tell what happened (0 if nothing)."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=False, mode="auto",
                 baseline=None, restore_best_weights=False):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self.monitor = monitor
        self.min_delta = abs(min_delta)
        self.patience = patience
        self.verbose = verbose
        self.mode = _mode("EarlyStopping", mode, monitor)
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = 0
        self.best_weights = None

    def _improves(self, value, reference):
        if self.mode == "min":
            return value < reference - self.min_delta
        return value > reference + self.min_delta

    def on_train_begin(self, logs=None):
        if self.trainer is None or self.trainer.resumed is None:
            self._reset()

    def on_epoch_end(self, epoch, logs=None):
        value = _monitored("EarlyStopping", self.monitor, logs)
        if value is None:
            return
        self.wait += 1
        if self._improves(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in self.model.state_dict().items()}
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.verbose:
                print(f"EarlyStopping: {self.monitor} has not improved for {self.wait} epoch(s); "
                      f"stopping after epoch {epoch} (best {self.best:.6g} at epoch {self.best_epoch})")

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"EarlyStopping: restored the weights of epoch {self.best_epoch}")

    def state_dict(self):
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
                "best_epoch": self.best_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state_dict):
        for k in ("wait", "stopped_epoch", "best", "best_epoch", "best_weights"):
            setattr(self, k, state_dict[k])


class LRSchedulerCallback(Callback):
    """Steps a learning-rate schedule: once per epoch (`interval="epoch"`) or after every batch
    (`interval="step"`, for OneCycleLR). ReduceLROnPlateau is stepped with the epoch's `monitor`
    metric. `fit(scheduler=s)` adds `LRSchedulerCallback(s)`."""

    order = -10

    def __init__(self, scheduler, monitor="val_loss", interval="epoch"):
        if interval not in ("epoch", "step"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'step', got {interval!r}")
        from .optim.lr_scheduler import ReduceLROnPlateau

        self.scheduler = scheduler
        self.monitor = monitor
        self.interval = interval
        self._plateau = isinstance(scheduler, ReduceLROnPlateau)
        if self._plateau and interval == "step":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch, with a metric")

    def on_train_batch_end(self, step, logs=None):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval != "epoch":
            return
        if not self._plateau:
            self.scheduler.step()
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"LRSchedulerCallback: ReduceLROnPlateau monitors {self.monitor!r}, which "
                             f"the epoch did not log (have: {', '.join(sorted(logs or {}))}); pass "
                             f"a val_loader or another monitor")
        self.scheduler.step(value)

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state_dict):
        self.scheduler.load_state_dict(state_dict["scheduler"])


def _atomic_write_text(path, text):
    """Writes `text` (UTF-8) to `path` atomically (a temporary file beside it, fsync, rename)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _core._write_file_atomic(os.fspath(path), text.encode(), "CSVLogger")


class CSVLogger(Callback):
    """Writes the History as CSV after each epoch: a header `epoch,<metrics…>` and one row per epoch
    (the whole file is rewritten atomically, so after `resume_from` it holds every epoch)."""

    def __init__(self, filename, separator=","):
        self.filename = os.fspath(filename)
        self.separator = separator

    def on_epoch_end(self, epoch, logs=None):
        if not _writes_files():
            return
        h = self.trainer.history
        keys = list(h.history)
        lines = [self.separator.join(["epoch"] + keys)]
        for i, e in enumerate(h.epoch):
            row = [str(e)] + [repr(h.history[k][i]) if i < len(h.history[k]) else "" for k in keys]
            lines.append(self.separator.join(row))
        _atomic_write_text(self.filename, "\n".join(lines) + "\n")


class ModelCheckpoint(Callback):
    """Saves checkpoints after each epoch.

    `filepath` may hold `{epoch}` and metric fields (`"ckpt/epoch{epoch:02d}-{val_loss:.3f}.ckpt"`);
    `dirpath` alone means `dirpath/epoch{epoch:03d}.ckpt`, or `dirpath/best.ckpt` with
    `save_best_only`. With `save_best_only` a file is written only when `monitor` improves ('min',
    'max' or 'auto' mode). `save_last` also writes `last.ckpt` beside them every epoch, the file to
    resume from. A checkpoint holds the model, optimizer, schedule and callback states, the epoch,
    the History and every random state (`fit(..., resume_from=path)` continues from it);
    `save_weights_only` writes the model's state dict alone (for `convnet.load`). Files are written
    to a temporary name and renamed. `best_model_path`, `best_score` and `last_model_path` say
    what was written."""

    order = 10

    def __init__(self, filepath=None, monitor="val_loss", verbose=False, save_best_only=False,
                 mode="auto", save_last=False, save_weights_only=False, dirpath=None):
        if filepath is None and dirpath is None:
            raise ValueError("ModelCheckpoint: give a filepath or a dirpath")
        if filepath is None:
            filepath = "best.ckpt" if save_best_only else "epoch{epoch:03d}.ckpt"
        if dirpath is not None:
            filepath = os.path.join(os.fspath(dirpath), os.fspath(filepath))
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.mode = _mode("ModelCheckpoint", mode, monitor)
        self.save_last = save_last
        self.save_weights_only = save_weights_only
        self.best_score = None
        self.best_model_path = None
        self.last_model_path = None

    def _write(self, path):
        if not _writes_files():
            return
        if self.save_weights_only:
            from .serialization import save

            folder = os.path.dirname(os.path.abspath(path))
            os.makedirs(folder, exist_ok=True)
            save(self.model.state_dict(), path)
        else:
            from .checkpoint import save_checkpoint

            save_checkpoint(self.trainer.state_dict(), path)
        if self.verbose:
            print(f"ModelCheckpoint: saved {path}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch, **logs)
        except KeyError as e:
            raise ValueError(f"ModelCheckpoint: filepath {self.filepath!r} names {e}, which the epoch "
                             f"did not log (have: epoch, {', '.join(sorted(logs))})") from None
        value = (_monitored("ModelCheckpoint", self.monitor, logs) if self.save_best_only
                 else logs.get(self.monitor))
        improved = value is not None and (
            self.best_score is None
            or (value < self.best_score if self.mode == "min" else value > self.best_score))
        if improved:
            self.best_score, self.best_model_path = value, path
        if improved or not self.save_best_only:
            self._write(path)
        if self.save_last:
            self.last_model_path = os.path.join(os.path.dirname(path), "last.ckpt")
            self._write(self.last_model_path)

    def state_dict(self):
        return {"best_score": self.best_score, "best_model_path": self.best_model_path,
                "last_model_path": self.last_model_path}

    def load_state_dict(self, state_dict):
        self.best_score = state_dict["best_score"]
        self.best_model_path = state_dict["best_model_path"]
        self.last_model_path = state_dict["last_model_path"]


_tensorboard_writers = itertools.count()  # numbers the event files this process writes


class TensorBoard(Callback):
    """Writes TensorBoard event files (Keras's callback of the same name) through tensorboardX's
    SummaryWriter into `log_dir`; view them with `tensorboard --logdir <log_dir>`.

    After each epoch (step = the epoch, numbered from 1 as in the History): a scalar for each
    metric of the epoch (`loss`, `accuracy`, `val_loss`, `val_accuracy`, `time`, and those other
    callbacks add) and `lr/group<i>`, the learning rate of each parameter group during the epoch.
    Every `histogram_freq` epochs (0: never): a histogram of each parameter (named as in
    `named_parameters()`) and of its gradient (`<name>/grad`, the last step's, where there is one),
    and with `write_images` the filters of the model's first Conv2d as an image
    (`filters/<module name>`, `viz.filters`' grid, each filter enlarged to about 32 pixels).
    `update_freq`: "epoch", or "batch" / an int N to also write the training loss of every batch
    / every N batches as `batch/loss` (step = the batch's number counted over the whole run) into
    `log_dir/batch` (a run of its own, as its steps count batches).

    Each training run writes new event files (named by time, process and a counter, so runs do not
    overwrite each other). A run resumed from a checkpoint (`fit(resume_from=...)`) tells TensorBoard
    to drop what earlier runs wrote after the checkpoint's epoch (and batch), so the curves show
    each epoch once. Only rank 0 of a distributed run writes, as for CSVLogger and
    ModelCheckpoint. Needs tensorboardX (`pip install tensorboardX`); the ImportError says so when
    it is missing."""

    def __init__(self, log_dir="logs", histogram_freq=1, write_images=True, update_freq="epoch"):
        if not isinstance(histogram_freq, int) or isinstance(histogram_freq, bool) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}")
        if update_freq not in ("epoch", "batch") and not (
                isinstance(update_freq, int) and not isinstance(update_freq, bool) and update_freq >= 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, got "
                             f"{update_freq!r}")
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("TensorBoard: writing event files needs tensorboardX "
                              "(pip install tensorboardX)") from None
        self._summary_writer = SummaryWriter
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.write_images = write_images
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self.writer = self.batch_writer = None
        self._batches = 0  # training batches over the whole run: the step of batch scalars
        self._lrs = []

    def wants_batches(self):
        return self.update_freq != "epoch"

    def _open(self, folder, purge_step):
        suffix = f".{os.getpid()}.{next(_tensorboard_writers):06d}"
        return self._summary_writer(folder, purge_step=purge_step, filename_suffix=suffix)

    def on_train_begin(self, logs=None):
        if not _writes_files() or self.writer is not None:
            return
        resumed = self.trainer.resumed is not None
        self.writer = self._open(self.log_dir, self.trainer.epoch + 1 if resumed else None)
        if self.update_freq != "epoch":
            self.batch_writer = self._open(os.path.join(self.log_dir, "batch"),
                                           self._batches + 1 if resumed else None)

    def on_epoch_begin(self, epoch, logs=None):
        self._lrs = [g["lr"] for g in self.trainer.optimizer.param_groups]

    def on_train_batch_end(self, step, logs=None):
        self._batches += 1
        if self.batch_writer is not None and self._batches % self.update_freq == 0:
            self.batch_writer.add_scalar("batch/loss", logs["loss"], self._batches)

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            return
        for name, value in (logs or {}).items():
            if name != "lr" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(name, value, epoch)
        for i, lr in enumerate(self._lrs):
            self.writer.add_scalar(f"lr/group{i}", lr, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        for w in (self.writer, self.batch_writer):
            if w is not None:
                w.flush()

    def _write_weights(self, epoch):
        from .nn import Conv2d
        from .viz import filters

        for name, p in self.model.named_parameters():
            self.writer.add_histogram(name, p.detach().float().cpu().numpy(), epoch)
            if p.grad is not None:
                self.writer.add_histogram(f"{name}/grad", p.grad.detach().float().cpu().numpy(), epoch)
        if not self.write_images:
            return
        conv = next(((n, m) for n, m in self.model.named_modules() if isinstance(m, Conv2d)), None)
        if conv is not None:
            name, module = conv
            grid = filters(module, scale=max(1, 32 // max(module.weight.shape[2:])))
            self.writer.add_image(f"filters/{name}", grid, epoch, dataformats="HWC" if grid.ndim == 3 else "HW")

    def on_train_end(self, logs=None):
        for w in (self.writer, self.batch_writer):
            if w is not None:
                w.close()
        self.writer = self.batch_writer = None

    def state_dict(self):
        return {"batches": self._batches}

    def load_state_dict(self, state_dict):
        self._batches = state_dict["batches"]
