"""Model exchange through ONNX (needs the optional `onnx` package: `pip install convnet[onnx]`).

`export(model, example_input, path)` traces one forward pass of a convnet model and writes the
ONNX graph; `load(path)` builds a convnet module that runs an ONNX graph with convnet ops, with
the graph's weights as trainable parameters.

Each module type and each traced function has one exporter in `_exporters.py`
(`register_module` / `register_function`) and each ONNX operator one importer in `_import.py`
(`register_op`); a new layer adds one small function on each side.
"""


class OnnxError(ValueError):
    """An ONNX graph or model that cannot be exported or imported; names the node and the problem."""


def _require_onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("convnet.onnx needs the 'onnx' package: pip install 'convnet[onnx]' "
                          "(or pip install onnx)") from None
    return onnx


def export(model, example_input, path, opset=17, input_names=None, output_names=None,
           dynamic_batch=True):
    """Trace `model` on `example_input` (a Tensor or a tuple of Tensors) and write an ONNX file.

    The model runs once in eval mode (its train/eval flags are restored afterwards). Built-in
    modules, the functions of `convnet.functional` and the Tensor operators (`+`, `*`, `reshape`,
    `view`, `flatten`, ...) called from Python forwards are recorded. With `dynamic_batch` the
    first dimension of the inputs and outputs is named `batch` and may change at run time.
    Returns the `onnx.ModelProto` written.
    """
    from ._export import export as _export
    return _export(model, example_input, path, opset, input_names, output_names, dynamic_batch)


def load(path):
    """Build a convnet `nn.Module` that runs the ONNX graph in `path` (or a `ModelProto`).

    Floating-point initializers become Parameters named after the initializers (a name with dots,
    such as `layer1.0.weight`, becomes nested submodules, so `state_dict()` keys equal the
    initializer names); BatchNormalization statistics become buffers.
    """
    from ._import import load as _load
    return _load(path)


from ._exporters import register_function, register_module  # noqa: E402
from ._import import OnnxModule, register_op  # noqa: E402

__all__ = ["OnnxError", "OnnxModule", "export", "load", "register_function", "register_module", "register_op"]
