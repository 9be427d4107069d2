"""Export by tracing: one forward pass records which modules and functions run.

A value of the ONNX graph is identified by the tensor that carries it during the trace
(`hash(t)` is the address of the tensor's shared implementation, the same for every Python
object wrapping that tensor). Every tensor seen is kept alive until the trace ends, so an
address is never reused for another tensor.

What is recorded:
- every module whose type has an exporter (`_exporters.MODULES`) through a forward hook: the
  exporter writes its nodes and the hook maps the module's output to them. A module whose
  forward is itself traced (a Python `forward` calling functions) may leave inner nodes behind;
  the module's own nodes replace them as the producer of its output and the unused ones are
  dropped at the end;
- the functions and Tensor methods listed in `_exporters.FUNCTIONS`, patched for the duration
  of the trace (in `convnet`, `convnet._core`, `convnet.functional`, `convnet.nn.functional` and
  on `Tensor`); a function called through a name bound before the trace (`from
  convnet.functional import relu`) is not seen.
A failure to export one call is kept as an error that is raised only if that call's output is
used by the graph.
"""

import contextlib
import os

import numpy as np

from .. import _core
from . import OnnxError, _require_onnx


class _Failed:
    """The output of a call that could not be exported: raised if something uses it."""

    def __init__(self, message):
        self.message = message


