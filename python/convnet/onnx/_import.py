"""Import: an ONNX graph run node by node with convnet ops inside a convnet Module.

Values during a forward pass are convnet Tensors (activations, parameters) or NumPy arrays
(integer initializers, Constant nodes and the shape arithmetic that exporters emit around
Reshape: Shape, Gather, Unsqueeze, Concat, ...). A node whose inputs are all NumPy runs in
NumPy, so shape computations fold to constants whatever the batch size. Each ONNX operator has
one importer `fn(node, *inputs) -> output or tuple of outputs` in `OPS` (`register_op`);
`node.attrs` holds the node's attributes as Python values, `node.opset` the graph's opset.
"""

import math
import os
import re

import numpy as np

from .. import _core, nn
from . import OnnxError, _require_onnx

OPS = {}  # op_type -> importer


def register_op(*names):
    def deco(fn):
        for n in names:
            OPS[n] = fn
        return fn
    return deco


def _check_names(graph, source):
    """Every name the importer reads is text: ONNX's strings are proto2 fields, which protobuf hands
    back as bytes where they are not UTF-8 (a fuzzed initializer name b'3.bia\\x95')."""
    names = [t.name for t in graph.initializer] + [v.name for v in list(graph.input) + list(graph.output)]
    for n in graph.node:
        names += [n.name, n.op_type, n.domain, *n.input, *n.output, *(a.name for a in n.attribute)]
    bad = next((x for x in names if not isinstance(x, str)), None)
    if bad is not None:
        raise OnnxError(f"convnet.onnx.load: {source}: the name {bad!r} is not UTF-8 text")


class Node:
    """What an importer sees of a NodeProto."""

    def __init__(self, proto, onnx, opset):
        self.name = proto.name or (proto.output[0] if proto.output else "")
        self.op_type = proto.op_type
        self.inputs = list(proto.input)
        self.outputs = list(proto.output)
        self.opset = opset
        self.attrs = {}
        for a in proto.attribute:
            v = onnx.helper.get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, onnx.TensorProto):
                v = onnx.numpy_helper.to_array(v)
            self.attrs[a.name] = v
        self.fn = OPS.get(self.op_type)

    def where(self):
        return f"node {self.name!r} ({self.op_type})"

    def error(self, what):
        return OnnxError(f"{self.where()}: {what}")


# ---- value helpers ------------------------------------------------------------------------------

def _is_np(v):
    return isinstance(v, np.ndarray)


def _shape(v):
    return tuple(v.shape)


def _tensor(v, like=None):
    """A convnet tensor for `v` (a NumPy array becomes a float tensor of `like`'s dtype)."""
    if isinstance(v, _core.Tensor):
        return v
    dt = np.float64 if like is not None and str(like.dtype).endswith("float64") else np.float32
    return _core.from_numpy(np.ascontiguousarray(np.asarray(v, dtype=dt)).copy())


def _operand(v, like):
    """The other operand of an arithmetic op: a Python number for a one-element array."""
    if _is_np(v) and v.size == 1 and v.ndim <= max(like.ndim, 0):
        return float(v.reshape(()))
    return _tensor(v, like)


def _F():
    from .. import functional
    return functional


def _ints(v):
    return [int(a) for a in np.asarray(v).reshape(-1)]


# ---- element-wise -------------------------------------------------------------------------------

def _binary(np_fn, commutative):
    def fn(node, a, b):
        if _is_np(a) and _is_np(b):
            return np_fn(a, b)
        if _is_np(a):
            if commutative:
                return np_fn(b, _operand(a, b))
            return np_fn(_tensor(a, b) if not (a.size == 1 and a.ndim <= b.ndim) else float(a.reshape(())), b)
        return np_fn(a, _operand(b, a))
    return fn


