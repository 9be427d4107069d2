"""One exporter per module type and per traced function.

A module exporter is `fn(g, module, x, out, label) -> value name`: `x` and `out` are the input and
output tensors of the call (their shapes are the traced shapes), `g` the `_export.Graph`, `label`
names the module in messages. A function exporter is `fn(g, out, label, *args, **kwargs)` with the
arguments of the traced call. Registration is by name: a name the installed convnet lacks (a layer
not built yet) is simply never matched, so exporters for every planned layer can live here.
"""

import math

import numpy as np

from . import OnnxError

MODULES = {}  # nn class name -> module exporter
FUNCTIONS = []  # (where, attribute, function exporter); where: "convnet", "core", "F", "NF", "Tensor"


def register_module(*names):
    def deco(fn):
        for n in names:
            MODULES[n] = fn
        return fn
    return deco


def register_function(*targets):
    """`targets` are "where.attr" strings; "F.x" registers x in convnet.functional and in
    convnet.nn.functional."""
    def deco(fn):
        for t in targets:
            where, attr = t.split(".", 1)
            for w in (("F", "NF") if where == "F" else (where,)):
                FUNCTIONS.append((w, attr, fn))
        return fn
    return deco


# ---- helpers ------------------------------------------------------------------------------------

def _pair(v):
    if isinstance(v, (tuple, list)):
        return tuple(int(a) for a in v) if len(v) == 2 else (int(v[0]),) * 2
    return (int(v), int(v))


def _np_dtype(t):
    return np.dtype(str(t.dtype).split(".")[-1])


def _operand(g, other, like, label):
    """A value name for the other operand of a binary op: a traced tensor or a Python number."""
    from .. import _core
    if isinstance(other, _core.Tensor):
        return g.name(other, label)
    return g.const(other, _np_dtype(like))


def _expect_shape(label, out, expected):
    if tuple(out.shape) != tuple(expected):
        raise OnnxError(f"{label}: the exported attributes give output shape {tuple(expected)} but the module "
                        f"produced {tuple(out.shape)} (an option the exporter does not see)")


def _window_out(n, k, s, p_lo, p_hi, d, ceil_mode):
    eff = d * (k - 1) + 1
    span = n + p_lo + p_hi - eff
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + p_lo:  # the last window must start inside the input
        o -= 1
    return o


def _conv(g, label, x, out, w, b, kernel, stride, padding, dilation, groups):
    """A Conv node over the len(kernel) spatial dimensions (2 or 3)."""
    xn = g.name(x, label)
    wn = g.name(w, label)
    inputs = [xn, wn] + ([g.name(b, label)] if b is not None else [])
    nd = len(kernel)
    tup = _pair if nd == 2 else (lambda v: tuple(int(a) for a in v) if isinstance(v, (tuple, list)) else (int(v),) * nd)
    if padding == "same":
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
    elif padding == "valid":
        pads = [(0, 0)] * nd
    else:
        pads = [(p, p) for p in tup(padding)]
    stride, dilation = tup(stride), tup(dilation)
    expected = (x.shape[0], w.shape[0]) + tuple(
        _window_out(sz, k, s, p[0], p[1], d, False)
        for sz, k, s, p, d in zip(x.shape[2:], kernel, stride, pads, dilation))
    _expect_shape(label, out, expected)
    return g.node("Conv", inputs, hint=label_hint(label), kernel_shape=list(kernel), strides=list(stride),
                  pads=[p[0] for p in pads] + [p[1] for p in pads], dilations=list(dilation),
                  group=int(groups))


def _pool(g, label, op, x, out, kernel, stride, padding, dilation=(1, 1), ceil_mode=False,
          count_include_pad=None):
    kernel = _pair(kernel)
    stride = kernel if stride is None or stride == () or stride == [] else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    n, c, h, w = x.shape
    expected = (n, c) + tuple(_window_out(sz, k, s, p, p, d, ceil_mode)
                              for sz, k, s, p, d in zip((h, w), kernel, stride, padding, dilation))
    _expect_shape(label, out, expected)
    attrs = dict(kernel_shape=list(kernel), strides=list(stride),
                 pads=[padding[0], padding[1], padding[0], padding[1]], ceil_mode=int(bool(ceil_mode)))
    if op == "MaxPool":
        attrs["dilations"] = list(dilation)
    else:
        attrs["count_include_pad"] = int(bool(count_include_pad))
    return g.node(op, [g.name(x, label)], hint=label_hint(label), **attrs)