class Graph:
    """The ONNX graph under construction; exporters call `name`, `const`, `node`."""

    def __init__(self, onnx, opset, dynamic_batch, batch):
        self.onnx = onnx
        self.opset = opset
        self.dynamic_batch = dynamic_batch
        self.batch = batch  # the example's batch size
        self.first_input = None  # the first model input's name
        self.nodes = []  # (NodeProto, [output names])
        self.initializers = {}  # name -> TensorProto
        self.values = {}  # tensor key -> value name or _Failed
        self.keep = []  # every tensor seen, kept alive
        self.used_names = set()
        self.counter = {}

    def fresh(self, hint):
        base = hint.replace("/", "_") or "v"
        n = self.counter.get(base, 0)
        while True:
            name = base if n == 0 else f"{base}_{n}"
            n += 1
            if name not in self.used_names:
                break
        self.counter[base] = n
        self.used_names.add(name)
        return name

    def name(self, t, who):
        """The value name carried by tensor `t` (an input of `who`)."""
        v = self.values.get(hash(t))
        if v is None:
            raise OnnxError(f"{who}: an input of shape {tuple(t.shape)} was produced by an operation the "
                            "exporter does not trace (not a model input, parameter, buffer or output of a "
                            "traced module or function)")
        if isinstance(v, _Failed):
            raise OnnxError(v.message)
        return v

    def bind(self, t, value):
        self.keep.append(t)
        self.values[hash(t)] = value

    def initializer(self, name, array):
        """Adds an initializer called `name` holding `array`; returns the name."""
        self.used_names.add(name)
        self.initializers[name] = self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def const(self, value, dtype=np.float32, hint="const"):
        """A Constant node holding `value` (a number or an array) as `dtype`; returns its output."""
        arr = np.asarray(value, dtype=dtype)
        out = self.fresh(hint)
        t = self.onnx.numpy_helper.from_array(arr, out)
        self._append(self.onnx.helper.make_node("Constant", [], [out], name=out, value=t), [out])
        return out

    def node(self, op_type, inputs, hint=None, n_out=1, **attrs):
        """Adds a node; `inputs` are value names ('' for an absent optional input). Returns the
        output name (or the list of names when n_out > 1)."""
        hint = hint or op_type
        outs = [self.fresh(f"{hint}_out" if n_out == 1 else f"{hint}_out{i}") for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self._append(self.onnx.helper.make_node(op_type, list(inputs), outs, name=self.fresh(hint), **attrs), outs)
        return outs[0] if n_out == 1 else outs

    def _append(self, node, outs):
        self.nodes.append((node, outs))

    def shape_for_reshape(self, in_shape, out_shape):
        """The Reshape target for `out_shape`: with a dynamic batch, a first dimension equal to the
        input's is copied (0) and any other first dimension inferred (-1)."""
        target = list(out_shape)
        if self.dynamic_batch and target and in_shape:
            target[0] = 0 if target[0] == in_shape[0] else -1
        return self.const(target, np.int64, "shape")


class _Tracer:
    current = None  # the active trace (a trace is not re-entrant)

    def __init__(self, graph):
        self.g = graph
        self.busy = False

    def record(self, who, fn, inputs, output):
        """Runs exporter `fn` for a call whose result is `output` (a Tensor) and binds the result."""
        if self.busy or not isinstance(output, _core.Tensor):
            return
        self.busy = True
        n_nodes = len(self.g.nodes)
        try:
            value = fn()
        except OnnxError as e:
            del self.g.nodes[n_nodes:]
            value = _Failed(str(e))
        except (AttributeError, TypeError, ValueError) as e:  # arguments the exporter does not handle
            del self.g.nodes[n_nodes:]
            value = _Failed(f"{who}: cannot be exported ({type(e).__name__}: {e})")
        finally:
            self.busy = False
        self.g.bind(output, value)
        for t in inputs:
            if isinstance(t, _core.Tensor):
                self.g.keep.append(t)


def _module_hook(tracer, label, exporter):
    def hook(module, inputs, output):
        x = inputs[0]
        tracer.record(label, lambda: exporter(tracer.g, module, x, output, label), inputs, output)
        return None
    return hook


def _unknown_module_hook(tracer, label, type_name):
    def hook(module, inputs, output):
        if hash(output) not in tracer.g.values:
            tracer.g.bind(output, _Failed(f"{label}: no ONNX exporter for module type {type_name}"))
        return None
    return hook


@contextlib.contextmanager
def _patched(tracer, functions):
    """Replaces the traced functions and Tensor methods by recording wrappers, then restores them."""
    import convnet
    from .. import functional as F
    from ..nn import functional as NF

    saved = []
    targets = {"convnet": convnet, "core": _core, "F": F, "NF": NF, "Tensor": _core.Tensor}

    def wrap(orig, exporter, label):
        def traced(*args, **kwargs):
            out = orig(*args, **kwargs)
            if _Tracer.current is tracer:
                tensors = [a for a in args if isinstance(a, _core.Tensor)]
                tracer.record(label, lambda: exporter(tracer.g, out, label, *args, **kwargs), tensors, out)
            return out
        traced.__name__ = getattr(orig, "__name__", label)
        traced.__doc__ = getattr(orig, "__doc__", None)
        return traced

    try:
        for where, attr, exporter in functions:
            owner = targets[where]
            raw = vars(owner).get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
            if raw is None:
                continue
            orig = getattr(owner, attr)
            label = f"Tensor.{attr}" if where == "Tensor" else f"{attr}"
            saved.append((owner, attr, raw))
            setattr(owner, attr, wrap(orig, exporter, label))
        yield
    finally:
        for owner, attr, raw in reversed(saved):
            setattr(owner, attr, raw)


def _is_python_forward(module):
    for cls in type(module).__mro__:
        if cls.__module__ == "convnet._core":
            return False
        if "forward" in vars(cls):
            return True
    return False


def _module_exporter(module, modules):
    """The exporter registered for `module`'s type (its own class, or the class it subclasses
    without redefining forward)."""
    for cls in type(module).__mro__:
        fn = modules.get(cls.__name__)
        if fn is not None and _nn_class(cls.__name__) is cls:
            return fn
        if "forward" in vars(cls) and cls.__module__ != "convnet._core":
            return None
    return None


def _nn_class(name):
    from .. import nn
    return getattr(nn, name, None)


def _as_inputs(example_input):
    if isinstance(example_input, _core.Tensor):
        return (example_input,)
    if isinstance(example_input, (tuple, list)) and example_input and all(
            isinstance(t, _core.Tensor) for t in example_input):
        return tuple(example_input)
    raise OnnxError("convnet.onnx.export: example_input must be a Tensor or a tuple of Tensors, got "
                    f"{type(example_input).__name__}")


def _value_info(onnx, name, t, dynamic):
    dims = list(t.shape)
    if dynamic and dims:
        dims[0] = "batch"
    elem = onnx.helper.np_dtype_to_tensor_dtype(np.dtype(t.numpy().dtype))
    return onnx.helper.make_tensor_value_info(name, elem, dims)


def _prune(graph, outputs):
    """Keeps the nodes that the outputs depend on, in their recorded order; raises the first
    failed call that a kept node or an output depends on."""
    producer = {}
    for i, (node, outs) in enumerate(graph.nodes):
        for o in outs:
            producer[o] = i
    live, stack = set(), list(outputs)
    while stack:
        v = stack.pop()
        i = producer.get(v)
        if i is None or i in live:
            continue
        live.add(i)
        stack.extend(x for x in graph.nodes[i][0].input if x)
    nodes = [graph.nodes[i][0] for i in sorted(live)]
    used = {x for n in nodes for x in n.input} | set(outputs)
    inits = [t for name, t in graph.initializers.items() if name in used]
    return nodes, inits


def export(model, example_input, path, opset=17, input_names=None, output_names=None, dynamic_batch=True):
    onnx = _require_onnx()
    from . import _exporters

    if not 13 <= int(opset) <= onnx.defs.onnx_opset_version():
        raise OnnxError(f"convnet.onnx.export: opset {opset} is not supported (13 to "
                        f"{onnx.defs.onnx_opset_version()})")
    if _Tracer.current is not None:
        raise OnnxError("convnet.onnx.export: an export is already running")
    inputs = _as_inputs(example_input)
    if input_names is None:
        input_names = ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))]
    if len(input_names) != len(inputs):
        raise OnnxError(f"convnet.onnx.export: {len(input_names)} input_names for {len(inputs)} inputs")

    g = Graph(onnx, int(opset), dynamic_batch, inputs[0].shape[0] if inputs[0].ndim else None)
    for name in input_names:
        g.used_names.add(name)
    for x, name in zip(inputs, input_names):
        g.bind(x, name)
    g.first_input = input_names[0]
    for pname, p in model.named_parameters():
        if hash(p) not in g.values:
            g.bind(p, g.initializer(pname, p.detach().numpy()))
    for bname, b in model.named_buffers():
        if hash(b) not in g.values:
            g.bind(b, g.initializer(bname, b.detach().numpy()))

    tracer = _Tracer(g)
    handles = []
    modes = [(m, m.training) for m in model.modules()]
    try:
        for mname, m in model.named_modules():
            label = f"{type(m).__name__}" + (f" '{mname}'" if mname else "")
            fn = _module_exporter(m, _exporters.MODULES)
            if fn is not None:
                handles.append(m.register_forward_hook(_module_hook(tracer, label, fn)))
            elif not _is_python_forward(m) and not len(m.named_children()):
                handles.append(m.register_forward_hook(_unknown_module_hook(tracer, label, type(m).__name__)))
        model.eval()
        with _no_grad(), _patched(tracer, _exporters.FUNCTIONS):
            _Tracer.current = tracer
            try:
                result = model(*inputs)
            finally:
                _Tracer.current = None
    finally:
        for h in handles:
            h.remove()
        for m, training in modes:
            m.train(training)

    outs = result if isinstance(result, (tuple, list)) else (result,)
    if not all(isinstance(t, _core.Tensor) for t in outs):
        raise OnnxError("convnet.onnx.export: the model must return a Tensor or a tuple of Tensors")
    if output_names is None:
        output_names = ["output"] if len(outs) == 1 else [f"output_{i}" for i in range(len(outs))]
    if len(output_names) != len(outs):
        raise OnnxError(f"convnet.onnx.export: {len(output_names)} output_names for {len(outs)} outputs")
    out_values = []
    for t, name in zip(outs, output_names):
        v = g.name(t, f"model output '{name}'")
        # Outputs get their requested names through Identity nodes (a value may be an input too).
        g.nodes.append((onnx.helper.make_node("Identity", [v], [name], name=g.fresh(f"{name}_identity")), [name]))
        out_values.append(name)

    nodes, inits = _prune(g, out_values)
    graph = onnx.helper.make_graph(
        nodes, "convnet",
        [_value_info(onnx, n, x, dynamic_batch) for x, n in zip(inputs, input_names)],
        [_value_info(onnx, n, t, dynamic_batch and t.ndim and t.shape[0] == g.batch)
         for t, n in zip(outs, output_names)],
        inits)
    model_proto = onnx.helper.make_model_gen_version(
        graph, producer_name="convnet", opset_imports=[onnx.helper.make_opsetid("", int(opset))])
    from ._import import weightless
    try:
        onnx.checker.check_model(weightless(onnx, model_proto), full_check=True)
    except onnx.checker.ValidationError as e:
        raise OnnxError(f"convnet.onnx.export: the traced graph is not valid ONNX: {e}") from e
    _write_atomic(path, model_proto.SerializeToString())
    return model_proto


@contextlib.contextmanager
def _no_grad():
    prev = _core.is_grad_enabled()
    _core.set_grad_enabled(False)
    try:
        yield
    finally:
        _core.set_grad_enabled(prev)


def _write_atomic(path, data):
    _core._write_file_atomic(os.fspath(path), data, "convnet.onnx.export")