register_op("Add")(_binary(lambda a, b: a + b, True))
register_op("Mul")(_binary(lambda a, b: a * b, True))
register_op("Sub")(_binary(lambda a, b: a - b, False))
register_op("Div")(_binary(lambda a, b: (a // b if _is_np(a) and a.dtype.kind == "i" else a / b), False))


@register_op("Pow")
def pow_op(node, x, e):
    if _is_np(x) and _is_np(e):
        return np.power(x, e)
    if not _is_np(e) or e.size != 1:
        raise node.error("only a constant scalar exponent is supported")
    return _tensor(x) ** float(e.reshape(()))


def _unary(name, np_fn=None):
    def fn(node, x):
        if _is_np(x) and np_fn is not None:
            return np_fn(x)
        return getattr(_tensor(x), name)()
    return fn


register_op("Neg")(lambda node, x: -x)
register_op("Exp")(_unary("exp", np.exp))
register_op("Log")(_unary("log", np.log))
register_op("Sqrt")(_unary("sqrt", np.sqrt))
register_op("Abs")(_unary("abs", np.abs))
register_op("Relu")(_unary("relu"))
register_op("Sigmoid")(_unary("sigmoid"))
register_op("Tanh")(_unary("tanh"))


@register_op("LeakyRelu")
def leaky_relu_op(node, x):
    return _F().leaky_relu(x, float(node.attrs.get("alpha", 0.01)))


@register_op("PRelu")
def prelu_op(node, x, slope):
    # relu(x) - slope * relu(-x), differentiable in the slope
    return x.relu() - _operand(slope, x) * (-x).relu()


@register_op("Clip")
def clip_op(node, x, lo=None, hi=None):
    lo = float(lo.reshape(())) if _is_np(lo) else (None if lo is None else lo.item())
    hi = float(hi.reshape(())) if _is_np(hi) else (None if hi is None else hi.item())
    if node.opset < 11:
        lo, hi = node.attrs.get("min"), node.attrs.get("max")
    y = x
    if lo is not None:
        y = (y - lo).relu() + lo
    if hi is not None:
        y = hi - (hi - y).relu()
    return y


@register_op("Elu")
def elu_op(node, x):
    alpha = float(node.attrs.get("alpha", 1.0))
    return x.relu() + alpha * ((-(-x).relu()).exp() - 1.0)


@register_op("Erf")
def erf_op(node, x):
    """Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7) from differentiable ops; the
    form exporters write GELU in below opset 20."""
    if _is_np(x):
        return np.vectorize(math.erf)(x).astype(x.dtype)
    a = x.abs()
    t = (a * 0.3275911 + 1.0) ** -1.0
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    sign = (x > 0).to(x.dtype) - (x < 0).to(x.dtype)
    return (1.0 - poly * (-(a * a)).exp()) * sign


@register_op("Gelu")
def gelu_op(node, x):
    F = _F()
    if not hasattr(F, "gelu"):
        raise node.error("needs functional.gelu, which this convnet lacks")
    return F.gelu(x, approximate=node.attrs.get("approximate", "none"))


@register_op("Softplus")
def softplus_op(node, x):
    return x.relu() + ((-x.abs()).exp() + 1.0).log()


def _softmax(fn_name):
    def fn(node, x):
        axis = node.attrs.get("axis", -1 if node.opset >= 13 else 1)
        axis = axis % x.ndim
        f = getattr(_F(), fn_name)
        if node.opset >= 13 or axis == x.ndim - 1:
            return f(x, axis)
        shape = _shape(x)  # before opset 13: over the flattened dimensions axis..end
        y = f(x.reshape(int(np.prod(shape[:axis], dtype=np.int64)), -1), 1)
        return y.reshape(*shape)
    return fn


register_op("Softmax")(_softmax("softmax"))
register_op("LogSoftmax")(_softmax("log_softmax"))


@register_op("Dropout", "Identity")
def identity_op(node, x, *rest):
    if node.op_type == "Dropout" and len(node.outputs) > 1 and node.outputs[1]:
        raise node.error("the mask output is not supported")
    return x


# ---- layers -------------------------------------------------------------------------------------

def _spatial_pads(node, x_shape, kernel, strides, dilations):
    """(top, left, bottom, right) from `pads` or `auto_pad`."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        p = node.attrs.get("pads", [0, 0, 0, 0])
        if len(p) != 4:
            raise node.error(f"pads must have 4 values for a 2-D op, got {list(p)}")
        return [int(v) for v in p]
    if auto == "VALID":
        return [0, 0, 0, 0]
    pads = [0] * 4
    for i, (n, k, s, d) in enumerate(zip(x_shape[2:], kernel, strides, dilations)):
        out = -(-n // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        small, big = total // 2, total - total // 2
        pads[i], pads[i + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
    return pads


def _symmetric(node, x, pads, fill=0.0):
    """Applies unequal pads explicitly (needs convnet's pad); returns (input, (ph, pw))."""
    t, l, b, r = pads
    if t == b and l == r:
        return x, (t, l)
    F = _F()
    if not hasattr(F, "pad"):
        raise node.error(f"asymmetric pads {pads} need functional.pad, which this convnet lacks")
    return F.pad(x, (l, r, t, b), value=fill), (0, 0)


def _check_2d(node, x):
    if not isinstance(x, _core.Tensor) or x.ndim != 4:
        raise node.error(f"expected a 4-D (N, C, H, W) input, got shape {_shape(x)}")


@register_op("Conv")
def conv_op(node, x, w, b=None):
    _check_2d(node, x)
    if w.ndim != 4:
        raise node.error(f"only 2-D convolution is supported; weight shape {_shape(w)}")
    kernel = _shape(w)[2:]
    strides = node.attrs.get("strides", [1, 1])
    dil = node.attrs.get("dilations", [1, 1])
    pads = _spatial_pads(node, _shape(x), kernel, strides, dil)
    same = [(d * (k - 1)) // 2 for k, d in zip(kernel, dil)]
    if list(strides) == [1, 1] and pads == same + [d * (k - 1) - s for k, d, s in zip(kernel, dil, same)]:
        pad = "same"  # convnet's padding="same" puts the odd cell at the end, as these pads do
    else:
        x, pad = _symmetric(node, x, pads)
    return _F().conv2d(x, _tensor(w), None if b is None else _tensor(b), tuple(strides), pad, tuple(dil),
                       int(node.attrs.get("group", 1)))


@register_op("ConvTranspose")
def conv_transpose_op(node, x, w, b=None):
    F = _F()
    if not hasattr(F, "conv_transpose2d"):
        raise node.error("needs functional.conv_transpose2d, which this convnet lacks")
    _check_2d(node, x)
    pads = node.attrs.get("pads", [0, 0, 0, 0])
    if pads[0] != pads[2] or pads[1] != pads[3] or node.attrs.get("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise node.error(f"only symmetric explicit pads are supported, got {list(pads)}")
    return F.conv_transpose2d(x, w, b, tuple(node.attrs.get("strides", [1, 1])), (pads[0], pads[1]),
                              tuple(node.attrs.get("output_padding", [0, 0])), int(node.attrs.get("group", 1)),
                              tuple(node.attrs.get("dilations", [1, 1])))


@register_op("Gemm")
def gemm_op(node, a, b, c=None):
    if node.attrs.get("transA", 0):
        raise node.error("transA=1 is not supported")
    alpha, beta = float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0))
    a = _tensor(a)
    if a.ndim != 2 or b.ndim != 2:
        raise node.error(f"expected 2-D A and B, got shapes {_shape(a)} and {_shape(b)}")
    if node.attrs.get("transB", 0):
        if c is not None and alpha == 1.0 and beta == 1.0 and c.ndim == 1 and _shape(c)[0] == _shape(b)[0]:
            return _F().linear(a, _tensor(b, a), _tensor(c, a))
        y = _F().linear(a, _tensor(b, a))
    else:
        y = a.matmul(_tensor(b, a))
    if alpha != 1.0:
        y = y * alpha
    if c is not None:
        y = y + (_operand(c, y) if beta == 1.0 else _operand(c, y) * beta)
    return y


@register_op("MatMul")
def matmul_op(node, a, b):
    if _is_np(a) and _is_np(b):
        return a @ b
    return _tensor(a, b if not _is_np(b) else None).matmul(_tensor(b, a if not _is_np(a) else None))


def _pool_args(node, x):
    _check_2d(node, x)
    kernel = node.attrs.get("kernel_shape")
    if kernel is None or len(kernel) != 2:
        raise node.error(f"expected a 2-D kernel_shape, got {kernel}")
    strides = node.attrs.get("strides", [1, 1])
    dil = node.attrs.get("dilations", [1, 1])
    pads = _spatial_pads(node, _shape(x), kernel, strides, dil)
    return tuple(kernel), tuple(strides), tuple(dil), pads, bool(node.attrs.get("ceil_mode", 0))


@register_op("MaxPool")
def max_pool_op(node, x):
    if len(node.outputs) > 1 and node.outputs[1]:
        raise node.error("the Indices output is not supported")
    kernel, strides, dil, pads, ceil = _pool_args(node, x)
    x, pad = _symmetric(node, x, pads, fill=-math.inf)
    return _F().max_pool2d(x, kernel, strides, pad, dil, ceil)


@register_op("AveragePool")
def avg_pool_op(node, x):
    kernel, strides, dil, pads, ceil = _pool_args(node, x)
    if dil != (1, 1):
        raise node.error(f"dilations {list(dil)} are not supported")
    include = bool(node.attrs.get("count_include_pad", 0))
    if (pads[0] != pads[2] or pads[1] != pads[3]) and not include:
        raise node.error(f"asymmetric pads {pads} with count_include_pad=0 are not supported")
    x, pad = _symmetric(node, x, pads)  # zeros counted either way
    return _F().avg_pool2d(x, kernel, strides, pad, ceil, include)


@register_op("GlobalAveragePool")
def global_avg_pool_op(node, x):
    _check_2d(node, x)
    return _F().adaptive_avg_pool2d(x, 1)


@register_op("GlobalMaxPool")
def global_max_pool_op(node, x):
    _check_2d(node, x)
    n, c = _shape(x)[:2]
    return x.flatten(2).max(dim=2, keepdim=True).values.reshape(n, c, 1, 1)


@register_op("BatchNormalization")
def batch_norm_op(node, x, scale, bias, mean, var):
    if node.attrs.get("training_mode", 0) or any(node.outputs[1:]):
        raise node.error("training mode (running statistics as outputs) is not supported")
    c = _shape(x)[1]
    for what, v in (("scale", scale), ("B", bias), ("mean", mean), ("var", var)):
        if _shape(v) != (c,):
            raise node.error(f"{what} has shape {_shape(v)}, expected ({c},) for input shape {_shape(x)}")
    eps = float(node.attrs.get("epsilon", 1e-5))
    bshape = (1, c) + (1,) * (x.ndim - 2)
    inv = _tensor(scale, x) / (_tensor(var, x) + eps).sqrt()
    return (x - _tensor(mean, x).reshape(*bshape)) * inv.reshape(*bshape) + _tensor(bias, x).reshape(*bshape)


@register_op("LRN")
def lrn_op(node, x):
    size = int(node.attrs["size"])
    alpha, beta = float(node.attrs.get("alpha", 1e-4)), float(node.attrs.get("beta", 0.75))
    k = float(node.attrs.get("bias", 1.0))
    F = _F()
    if size % 2 and hasattr(F, "local_response_norm"):  # PyTorch's window, the same for odd sizes
        return F.local_response_norm(x, size, alpha, beta, k)
    _check_2d(node, x)
    n, c, h, w = _shape(x)
    # Sum of squares over channels c - (size-1)//2 .. c + size//2: average pooling along C, times size.
    sq = (x * x).reshape(n, 1, c, h * w)
    before, after = (size - 1) // 2, size // 2
    if before != after:
        if not hasattr(F, "pad"):
            raise node.error(f"an even size ({size}) needs functional.pad, which this convnet lacks")
        sq, before = F.pad(sq, (0, 0, before, after)), 0
    window = F.avg_pool2d(sq, (size, 1), (1, 1), (before, 0), False, True) * float(size)
    return x * ((window.reshape(n, c, h, w) * (alpha / size) + k) ** (-beta))


@register_op("Pad")
def pad_op(node, x, pads=None, value=None, axes=None):
    mode = node.attrs.get("mode", "constant")
    pads = _ints(pads) if pads is not None else list(node.attrs.get("pads", []))
    nd = x.ndim
    if axes is not None:
        full = [0] * (2 * nd)
        ax = [a % nd for a in _ints(axes)]
        for i, a in enumerate(ax):
            full[a], full[a + nd] = pads[i], pads[i + len(ax)]
        pads = full
    if any(pads[:2]) or any(pads[nd:nd + 2]):
        raise node.error(f"padding of the batch or channel dimension is not supported: {pads}")
    torch_pad = []
    for d in range(nd - 1, 1, -1):
        torch_pad += [pads[d], pads[d + nd]]
    F = _F()
    if not hasattr(F, "pad"):
        raise node.error("needs functional.pad, which this convnet lacks")
    fill = 0.0 if value is None else float(np.asarray(value).reshape(()))
    torch_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}.get(mode)
    if torch_mode is None:
        raise node.error(f"mode {mode!r} is not supported")
    return F.pad(x, tuple(torch_pad), mode=torch_mode, value=fill) if torch_mode == "constant" else \
        F.pad(x, tuple(torch_pad), mode=torch_mode)


@register_op("Resize")
def resize_op(node, x, roi=None, scales=None, sizes=None):
    """Nearest-neighbour upsampling by whole factors (each input cell repeated), the form that
    exporters write for Upsample(mode='nearest') and for adaptive pooling to a multiple; linear
    modes through functional.interpolate where convnet has it."""
    _check_2d(node, x)
    n, c, h, w = _shape(x)
    if sizes is not None and np.asarray(sizes).size:
        oh, ow = _ints(sizes)[-2:]
    elif scales is not None and np.asarray(scales).size:
        sc = np.asarray(scales, dtype=np.float64).reshape(-1)
        oh, ow = int(math.floor(h * sc[-2])), int(math.floor(w * sc[-1]))
    else:
        raise node.error("needs scales or sizes")
    mode = node.attrs.get("mode", "nearest")
    ctm = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    nearest = node.attrs.get("nearest_mode", "round_prefer_floor")
    floor_like = (ctm == "asymmetric" and nearest == "floor") or (
        ctm in ("half_pixel", "pytorch_half_pixel") and nearest.startswith("round_prefer"))
    F = _F()
    if mode == "linear" and ctm in ("align_corners", "half_pixel", "pytorch_half_pixel") and hasattr(F, "interpolate"):
        return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=ctm == "align_corners")
    if mode != "nearest" or oh % h or ow % w or not floor_like:
        raise node.error(f"only nearest upsampling by whole factors is supported (mode={mode!r}, "
                         f"coordinate_transformation_mode={ctm!r}, nearest_mode={nearest!r}, "
                         f"{(h, w)} -> {(oh, ow)})")
    sh, sw = oh // h, ow // w
    ones = _core.ones([1, 1, 1, sh, 1, sw], dtype=x.dtype)
    return (x.reshape(n, c, h, 1, w, 1) * ones).reshape(n, c, oh, ow)


@register_op("LpPool")
def lp_pool_op(node, x):
    F = _F()
    if not hasattr(F, "lp_pool2d"):
        raise node.error("needs functional.lp_pool2d, which this convnet lacks")
    kernel, strides, _, pads, ceil = _pool_args(node, x)
    if any(pads):
        raise node.error(f"pads {pads} are not supported")
    return F.lp_pool2d(x, float(node.attrs.get("p", 2)), kernel, strides, ceil)


# ---- shapes -------------------------------------------------------------------------------------

@register_op("Flatten")
def flatten_op(node, x):
    shape = _shape(x)
    axis = node.attrs.get("axis", 1) % (len(shape) + 1) if shape else 0
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    if _is_np(x):
        return x.reshape(outer, -1)
    return x.reshape(outer, int(np.prod(shape[axis:], dtype=np.int64)))


@register_op("Reshape")
def reshape_op(node, x, shape):
    if not _is_np(shape):
        raise node.error("the target shape must be a constant or computed from shapes")
    target = _ints(shape)
    if not node.attrs.get("allowzero", 0):
        target = [_shape(x)[i] if t == 0 else t for i, t in enumerate(target)]
    if _is_np(x):
        return x.reshape(target)
    known = int(np.prod([t for t in target if t != -1], dtype=np.int64))
    if target.count(-1) > 1 or (-1 not in target and known != x.numel()) or (
            -1 in target and (known == 0 or x.numel() % known)):
        raise node.error(f"cannot reshape input of shape {_shape(x)} to {target}")
    return x.reshape(*target)


@register_op("Shape")
def shape_op(node, x):
    s = np.array(_shape(x), dtype=np.int64)
    start, end = node.attrs.get("start", 0), node.attrs.get("end")
    return s[start:end]


@register_op("Gather")
def gather_op(node, data, indices):
    if not (_is_np(data) and _is_np(indices)):
        raise node.error("only gathers on constants and shapes are supported")
    return np.take(data, indices, axis=node.attrs.get("axis", 0))


def _axes(node, axes):
    return _ints(axes) if axes is not None else list(node.attrs.get("axes", []))


@register_op("Unsqueeze")
def unsqueeze_op(node, x, axes=None):
    axes = _axes(node, axes)
    rank = len(_shape(x)) + len(axes)
    shape = list(_shape(x))
    for a in sorted(a % rank for a in axes):
        shape.insert(a, 1)
    return x.reshape(shape) if _is_np(x) else x.reshape(*shape)


@register_op("Squeeze")
def squeeze_op(node, x, axes=None):
    axes = _axes(node, axes)
    shape = _shape(x)
    drop = {a % len(shape) for a in axes} if axes else {i for i, s in enumerate(shape) if s == 1}
    new = [s for i, s in enumerate(shape) if i not in drop]
    return x.reshape(new) if _is_np(x) else x.reshape(*new)


@register_op("Concat")
def concat_op(node, *xs):
    axis = int(node.attrs["axis"])
    if all(_is_np(v) for v in xs):
        return np.concatenate(xs, axis=axis)
    cat = getattr(_core, "cat", None)
    if cat is None:
        raise node.error("concatenating tensors needs convnet.cat, which this convnet lacks")
    like = next(v for v in xs if not _is_np(v))
    return cat([_tensor(v, like) for v in xs], axis)


@register_op("Slice")
def slice_op(node, x, starts, ends, axes=None, steps=None):
    if not _is_np(x):
        raise node.error("only slices of constants and shapes are supported")
    sl = [slice(None)] * x.ndim
    axes = _ints(axes) if axes is not None else list(range(len(_ints(starts))))
    steps = _ints(steps) if steps is not None else [1] * len(axes)
    for a, s, e, st in zip(axes, _ints(starts), _ints(ends), steps):
        sl[a] = slice(s, e, st)
    return x[tuple(sl)]


@register_op("Cast")
def cast_op(node, x):
    onnx = _require_onnx()
    to = onnx.helper.tensor_dtype_to_np_dtype(node.attrs["to"])
    if _is_np(x):
        return x.astype(to)
    if to == np.float32:
        return x.float()
    if to == np.float64:
        return x.double()
    raise node.error(f"casting a tensor to {np.dtype(to)} is not supported")


@register_op("Transpose")
def transpose_op(node, x):
    if not _is_np(x):
        raise node.error("only transposes of constants are supported")
    return np.transpose(x, node.attrs.get("perm"))


@register_op("Constant")
def constant_op(node):
    a = node.attrs
    if "value" in a:
        return np.asarray(a["value"])
    for key, dt in (("value_float", np.float32), ("value_floats", np.float32), ("value_int", np.int64),
                    ("value_ints", np.int64)):
        if key in a:
            return np.asarray(a[key], dtype=dt)
    raise node.error(f"unsupported constant attribute(s) {sorted(a)}")


@register_op("ConstantOfShape")
def constant_of_shape_op(node, shape):
    value = node.attrs.get("value", np.zeros(1, np.float32))
    return np.full(_ints(shape), np.asarray(value).reshape(-1)[0], dtype=np.asarray(value).dtype)


def _reduce(name):
    def fn(node, x, axes=None):
        axes = _axes(node, axes) or None
        keep = bool(node.attrs.get("keepdims", 1))
        if _is_np(x):
            return getattr(np, name)(x, axis=None if axes is None else tuple(axes), keepdims=keep)
        return getattr(_core, name)(x, axes, keep)
    return fn


register_op("ReduceMean")(_reduce("mean"))
register_op("ReduceSum")(_reduce("sum"))


# ---- the module ---------------------------------------------------------------------------------

_IDENT = re.compile(r"[^0-9A-Za-z_]")


class _Graph:
    """The parsed graph that an OnnxModule runs (kept off the Module's attribute registry)."""


class OnnxModule(nn.Module):
    """A convnet module running an imported ONNX graph."""

    def __init__(self, graph):
        super().__init__()
        self._onnx = graph

    def forward(self, *inputs):
        g = self._onnx
        if len(inputs) != len(g.inputs):
            raise OnnxError(f"{g.source}: the graph has {len(g.inputs)} input(s) "
                            f"{[n for n, _ in g.inputs]}, got {len(inputs)}")
        env = dict(g.consts)
        for init, (mod, attr) in g.params.items():
            env[init] = getattr(mod, attr)
        for (name, dims), x in zip(g.inputs, inputs):
            if not isinstance(x, _core.Tensor):
                raise OnnxError(f"{g.source}: input {name!r} must be a Tensor, got {type(x).__name__}")
            if len(dims) != x.ndim or any(isinstance(d, int) and d != s for d, s in zip(dims, x.shape)):
                raise OnnxError(f"{g.source}: input {name!r} has shape {tuple(x.shape)}, the graph expects "
                                f"{tuple(dims)}")
            env[name] = x
        for node in g.nodes:
            args = [env[i] if i else None for i in node.inputs]
            while args and args[-1] is None:
                args.pop()
            try:
                out = node.fn(node, *args)
            except OnnxError:
                raise
            except (ValueError, RuntimeError, TypeError, IndexError, AttributeError, KeyError) as e:
                shapes = ", ".join(str(_shape(a)) if a is not None else "-" for a in args)
                raise node.error(f"{e} (input shapes {shapes})") from e
            outs = out if isinstance(out, tuple) else (out,)
            for name, v in zip(node.outputs, outs):
                if name:
                    env[name] = v
        results = tuple(_tensor(env[n]) for n in g.outputs)
        return results[0] if len(results) == 1 else results

    def extra_repr(self):
        g = self._onnx
        return f"source={g.source!r}, nodes={len(g.nodes)}"


def _dims(value_info):
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim)


def _attach(root, name, used):
    """The submodule and attribute that initializer `name` lives at (dots make nested modules)."""
    parts = [(_IDENT.sub("_", p) or "_") for p in name.split(".")]
    mod = root
    for p in parts[:-1]:
        children = dict(mod.named_children())
        while p not in children and p in used.get(id(mod), ()):  # the name is a parameter's
            p += "_"
        child = children.get(p)
        if child is None:
            child = nn.Module()
            mod.add_module(p, child)
            used.setdefault(id(mod), set()).add(p)
        mod = child
    attr = parts[-1]
    taken = used.setdefault(id(mod), set())
    while attr in taken or attr in dict(mod.named_children()):
        attr += "_"
    taken.add(attr)
    return mod, attr


def load(path):
    onnx = _require_onnx()
    if isinstance(path, onnx.ModelProto):
        model, source = path, "<ModelProto>"
    else:
        source = os.fspath(path)
        if not os.path.exists(source):
            raise FileNotFoundError(f"convnet.onnx.load: no such file: {source}")
        try:
            model = onnx.load(source)
        except Exception as e:  # protobuf's DecodeError and friends
            raise OnnxError(f"convnet.onnx.load: {source} is not a valid ONNX file ({type(e).__name__}: {e})") from e
    try:
        light = weightless(onnx, model)  # protobuf decodes strings when read (UnicodeDecodeError)
        onnx.checker.check_model(light)
    except Exception as e:
        raise OnnxError(f"convnet.onnx.load: {source} is not a valid ONNX model: {e}") from e
    _check_names(model.graph, source)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset is None:
        raise OnnxError(f"convnet.onnx.load: {source} imports no default-domain opset")

    graph = model.graph
    nodes = [Node(n, onnx, opset) for n in graph.node]
    for proto, n in zip(graph.node, nodes):
        if proto.domain not in ("", "ai.onnx") or n.fn is None:
            raise OnnxError(f"convnet.onnx.load: {source}: {n.where()}: operator "
                            f"{(proto.domain + '.') if proto.domain else ''}{n.op_type} is not supported "
                            f"(supported: {', '.join(sorted(OPS))})")

    # Own checks first (their messages name the weights), on the shapes that lenient inference
    # finds; then ONNX's strict inference for everything else.
    try:
        init_arrays = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
    except Exception as e:
        raise OnnxError(f"convnet.onnx.load: {source}: unreadable initializer ({e})") from e
    try:
        inferred = onnx.shape_inference.infer_shapes(light)
    except Exception:
        inferred = light
    shapes = {v.name: _dims(v) for v in list(inferred.graph.value_info) + list(light.graph.input)}
    _check_weights(nodes, init_arrays, shapes, source)
    try:
        onnx.shape_inference.infer_shapes(light, check_type=True, strict_mode=True)
    except Exception as e:
        msg = str(e).replace("\n", " ")
        raise OnnxError(f"convnet.onnx.load: {source}: shapes do not agree: {msg}") from e
    buffer_names = {n.inputs[i] for n in nodes if n.op_type == "BatchNormalization"
                    for i in (3, 4) if i < len(n.inputs)}

    g = _Graph()
    g.source = source
    g.nodes = nodes
    g.outputs = [o.name for o in graph.output]
    g.inputs = [(i.name, _dims(i) or ()) for i in graph.input if i.name not in init_arrays]
    g.consts, g.params = {}, {}
    module = OnnxModule(g)
    used = {}
    for name, arr in init_arrays.items():
        if arr.dtype.kind != "f":
            g.consts[name] = arr
            continue
        # one copy at most: an owned, writable, contiguous float32 (float64 kept) array
        arr = np.require(arr, np.float64 if arr.dtype == np.float64 else np.float32, ["C", "W", "O"])
        mod, attr = _attach(module, name, used)
        t = _core.from_numpy(arr)
        if name in buffer_names:
            mod.register_buffer(attr, t)
        else:
            setattr(mod, attr, nn.Parameter(t))
        g.params[name] = (mod, attr)
    return module


def weightless(onnx, model, limit=64):
    """A copy of `model` in which initializers of more than `limit` elements are graph inputs of
    the same type and shape: what the checker and shape inference need, without copying weights."""
    if not model.graph.initializer:
        return model
    light = onnx.ModelProto()
    graph = model.graph
    for field in ("ir_version", "producer_name", "producer_version", "domain", "model_version", "doc_string"):
        setattr(light, field, getattr(model, field))
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    g = light.graph
    g.name = graph.name
    g.node.extend(graph.node)
    g.input.extend(graph.input)
    g.output.extend(graph.output)
    g.value_info.extend(graph.value_info)
    declared = {i.name for i in graph.input}
    for t in graph.initializer:
        if int(np.prod(t.dims, dtype=np.int64)) <= limit:
            g.initializer.append(t)
        elif t.name not in declared:
            g.input.append(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return light


def _check_weights(nodes, inits, shapes, source):
    """Load-time checks of initializer shapes against each other and against the shapes that ONNX
    shape inference found for the activations (`shapes`: value name -> dims, None if unknown)."""
    def err(n, what):
        return OnnxError(f"convnet.onnx.load: {source}: {n.where()}: {what}")

    for n in nodes:
        w = [inits.get(i) for i in n.inputs]
        xs = shapes.get(n.inputs[0]) if n.inputs else None
        if n.op_type == "Conv" and len(w) > 1 and w[1] is not None:
            if w[1].ndim != 4:
                raise err(n, f"only 2-D convolution is supported; weight shape {w[1].shape}")
            group = int(n.attrs.get("group", 1))
            if xs and len(xs) > 1 and isinstance(xs[1], int) and xs[1] != w[1].shape[1] * group:
                raise err(n, f"input '{n.inputs[0]}' has {xs[1]} channels (shape {xs}), the weight "
                             f"{tuple(w[1].shape)} with group={group} expects {w[1].shape[1] * group}")
            if w[1].shape[0] % group:
                raise err(n, f"{w[1].shape[0]} output channels are not divisible by group={group}")
            if len(w) > 2 and w[2] is not None and w[2].shape != (w[1].shape[0],):
                raise err(n, f"bias shape {w[2].shape} does not match weight shape {w[1].shape} "
                             f"(expected ({w[1].shape[0]},))")
        elif n.op_type == "Gemm" and len(w) > 1 and w[1] is not None and w[1].ndim == 2:
            trans = n.attrs.get("transB", 0)
            out, k = (w[1].shape[0], w[1].shape[1]) if trans else (w[1].shape[1], w[1].shape[0])
            if xs and len(xs) == 2 and isinstance(xs[1], int) and xs[1] != k:
                raise err(n, f"input '{n.inputs[0]}' has shape {xs}, the weight {tuple(w[1].shape)} "
                             f"expects {k} features")
            c = w[2] if len(w) > 2 else None
            if c is not None and (c.size not in (1, out) and (c.ndim == 0 or c.shape[-1] not in (1, out))):
                raise err(n, f"C shape {c.shape} does not match B shape {w[1].shape} (output features {out})")
        elif n.op_type == "BatchNormalization":
            shapes = {i: v.shape for i, v in zip(n.inputs[1:], w[1:]) if v is not None}
            if len(set(shapes.values())) > 1:
                raise err(n, "scale, B, mean and var must have one shape (C,), got "
                             + ", ".join(f"{k} {s}" for k, s in shapes.items()))