def _adaptive(g, label, op, global_op, x, out, output_size):
    oh, ow = _pair(output_size)
    _, _, h, w = x.shape
    if (oh, ow) == (1, 1):
        return g.node(global_op, [g.name(x, label)], hint=label_hint(label))
    if oh % h == 0 and ow % w == 0:  # every window is one input cell: nearest upsampling
        return g.node("Resize", [g.name(x, label), "", g.const([1.0, 1.0, oh / h, ow / w], np.float32, "scales")],
                      hint=label_hint(label), mode="nearest", coordinate_transformation_mode="asymmetric",
                      nearest_mode="floor")
    if h % oh or w % ow:
        raise OnnxError(f"{label}: output size ({oh}, {ow}) does not divide the input size ({h}, {w}); "
                        "ONNX has no adaptive pooling with uneven windows")
    k = (h // oh, w // ow)
    return g.node(op, [g.name(x, label)], hint=label_hint(label), kernel_shape=list(k), strides=list(k))


def _flatten(g, label, x, out, start_dim, end_dim):
    nd = x.ndim
    s, e = start_dim % nd if nd else 0, end_dim % nd if nd else 0
    if s == 1 and e == nd - 1:
        return g.node("Flatten", [g.name(x, label)], hint=label_hint(label), axis=1)
    return _reshape(g, label, x, out)


def _reshape(g, label, x, out):
    shape = g.shape_for_reshape(tuple(x.shape), tuple(out.shape))
    return g.node("Reshape", [g.name(x, label), shape], hint=label_hint(label))


def _reduce(g, label, op, x, dim, keepdim):
    xn = g.name(x, label)
    attrs = {"keepdims": int(bool(keepdim))}
    inputs = [xn]
    if dim is not None:
        axes = [int(dim)] if isinstance(dim, int) else [int(d) for d in dim]
        if op == "ReduceSum" or g.opset >= 18:
            inputs.append(g.const(axes, np.int64, "axes"))
        else:
            attrs["axes"] = axes
    return g.node(op, inputs, hint=label_hint(label), **attrs)


def label_hint(label):
    """A node-name stem from a label ("Conv2d 'features.0'" -> "features.0")."""
    if "'" in label:
        return label.split("'")[1]
    return label.replace("Tensor.", "").strip("_")


def _unary(op, **attrs):
    def fn(g, out, label, x, *args, **kwargs):
        return g.node(op, [g.name(x, label)], hint=label_hint(label), **attrs)
    return fn


def _binary(op, reverse=False):
    def fn(g, out, label, a, b):
        an, bn = g.name(a, label), _operand(g, b, a, label)
        return g.node(op, [bn, an] if reverse else [an, bn], hint=label_hint(label))
    return fn


# ---- modules of the core ------------------------------------------------------------------------

@register_module("Conv2d", "Conv3d")
def conv_module(g, m, x, out, label):
    mode = getattr(m, "padding_mode", "zeros")
    if mode != "zeros":
        raise OnnxError(f"{label}: padding_mode={mode!r} is not exported")
    return _conv(g, label, x, out, m.weight, getattr(m, "bias", None), tuple(m.kernel_size), m.stride,
                 m.padding, m.dilation, m.groups)


@register_module("Linear")
def linear_module(g, m, x, out, label):
    return _linear(g, label, x, m.weight, getattr(m, "bias", None))


def _linear(g, label, x, w, b):
    xn, wn = g.name(x, label), g.name(w, label)
    bn = g.name(b, label) if b is not None else None
    if x.ndim == 2:
        return g.node("Gemm", [xn, wn] + ([bn] if bn else []), hint=label_hint(label), transB=1)
    wt = g.node("Transpose", [wn], hint=label_hint(label) + "_wT", perm=[1, 0])
    y = g.node("MatMul", [xn, wt], hint=label_hint(label))
    return g.node("Add", [y, bn], hint=label_hint(label) + "_bias") if bn else y


@register_module("MaxPool2d")
def maxpool2d_module(g, m, x, out, label):
    return _pool(g, label, "MaxPool", x, out, m.kernel_size, m.stride, m.padding,
                 getattr(m, "dilation", 1), m.ceil_mode)


@register_module("AvgPool2d")
def avgpool2d_module(g, m, x, out, label):
    return _pool(g, label, "AveragePool", x, out, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode,
                 m.count_include_pad)


@register_module("AdaptiveAvgPool2d")
def adaptive_avgpool2d_module(g, m, x, out, label):
    return _adaptive(g, label, "AveragePool", "GlobalAveragePool", x, out, m.output_size)


@register_module("Flatten")
def flatten_module(g, m, x, out, label):
    return _flatten(g, label, x, out, m.start_dim, m.end_dim)


@register_module("ReLU")
def relu_module(g, m, x, out, label):
    return g.node("Relu", [g.name(x, label)], hint=label_hint(label))


@register_module("LeakyReLU")
def leaky_relu_module(g, m, x, out, label):
    return g.node("LeakyRelu", [g.name(x, label)], hint=label_hint(label), alpha=float(m.negative_slope))


@register_module("Sigmoid")
def sigmoid_module(g, m, x, out, label):
    return g.node("Sigmoid", [g.name(x, label)], hint=label_hint(label))


@register_module("Tanh")
def tanh_module(g, m, x, out, label):
    return g.node("Tanh", [g.name(x, label)], hint=label_hint(label))


@register_module("Softmax")
def softmax_module(g, m, x, out, label):
    return g.node("Softmax", [g.name(x, label)], hint=label_hint(label), axis=int(m.dim))


@register_module("LogSoftmax")
def log_softmax_module(g, m, x, out, label):
    return g.node("LogSoftmax", [g.name(x, label)], hint=label_hint(label), axis=int(m.dim))


@register_module("Dropout", "Dropout2d", "Identity")
def identity_module(g, m, x, out, label):
    return g.node("Identity", [g.name(x, label)], hint=label_hint(label))


# ---- modules of the toolbox (matched only once convnet has them) ----------------------------------

@register_module("BatchNorm1d", "BatchNorm2d")
def batchnorm_module(g, m, x, out, label):
    rm, rv = getattr(m, "running_mean", None), getattr(m, "running_var", None)
    if rm is None or rv is None:
        raise OnnxError(f"{label}: without running statistics (track_running_stats=False) batch norm in "
                        "eval mode uses batch statistics, which ONNX BatchNormalization does not")
    c = x.shape[1]
    w, b = getattr(m, "weight", None), getattr(m, "bias", None)
    wn = g.name(w, label) if w is not None else g.const(np.ones(c), _np_dtype(x), "bn_scale")
    bn = g.name(b, label) if b is not None else g.const(np.zeros(c), _np_dtype(x), "bn_bias")
    return g.node("BatchNormalization", [g.name(x, label), wn, bn, g.name(rm, label), g.name(rv, label)],
                  hint=label_hint(label), epsilon=float(m.eps))


def _lrn(g, label, x, size, alpha, beta, k):
    """ONNX LRN for odd sizes; an even-size window sits differently in ONNX (one more channel
    after c) than in PyTorch (one more before), so it is written out: the sum of squares over
    size//2 channels before and (size-1)//2 after, as an average pool along C times size."""
    xn, h = g.name(x, label), label_hint(label)
    if size % 2:
        return g.node("LRN", [xn], hint=h, size=size, alpha=alpha, beta=beta, bias=k)
    if x.ndim != 4:
        raise OnnxError(f"{label}: an even size needs a 4-D input, got shape {tuple(x.shape)}")
    _, c, hh, w = x.shape
    dt = _np_dtype(x)
    sq = g.node("Reshape", [g.node("Mul", [xn, xn], hint=h), g.const([0, 1, c, hh * w], np.int64, "shape")], hint=h)
    window = g.node("AveragePool", [sq], hint=h, kernel_shape=[size, 1], strides=[1, 1],
                    pads=[size // 2, 0, (size - 1) // 2, 0], count_include_pad=1)
    summed = g.node("Reshape", [window, g.node("Shape", [xn], hint=h)], hint=h)
    base = g.node("Add", [g.node("Mul", [summed, g.const(alpha, dt)], hint=h), g.const(k, dt)], hint=h)
    return g.node("Div", [xn, g.node("Pow", [base, g.const(beta, dt)], hint=h)], hint=h)


@register_module("LocalResponseNorm")
def lrn_module(g, m, x, out, label):
    return _lrn(g, label, x, int(m.size), float(m.alpha), float(m.beta), float(m.k))


@register_module("ConvTranspose2d")
def conv_transpose2d_module(g, m, x, out, label):
    k, s, p = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding)
    d, op = _pair(getattr(m, "dilation", 1)), _pair(getattr(m, "output_padding", 0))
    groups = int(getattr(m, "groups", 1))
    n, _, h, w = x.shape
    expected = (n, m.weight.shape[1] * groups) + tuple(
        (sz - 1) * si - 2 * pi + di * (ki - 1) + oi + 1 for sz, si, pi, di, ki, oi in zip((h, w), s, p, d, k, op))
    _expect_shape(label, out, expected)
    b = getattr(m, "bias", None)
    inputs = [g.name(x, label), g.name(m.weight, label)] + ([g.name(b, label)] if b is not None else [])
    return g.node("ConvTranspose", inputs,
                  hint=label_hint(label), kernel_shape=list(k), strides=list(s), pads=[p[0], p[1], p[0], p[1]],
                  dilations=list(d), output_padding=list(op), group=groups)


@register_module("AdaptiveMaxPool2d")
def adaptive_maxpool2d_module(g, m, x, out, label):
    return _adaptive(g, label, "MaxPool", "GlobalMaxPool", x, out, m.output_size)


def _pad4(padding):
    if isinstance(padding, (tuple, list)):
        if len(padding) == 4:
            return tuple(int(p) for p in padding)
        if len(padding) == 2:
            return (int(padding[0]),) * 2 + (int(padding[1]),) * 2
    return (int(padding),) * 4


def _pad(g, label, x, pad, mode="constant", value=0.0):
    """torch-style `pad` (last dimension first, (left, right, top, bottom, ...)) as an ONNX Pad."""
    pad = [int(p) for p in pad]
    nd = x.ndim
    begins, ends = [0] * nd, [0] * nd
    for i in range(len(pad) // 2):
        begins[nd - 1 - i], ends[nd - 1 - i] = pad[2 * i], pad[2 * i + 1]
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}.get(mode)
    if onnx_mode is None:
        raise OnnxError(f"{label}: pad mode {mode!r} has no ONNX opset {g.opset} equivalent")
    inputs = [g.name(x, label), g.const(begins + ends, np.int64, "pads")]
    if onnx_mode == "constant":
        inputs.append(g.const(value, _np_dtype(x), "pad_value"))
    return g.node("Pad", inputs, hint=label_hint(label), mode=onnx_mode)


@register_module("ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d")
def pad_module(g, m, x, out, label):
    mode = {"ReflectionPad2d": "reflect", "ReplicationPad2d": "replicate"}.get(type(m).__name__, "constant")
    return _pad(g, label, x, _pad4(m.padding), mode, float(getattr(m, "value", 0.0)))


@register_module("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")
def upsample_module(g, m, x, out, label):
    mode = getattr(m, "mode", "bilinear" if type(m).__name__ == "UpsamplingBilinear2d" else "nearest")
    align = getattr(m, "align_corners", type(m).__name__ == "UpsamplingBilinear2d")
    return _resize(g, label, x, out, mode, align)


def _resize(g, label, x, out, mode, align_corners):
    scales = [1.0, 1.0] + [o / i for o, i in zip(out.shape[2:], x.shape[2:])]
    if mode == "nearest":
        attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    elif mode in ("bilinear", "linear"):
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if align_corners
                     else "pytorch_half_pixel")
    else:
        raise OnnxError(f"{label}: upsampling mode {mode!r} is not exported")
    return g.node("Resize", [g.name(x, label), "", g.const(scales, np.float32, "scales")],
                  hint=label_hint(label), **attrs)


@register_module("ELU")
def elu_module(g, m, x, out, label):
    return g.node("Elu", [g.name(x, label)], hint=label_hint(label), alpha=float(getattr(m, "alpha", 1.0)))


def _gelu(g, label, x, approximate):
    xn, h = g.name(x, label), label_hint(label)
    dt = _np_dtype(x)
    if approximate == "none" and g.opset >= 20:
        return g.node("Gelu", [xn], hint=h)
    if approximate == "none":
        inner = g.node("Erf", [g.node("Div", [xn, g.const(math.sqrt(2.0), dt)], hint=h)], hint=h)
    else:
        cube = g.node("Mul", [g.node("Pow", [xn, g.const(3.0, dt)], hint=h), g.const(0.044715, dt)], hint=h)
        inner = g.node("Tanh", [g.node("Mul", [g.node("Add", [xn, cube], hint=h),
                                               g.const(math.sqrt(2.0 / math.pi), dt)], hint=h)], hint=h)
    half_x = g.node("Mul", [xn, g.const(0.5, dt)], hint=h)
    return g.node("Mul", [half_x, g.node("Add", [inner, g.const(1.0, dt)], hint=h)], hint=h)


@register_module("GELU")
def gelu_module(g, m, x, out, label):
    return _gelu(g, label, x, getattr(m, "approximate", "none"))


@register_module("SiLU")
def silu_module(g, m, x, out, label):
    xn = g.name(x, label)
    return g.node("Mul", [xn, g.node("Sigmoid", [xn], hint=label_hint(label))], hint=label_hint(label))


def _softplus(g, label, x, beta):
    xn, h, dt = g.name(x, label), label_hint(label), _np_dtype(x)
    if beta == 1:
        return g.node("Softplus", [xn], hint=h)
    sp = g.node("Softplus", [g.node("Mul", [xn, g.const(beta, dt)], hint=h)], hint=h)
    return g.node("Div", [sp, g.const(beta, dt)], hint=h)


@register_module("Softplus")
def softplus_module(g, m, x, out, label):
    return _softplus(g, label, x, float(getattr(m, "beta", 1.0)))


def _clip(g, label, x, lo, hi):
    dt = _np_dtype(x)
    return g.node("Clip", [g.name(x, label), g.const(lo, dt, "min"), g.const(hi, dt, "max")], hint=label_hint(label))


@register_module("Hardtanh")
def hardtanh_module(g, m, x, out, label):
    return _clip(g, label, x, float(m.min_val), float(m.max_val))


@register_module("ReLU6")
def relu6_module(g, m, x, out, label):
    return _clip(g, label, x, 0.0, 6.0)


@register_module("PReLU")
def prelu_module(g, m, x, out, label):
    return _prelu(g, label, x, m.weight)


def _prelu(g, label, x, weight):
    wn = g.name(weight, label)
    if weight.numel() > 1 and x.ndim > 2:  # (C,) slopes broadcast over (N, C, H, W) as (C, 1, 1)
        shape = g.const([weight.numel()] + [1] * (x.ndim - 2), np.int64, "shape")
        wn = g.node("Reshape", [wn, shape], hint=label_hint(label) + "_slope")
    return g.node("PRelu", [g.name(x, label), wn], hint=label_hint(label))


@register_function("F.prelu")
def prelu_fn(g, out, label, x, weight):
    return _prelu(g, label, x, weight)


@register_module("LPPool2d")
def lppool2d_module(g, m, x, out, label):
    k = _pair(m.kernel_size)
    s = k if getattr(m, "stride", None) in (None, (), []) else _pair(m.stride)
    ceil = bool(getattr(m, "ceil_mode", False))
    n, c, h, w = x.shape
    _expect_shape(label, out, (n, c) + tuple(_window_out(sz, ki, si, 0, 0, 1, ceil)
                                             for sz, ki, si in zip((h, w), k, s)))
    if ceil and g.opset < 18:
        raise OnnxError(f"{label}: ceil_mode=True needs opset 18 or later (LpPool), got opset {g.opset}")
    attrs = dict(ceil_mode=int(ceil)) if g.opset >= 18 else {}
    return g.node("LpPool", [g.name(x, label)], hint=label_hint(label), p=int(m.norm_type), kernel_shape=list(k),
                  strides=list(s), **attrs)


# ---- functions and Tensor methods ---------------------------------------------------------------

register_function("Tensor.__add__", "convnet.add")(_binary("Add"))
register_function("Tensor.__radd__")(_binary("Add", reverse=True))
register_function("Tensor.__sub__")(_binary("Sub"))
register_function("Tensor.__rsub__")(_binary("Sub", reverse=True))
register_function("Tensor.__mul__", "convnet.mul")(_binary("Mul"))
register_function("Tensor.__rmul__")(_binary("Mul", reverse=True))
register_function("Tensor.__truediv__")(_binary("Div"))
register_function("Tensor.__rtruediv__")(_binary("Div", reverse=True))
register_function("Tensor.__matmul__", "Tensor.matmul", "convnet.matmul")(_binary("MatMul"))
register_function("Tensor.__pow__", "Tensor.pow")(_binary("Pow"))
register_function("Tensor.__neg__")(_unary("Neg"))
register_function("Tensor.exp", "convnet.exp")(_unary("Exp"))
register_function("Tensor.log", "convnet.log")(_unary("Log"))
register_function("Tensor.sqrt")(_unary("Sqrt"))
register_function("Tensor.abs")(_unary("Abs"))
register_function("Tensor.relu", "F.relu")(_unary("Relu"))
register_function("Tensor.sigmoid", "F.sigmoid")(_unary("Sigmoid"))
register_function("Tensor.tanh", "F.tanh")(_unary("Tanh"))
register_function("F.silu")(lambda g, out, label, x, inplace=False: silu_module(g, None, x, out, label))
register_function("F.relu6")(lambda g, out, label, x, inplace=False: _clip(g, label, x, 0.0, 6.0))


@register_function("Tensor.reshape", "Tensor.view")
def reshape_fn(g, out, label, x, *shape):
    return _reshape(g, label, x, out)


@register_function("Tensor.flatten", "convnet.flatten", "F.flatten")
def flatten_fn(g, out, label, x, start_dim=0, end_dim=-1):
    return _flatten(g, label, x, out, start_dim, end_dim)


@register_function("Tensor.softmax", "F.softmax")
def softmax_fn(g, out, label, x, dim):
    return g.node("Softmax", [g.name(x, label)], hint=label_hint(label), axis=int(dim))


@register_function("Tensor.log_softmax", "F.log_softmax")
def log_softmax_fn(g, out, label, x, dim):
    return g.node("LogSoftmax", [g.name(x, label)], hint=label_hint(label), axis=int(dim))


@register_function("Tensor.mean", "convnet.mean")
def mean_fn(g, out, label, x, dim=None, keepdim=False):
    return _reduce(g, label, "ReduceMean", x, dim, keepdim)


@register_function("Tensor.sum", "convnet.sum")
def sum_fn(g, out, label, x, dim=None, keepdim=False):
    return _reduce(g, label, "ReduceSum", x, dim, keepdim)


@register_function("F.leaky_relu")
def leaky_relu_fn(g, out, label, x, negative_slope=0.01, inplace=False):
    return g.node("LeakyRelu", [g.name(x, label)], hint=label_hint(label), alpha=float(negative_slope))


@register_function("F.conv2d", "F.conv3d")
def conv_fn(g, out, label, x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(g, label, x, out, weight, bias, tuple(weight.shape[2:]), stride, padding, dilation, groups)


@register_function("F.linear")
def linear_fn(g, out, label, x, weight, bias=None):
    return _linear(g, label, x, weight, bias)


@register_function("F.max_pool2d")
def max_pool2d_fn(g, out, label, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                  return_indices=False):
    return _pool(g, label, "MaxPool", x, out, kernel_size, stride, padding, dilation, ceil_mode)


@register_function("F.avg_pool2d")
def avg_pool2d_fn(g, out, label, x, kernel_size, stride=None, padding=0, ceil_mode=False,
                  count_include_pad=True, divisor_override=None):
    return _pool(g, label, "AveragePool", x, out, kernel_size, stride, padding, 1, ceil_mode, count_include_pad)


@register_function("F.adaptive_avg_pool2d")
def adaptive_avg_pool2d_fn(g, out, label, x, output_size):
    return _adaptive(g, label, "AveragePool", "GlobalAveragePool", x, out, output_size)


@register_function("F.adaptive_max_pool2d")
def adaptive_max_pool2d_fn(g, out, label, x, output_size, return_indices=False):
    return _adaptive(g, label, "MaxPool", "GlobalMaxPool", x, out, output_size)


@register_function("F.dropout")
def dropout_fn(g, out, label, x, p=0.5, training=True, inplace=False):
    if training and p > 0:
        raise OnnxError(f"{label}: dropout with training=True is random; export calls it with "
                        "training=self.training (the model runs in eval mode)")
    return g.node("Identity", [g.name(x, label)], hint=label_hint(label))


@register_function("F.elu")
def elu_fn(g, out, label, x, alpha=1.0, inplace=False):
    return g.node("Elu", [g.name(x, label)], hint=label_hint(label), alpha=float(alpha))


@register_function("F.gelu")
def gelu_fn(g, out, label, x, approximate="none"):
    return _gelu(g, label, x, approximate)


@register_function("F.softplus")
def softplus_fn(g, out, label, x, beta=1.0, threshold=20.0):
    return _softplus(g, label, x, float(beta))


@register_function("F.hardtanh")
def hardtanh_fn(g, out, label, x, min_val=-1.0, max_val=1.0, inplace=False):
    return _clip(g, label, x, float(min_val), float(max_val))


@register_function("F.pad")
def pad_fn(g, out, label, x, pad, mode="constant", value=0.0):
    return _pad(g, label, x, pad, mode, 0.0 if value is None else float(value))


@register_function("F.interpolate")
def interpolate_fn(g, out, label, x, size=None, scale_factor=None, mode="nearest", align_corners=None, **kw):
    return _resize(g, label, x, out, mode, bool(align_corners))


@register_function("F.batch_norm")
def batch_norm_fn(g, out, label, x, running_mean, running_var, weight=None, bias=None, training=False,
                  momentum=0.1, eps=1e-5):
    if training:
        raise OnnxError(f"{label}: batch_norm with training=True is not exported")

    class _M:  # the module exporter reads these attributes
        pass
    m = _M()
    m.running_mean, m.running_var, m.weight, m.bias, m.eps = running_mean, running_var, weight, bias, eps
    return batchnorm_module(g, m, x, out, label)


@register_function("F.local_response_norm")
def lrn_fn(g, out, label, x, size, alpha=1e-4, beta=0.75, k=1.0):
    return _lrn(g, label, x, int(size), float(alpha), float(beta), float(k))


@register_function("convnet.tensor", "core.tensor", "convnet.from_numpy", "core.from_numpy")
def tensor_fn(g, out, label, *args, **kwargs):
    """A tensor made from data inside forward is a constant of the graph."""
    return g.const(out.detach().numpy(), _np_dtype(out), "tensor")


def _filled(g, label, out, value, shape=None):
    """A ConstantOfShape for `out`; with a dynamic batch, a first dimension equal to the example's
    batch size is read from the first model input at run time."""
    if shape is None:
        dims = list(out.shape)
        if g.dynamic_batch and dims and dims[0] == g.batch:
            batch = g.node("Slice", [g.node("Shape", [g.first_input], hint=label_hint(label)),
                                     g.const([0], np.int64, "start"), g.const([1], np.int64, "end")],
                           hint=label_hint(label))
            shape = g.node("Concat", [batch, g.const(dims[1:], np.int64, "dims")], hint=label_hint(label), axis=0)
        else:
            shape = g.const(dims, np.int64, "dims")
    fill = g.onnx.numpy_helper.from_array(np.array([value], dtype=_np_dtype(out)), "value")
    return g.node("ConstantOfShape", [shape], hint=label_hint(label), value=fill)


@register_function("core.zeros", "convnet.zeros", "core.ones", "convnet.ones")
def filled_fn(g, out, label, *args, **kwargs):
    return _filled(g, label, out, 1.0 if label == "ones" else 0.0)


@register_function("core.zeros_like", "convnet.zeros_like", "core.ones_like", "convnet.ones_like")
def filled_like_fn(g, out, label, x):
    shape = g.node("Shape", [g.name(x, label)], hint=label_hint(label))
    return _filled(g, label, out, 1.0 if label == "ones_like" else 0.0, shape)


@register_function("convnet.cat", "convnet.concat", "core.cat", "core.concat")
def cat_fn(g, out, label, tensors, dim=0):
    names = [g.name(t, label) for t in tensors]
    return g.node("Concat", names, hint=label_hint(label), axis=int(dim))
