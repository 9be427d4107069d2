"""Functional forms of the layers and losses (as torch.nn.functional)."""

from ._core.functional import (  # noqa: F401
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    cross_entropy,
    dropout,
    flatten,
    leaky_relu,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    nll_loss,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from ._core.functional import elu, gelu, hardtanh, prelu, relu6, silu, softplus  # noqa: F401
from ._core.functional import (  # noqa: F401
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    kl_div,
    l1_loss,
    multi_margin_loss,
    smooth_l1_loss,
)

__all__ = [
    "adaptive_avg_pool2d", "avg_pool2d", "conv2d", "cross_entropy", "dropout", "flatten",
    "leaky_relu", "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss", "relu",
    "sigmoid", "softmax", "tanh",
]

# Normalization, transposed convolution, padding, adaptive/LP pooling, interpolation.
from ._core.functional import (  # noqa: E402,F401
    adaptive_max_pool2d,
    batch_norm,
    conv_transpose2d,
    interpolate,
    local_response_norm,
    lp_pool2d,
    pad,
)

__all__ += [
    "adaptive_max_pool2d", "batch_norm", "conv_transpose2d", "interpolate", "local_response_norm",
    "lp_pool2d", "pad",
]

__all__ += ["elu", "gelu", "hardtanh", "prelu", "relu6", "silu", "softplus"]
__all__ += ["binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "l1_loss", "multi_margin_loss",
            "smooth_l1_loss"]

# 1-D layers, normalization over samples, embedding, pixel shuffle, unfold/fold, unpooling.
from ._core.functional import (  # noqa: E402,F401
    adaptive_avg_pool1d,
    avg_pool1d,
    avg_pool3d,
    conv1d,
    conv3d,
    dropout2d,
    embedding,
    fold,
    group_norm,
    instance_norm,
    layer_norm,
    max_pool1d,
    max_pool3d,
    max_unpool2d,
    pixel_shuffle,
    pixel_unshuffle,
    unfold,
)

__all__ += ["adaptive_avg_pool1d", "avg_pool1d", "avg_pool3d", "conv1d", "conv3d", "dropout2d", "embedding", "fold", "group_norm",
            "instance_norm", "layer_norm", "max_pool1d", "max_pool3d", "max_unpool2d", "pixel_shuffle", "pixel_unshuffle",
            "unfold"]
