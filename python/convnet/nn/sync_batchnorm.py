"""Batch normalization over the batches of every rank (as torch.nn.SyncBatchNorm)."""

from .. import _core
from .. import distributed as dist
from .._tensor import no_grad

__all__ = ["SyncBatchNorm"]


def _all_reduce_sum(t):
    """The sum of `t` over the ranks, differentiable: its gradient is the sum of the ranks' gradients
    (each rank's loss depends on every rank's input through the sum)."""
    total = t.detach().clone()
    dist.all_reduce(total)

    def backward(dy):
        dx = dy.clone()
        dist.all_reduce(dx)
        return dx
    return _core._function_node(total, [t], "all_reduce_sum", backward)


class SyncBatchNorm(_core.nn.Module):
    """Batch normalization whose training statistics are the mean and variance over the batches of
    all ranks (two all-reduces per forward: the sums, then the squared deviations from the mean, in
    the input's dtype), with the gradient flowing back through them to every rank. Parameters and
    buffers as BatchNorm2d's (`weight`, `bias`, `running_mean`, `running_var`,
    `num_batches_tracked`), so state dicts load either way. In eval mode, or without an initialized
    process group of several ranks, it is BatchNorm. Inputs (N, C, ...)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None):
        super().__init__()
        from . import Parameter

        if process_group is not None:
            raise ValueError("SyncBatchNorm: only the default process group is supported")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(_core.ones([num_features]))
            self.bias = Parameter(_core.zeros([num_features]))
        if track_running_stats:
            self.register_buffer("running_mean", _core.zeros([num_features]))
            self.register_buffer("running_var", _core.ones([num_features]))
            self.register_buffer("num_batches_tracked", _core.zeros([], dtype=_core.dtype.int64))

    def _params(self):
        if self.affine:
            return self.weight, self.bias
        return None, None

    def _count_batch(self):
        """Counts a training batch; returns the running statistics' momentum for it."""
        with no_grad():
            self.num_batches_tracked.copy_(self.num_batches_tracked + 1)
        return 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum

    def forward(self, x):
        if x.ndim < 2 or x.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm(num_features={self.num_features}): input shape {tuple(x.shape)}, "
                             f"expected (N, {self.num_features}, ...)")
        weight, bias = self._params()
        stats = (self.running_mean, self.running_var) if self.track_running_stats else (None, None)
        if not self.training or dist.get_world_size() == 1:
            momentum = 0.0 if self.momentum is None else self.momentum
            if self.training and self.track_running_stats:
                momentum = self._count_batch()
            use_batch = self.training or not self.track_running_stats
            return _core.functional.batch_norm(x, *stats, weight, bias, use_batch, momentum, self.eps)
        c = self.num_features
        dims = [0] + list(range(2, x.ndim))
        shape = [1, c] + [1] * (x.ndim - 2)
        count = _core.full([1], float(x.numel() // c), dtype=_core.dtype.float64, device=x.device)
        dist.all_reduce(count)
        n = count.item()
        mean = _all_reduce_sum(x.sum(dims)) * (1.0 / n)
        xc = x - mean.reshape(shape)
        var = _all_reduce_sum((xc * xc).sum(dims)) * (1.0 / n)
        y = xc * (var + self.eps).pow(-0.5).reshape(shape)
        if weight is not None:
            y = y * weight.reshape(shape) + bias.reshape(shape)
        if self.track_running_stats:
            m = self._count_batch()
            with no_grad():
                self.running_mean.copy_(self.running_mean * (1 - m) + mean.detach() * m)
                self.running_var.copy_(self.running_var * (1 - m) + var.detach() * (m * n / max(n - 1, 1)))
        return y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, " \
               f"track_running_stats={self.track_running_stats}"

    def __repr__(self):
        return f"SyncBatchNorm({self.extra_repr()})"

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """`module` with every BatchNorm1d/2d replaced by a SyncBatchNorm holding its parameters and
        running statistics (a BatchNorm passed itself returns the new module)."""
        from . import BatchNorm1d, BatchNorm2d

        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats,
                       process_group)
            with no_grad():
                for name, t in module.named_parameters():
                    getattr(sync, name).copy_(t).requires_grad_(t.requires_grad)
                for name, t in module.named_buffers():
                    getattr(sync, name).copy_(t)
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(module, name, converted)
        return module
