"""convnet: convolutional neural networks with a C++ core and a PyTorch-like API."""

from importlib import metadata as _metadata

import scipy_openblas32 as _openblas  # noqa: F401  (loads the BLAS the core links against)

from . import _core
from ._core import (
    Tensor,
    arange,
    argmax,
    device,
    dtype,
    empty,
    empty_cache,
    exp,
    flatten,
    from_numpy,
    full,
    get_num_threads,
    get_rng_state,
    initial_seed,
    is_grad_enabled,
    log,
    manual_seed,
    matmul,
    max,
    mean,
    memory_stats,
    ones,
    ones_like,
    rand,
    randn,
    randperm,
    reset_peak_memory_stats,
    set_grad_enabled,
    set_num_threads,
    set_rng_state,
    sum,
    zeros,
    zeros_like,
)
from ._core import cat, concat, concatenate, stack
from ._core import (  # noqa: F401  (math with PyTorch's names: bindings/math.cpp)
    abs,
    all,
    amax,
    amin,
    any,
    argmin,
    argsort,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    bmm,
    ceil,
    clamp,
    clip,
    cumsum,
    einsum,
    eq,
    floor,
    ge,
    gt,
    le,
    lerp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    maximum,
    min,
    minimum,
    ne,
    norm,
    pow,
    prod,
    round,
    rsqrt,
    sign,
    sort,
    sqrt,
    std,
    topk,
    trunc,
    var,
)
from ._core import OutOfMemoryError, SafetensorsError

OutOfMemoryError.__module__ = SafetensorsError.__module__ = "convnet"  # as users name them
from ._tensor import no_grad, tensor, enable_grad, inference_mode, randint
from .serialization import load, save

dtype.__repr__ = dtype.__str__ = lambda self: "convnet." + self.name  # as torch prints torch.float32
if not hasattr(Tensor, "__abs__"):
    Tensor.__abs__ = Tensor.abs  # abs(x), as torch
float32 = dtype.float32
float64 = dtype.float64
int64 = dtype.int64
int32 = dtype.int32
uint8 = dtype.uint8
bool = dtype.bool  # noqa: A001  (as torch.bool)
bfloat16 = dtype.bfloat16
float16 = dtype.float16
half = float16
float = float32  # noqa: A001
double = float64
long = int64
int = int32  # noqa: A001  (as torch.int)

from . import amp, backends, cuda, functional, nn, optim  # noqa: E402
from .functional import log_softmax, softmax  # noqa: E402  (as torch.softmax)
from . import utils  # noqa: E402  (convnet.utils.data: torch's place of the data loaders)
from .amp import autocast  # noqa: E402
from . import data, datasets, models, transforms  # noqa: E402
from . import onnx  # noqa: E402  (imports the onnx package only when used)
from .summary import summary  # noqa: E402
from .summary import InsufficientMemoryError  # noqa: E402
from .train import evaluate, fit, predict  # noqa: E402
from . import callbacks, metrics, viz  # noqa: E402
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402
from . import hub  # noqa: E402  (pretrained weights downloaded once, as torch.hub)

# The version is written once, in pyproject.toml; the installed package's metadata carries it.
__version__ = _metadata.version("convnet")

__all__ = [
    "callbacks", "get_rng_state", "load_checkpoint", "metrics", "save_checkpoint", "set_rng_state",
    "viz",
    "Tensor", "arange", "argmax", "bool", "data", "datasets", "device", "double", "dtype", "empty",
    "empty_cache", "enable_grad", "evaluate", "exp", "fit", "flatten", "float", "float32", "float64",
    "from_numpy", "full", "functional", "get_num_threads", "initial_seed", "int32", "int64", "is_grad_enabled",
    "load", "log", "long", "manual_seed", "matmul", "max", "mean", "memory_stats", "models", "nn",
    "no_grad", "onnx", "ones", "ones_like", "optim", "predict", "rand", "randn", "randperm",
    "reset_peak_memory_stats", "save", "set_grad_enabled", "set_num_threads", "sum", "summary",
    "tensor", "transforms", "uint8", "zeros", "zeros_like",
]
__all__ += ["cat", "concat", "concatenate", "stack"]
__all__ += [
    "abs", "all", "amax", "amin", "any", "argmin", "argsort", "bitwise_and", "bitwise_not", "bitwise_or",
    "bitwise_xor", "bmm", "ceil", "clamp", "clip", "cumsum", "einsum", "eq", "floor", "ge", "gt", "le", "lerp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "lt", "maximum", "min", "minimum", "ne", "norm",
    "pow", "prod", "round", "rsqrt", "sign", "sort", "sqrt", "std", "topk", "trunc", "var",
]
__all__ += ["inference_mode", "log_softmax", "randint", "softmax", "utils"]
__all__ += ["CheckpointError", "OutOfMemoryError", "SafetensorsError"]
__all__ += ["InsufficientMemoryError"]
__all__ += ["amp", "autocast", "backends", "bfloat16", "float16", "half"]
__all__ += ["hub"]

from . import autograd  # noqa: E402
from ._core import (  # noqa: E402  (views, indexing: ops/view.h, ops/index.h)
    chunk,
    gather,
    index_select,
    masked_fill,
    narrow,
    nonzero,
    permute,
    scatter,
    scatter_add,
    select,
    split,
    squeeze,
    transpose,
    unbind,
    unsqueeze,
    where,
)

__all__ += ["autograd", "chunk", "gather", "index_select", "masked_fill", "narrow", "nonzero", "permute", "scatter",
            "scatter_add", "select", "split", "squeeze", "transpose", "unbind", "unsqueeze", "where"]
