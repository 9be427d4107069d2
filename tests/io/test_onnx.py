"""ONNX export (checked in onnxruntime), import (checked against convnet and PyTorch), round
trips and the errors for bad files."""

import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

import convnet  # noqa: E402
import convnet.onnx  # noqa: E402
from convnet import nn  # noqa: E402
from convnet.nn import functional as F  # noqa: E402


def _ort_run(path, *xs):
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(sess.get_inputs(), xs)}
    return sess.run(None, feeds)


def _out(model, *xs):
    with convnet.no_grad():
        y = model(*[convnet.from_numpy(x) for x in xs])
    return y.numpy()


def _check_export(model, x, tmp_path, name="m.onnx", batches=(3,)):
    """Exports `model` on x, compares onnxruntime with convnet (1e-4) for x and for other batch
    sizes, and the imported model with convnet exactly. Returns the path."""
    model.eval()
    path = tmp_path / name
    convnet.onnx.export(model, convnet.from_numpy(x), path)
    rng = np.random.default_rng(1)
    for xb in [x] + [rng.standard_normal((b,) + x.shape[1:]).astype(np.float32) for b in batches]:
        want = _out(model, xb)
        (got,) = _ort_run(path, xb)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        back = convnet.onnx.load(path)
        np.testing.assert_array_equal(_out(back, xb), want)
    return path


def _randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---- export -------------------------------------------------------------------------------------

def test_lenet5_exports_and_runs_in_onnxruntime(tmp_path):
    convnet.manual_seed(0)
    path = _check_export(convnet.models.lenet5(), _randn(4, 1, 28, 28), tmp_path, batches=(1, 7))
    m = onnx.load(path)
    assert [n.op_type for n in m.graph.node if n.op_type != "Identity"] == [
        "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"]
    names = sorted(n for n, _ in convnet.models.lenet5().named_parameters())
    assert sorted(i.name for i in m.graph.initializer) == names
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding="same", bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.stem(x))
        y = self.conv2(F.relu(self.conv1(x)))
        x = F.relu(x + y)                      # residual add
        x = F.max_pool2d(x, 2) * 0.5 - 1.0     # functional pool, scalar arithmetic
        x = self.pool(x)
        x = x.view(x.size(0), -1)              # view with the batch size
        return F.log_softmax(self.fc(x), 1)


def test_residual_network_exports(tmp_path):
    convnet.manual_seed(1)
    path = _check_export(Residual(), _randn(2, 3, 12, 12), tmp_path)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    assert "Add" in ops and "Reshape" in ops and "LogSoftmax" in ops


@pytest.mark.skipif(not hasattr(convnet._core, "cat"), reason="cat is not in this build yet")
def test_concatenation_with_created_zeros_exports(tmp_path):
    class Shortcut(nn.Module):  # the option-A shortcut of the CIFAR ResNets: zero channels around x
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            n, _, h, w = x.shape
            zeros = convnet._core.zeros(n, 1, h, w, dtype=x.dtype)
            y = convnet._core.cat([zeros, self.conv(x), zeros], 1)
            return y + convnet.ones_like(y)

    convnet.manual_seed(13)
    _check_export(Shortcut(), _randn(2, 2, 4, 4), tmp_path)


@pytest.mark.skipif(not hasattr(convnet._core, "cat"), reason="cat is not in this build yet")
def test_concatenation_exports(tmp_path):
    class Inception(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Conv2d(3, 6, 3, padding=1)
            self.p = nn.MaxPool2d(3, stride=1, padding=1)
            self.fc = nn.Linear(13 * 8 * 8, 4)

        def forward(self, x):
            y = convnet._core.cat([F.relu(self.a(x)), F.relu(self.b(x)), self.p(x)], 1)
            return self.fc(convnet.flatten(y, 1))

    convnet.manual_seed(2)
    path = _check_export(Inception(), _randn(2, 3, 8, 8), tmp_path)
    assert "Concat" in [n.op_type for n in onnx.load(path).graph.node]


CORE_LAYERS = {
    "conv_stride_pad": lambda: nn.Conv2d(3, 6, 3, stride=2, padding=1),
    "conv_groups_dilation": lambda: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2),
    "conv_depthwise": lambda: nn.Conv2d(4, 4, 3, groups=4, bias=False),
    "conv_rect_same": lambda: nn.Conv2d(4, 3, (2, 3), padding="same"),
    "conv_even_same_dilated": lambda: nn.Conv2d(4, 3, 4, padding="same", dilation=2),
    "conv_valid": lambda: nn.Conv2d(4, 3, 3, padding="valid"),
    "maxpool": lambda: nn.MaxPool2d(2),
    "maxpool_ceil_pad": lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    "maxpool_dilation": lambda: nn.MaxPool2d(2, stride=1, dilation=2),
    "avgpool": lambda: nn.AvgPool2d(3, stride=2),
    "avgpool_pad_exclude": lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    "avgpool_pad_include": lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=True),
    "avgpool_ceil": lambda: nn.AvgPool2d(2, stride=2, ceil_mode=True),
    "adaptive_avg_global": lambda: nn.AdaptiveAvgPool2d(1),
    "adaptive_avg_3": lambda: nn.AdaptiveAvgPool2d((3, 3)),
    "adaptive_avg_up": lambda: nn.AdaptiveAvgPool2d((18, 27)),
    "relu": lambda: nn.ReLU(),
    "leaky_relu": lambda: nn.LeakyReLU(0.25),
    "sigmoid": lambda: nn.Sigmoid(),
    "tanh": lambda: nn.Tanh(),
    "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=1),
    "dropout": lambda: nn.Dropout(0.5),
    "flatten": lambda: nn.Flatten(),
    "flatten_2": lambda: nn.Flatten(2),
}


@pytest.mark.parametrize("name", sorted(CORE_LAYERS))
def test_core_layer_exports(name, tmp_path):
    convnet.manual_seed(3)
    channels = 4 if name.startswith("conv_") and name != "conv_stride_pad" else 3
    _check_export(nn.Sequential(CORE_LAYERS[name]()), _randn(2, channels, 9, 9), tmp_path)


# Layers of the toolbox: checked once convnet has them (a missing class skips its case).
TOOLBOX_LAYERS = {
    "BatchNorm2d": lambda: nn.BatchNorm2d(3),
    "LocalResponseNorm": lambda: nn.LocalResponseNorm(3, alpha=1e-2, beta=0.75, k=2.0),
    "LocalResponseNorm_even": lambda: nn.LocalResponseNorm(2, alpha=1e-1, beta=0.75, k=1.0),
    "ConvTranspose2d": lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
    "AdaptiveMaxPool2d": lambda: nn.AdaptiveMaxPool2d(1),
    "ZeroPad2d": lambda: nn.ZeroPad2d((1, 2, 0, 1)),
    "Upsample": lambda: nn.Upsample(scale_factor=2, mode="nearest"),
    "ELU": lambda: nn.ELU(0.5),
    "GELU": lambda: nn.GELU(),
    "SiLU": lambda: nn.SiLU(),
    "Softplus": lambda: nn.Softplus(),
    "Hardtanh": lambda: nn.Hardtanh(-0.5, 0.5),
    "ReLU6": lambda: nn.ReLU6(),
    "PReLU": lambda: nn.PReLU(3),
    "Identity": lambda: nn.Identity(),
    "LPPool2d": lambda: nn.LPPool2d(2, 2),
}


@pytest.mark.parametrize("name", sorted(TOOLBOX_LAYERS))
def test_toolbox_layer_exports(name, tmp_path):
    cls = name.split("_")[0]
    if not hasattr(nn, cls):
        pytest.skip(f"nn.{cls} is not in this build yet")
    convnet.manual_seed(4)
    layer = TOOLBOX_LAYERS[name]()
    if name == "BatchNorm2d":  # non-trivial statistics
        layer.running_mean.copy_(convnet.from_numpy(_randn(3, seed=5)))
        layer.running_var.copy_(convnet.from_numpy(np.abs(_randn(3, seed=6)) + 0.5))
    model = nn.Sequential(nn.Conv2d(3, 3, 1), layer)
    path = tmp_path / "m.onnx"
    x = _randn(2, 3, 8, 8)
    model.eval()
    convnet.onnx.export(model, convnet.from_numpy(x), path)
    (got,) = _ort_run(path, x)
    want = _out(model, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_out(convnet.onnx.load(path), x), want, rtol=1e-5, atol=1e-6)


TOOLBOX_FUNCTIONS = {
    "elu": lambda x: F.elu(x, 0.5),
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": lambda x: F.silu(x),
    "softplus_beta": lambda x: F.softplus(x, beta=2.0),
    "hardtanh": lambda x: F.hardtanh(x, -0.25, 0.5),
    "relu6": lambda x: F.relu6(x * 4.0),
    "prelu": lambda x: F.prelu(x, convnet.tensor([0.1, 0.2, 0.3])),
    "pad": lambda x: F.pad(x, (1, 0, 2, 1)),
    "interpolate_bilinear": lambda x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
    "interpolate_nearest": lambda x: F.interpolate(x, scale_factor=2),
    "batch_norm": lambda x: F.batch_norm(x, convnet.tensor([0.1, -0.2, 0.3]), convnet.tensor([1.0, 2.0, 0.5]),
                                         convnet.tensor([1.0, 0.5, 2.0]), convnet.tensor([0.0, 0.1, 0.2]),
                                         False, 0.1, 1e-5),
    "local_response_norm": lambda x: F.local_response_norm(x, 2),
    "adaptive_max_pool2d": lambda x: F.adaptive_max_pool2d(x, 2),
}


@pytest.mark.parametrize("name", sorted(TOOLBOX_FUNCTIONS))
def test_toolbox_function_exports(name, tmp_path):
    fn_name = {"gelu_tanh": "gelu", "softplus_beta": "softplus",
               "interpolate_bilinear": "interpolate", "interpolate_nearest": "interpolate"}.get(name, name)
    if not hasattr(F, fn_name):
        pytest.skip(f"functional.{fn_name} is not in this build yet")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return TOOLBOX_FUNCTIONS[name](self.conv(x))

    convnet.manual_seed(14)
    model = Net()
    path = tmp_path / "m.onnx"
    x = _randn(2, 3, 6, 6)
    convnet.onnx.export(model, convnet.from_numpy(x), path)
    (got,) = _ort_run(path, x)
    np.testing.assert_allclose(got, _out(model, x), rtol=1e-4, atol=1e-4)


def test_functional_forward_exports(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(convnet.from_numpy(_randn(4, 3, 3, 3, seed=7)))
            self.fc = nn.Linear(4 * 4 * 4, 3)

        def forward(self, x):
            x = F.conv2d(x, self.w, None, 1, 1)
            x = F.avg_pool2d(F.leaky_relu(x, 0.125), 2, count_include_pad=False)
            x = (x.sigmoid() + x.tanh()) / 2.0
            x = convnet.flatten(x, 1)
            return F.softmax(F.linear(x, self.fc.weight, self.fc.bias) - x.mean(1, keepdim=True), 1)

    convnet.manual_seed(8)
    _check_export(Net(), _randn(2, 3, 8, 8), tmp_path)


def test_export_restores_training_mode_and_names(tmp_path):
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    model.train()
    convnet.onnx.export(model, convnet.randn(2, 4), tmp_path / "m.onnx", input_names=["x"], output_names=["y"],
                        dynamic_batch=False)
    assert model.training and model[1].training
    m = onnx.load(tmp_path / "m.onnx")
    assert m.graph.input[0].name == "x" and m.graph.output[0].name == "y"
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim] == [2, 4]


def test_export_names_an_untraced_operation(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x.clone())  # clone is not traced

    with pytest.raises(convnet.onnx.OnnxError, match=r"Linear 'fc'.*does not trace"):
        convnet.onnx.export(Net(), convnet.randn(2, 4), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_unsupported_options_are_errors(tmp_path):
    with pytest.raises(convnet.onnx.OnnxError, match=r"AdaptiveAvgPool2d.*\(3, 3\).*\(4, 5\)"):
        convnet.onnx.export(nn.Sequential(nn.AdaptiveAvgPool2d(3)), convnet.randn(1, 2, 4, 5), tmp_path / "m.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match="opset 9"):
        convnet.onnx.export(nn.Sequential(nn.ReLU()), convnet.randn(1, 2), tmp_path / "m.onnx", opset=9)


# Models of the zoo exported and run in onnxruntime; an entry runs once the zoo has the model.
ZOO = [
    ("lenet5", (2, 1, 28, 28)),
    ("vgg11", (1, 3, 32, 32)),  # 1×1 features: AdaptiveAvgPool2d(7) exports as a nearest Resize
    ("resnet18", (2, 3, 64, 64)),
    ("googlenet", (1, 3, 64, 64)),
    ("resnet20", (2, 3, 32, 32)),
    ("nin", (2, 3, 32, 32)),
    ("mobilenet_v2", (1, 3, 64, 64)),
]


@pytest.mark.parametrize("name,shape", [pytest.param(*z, marks=pytest.mark.slow) if z[0] == "vgg11" else z for z in ZOO],
                         ids=[z[0] for z in ZOO])  # vgg11: a 1000-class export of half a minute and more
def test_zoo_model_exports(name, shape, tmp_path):
    if not hasattr(convnet.models, name):
        pytest.skip(f"convnet.models.{name} is not in this build yet")
    convnet.manual_seed(9)
    try:
        model = getattr(convnet.models, name)()
    except AttributeError as e:  # a layer the model needs is not in this build yet
        pytest.skip(f"convnet.models.{name}: {e}")
    model.eval()
    x = _randn(*shape)
    path = tmp_path / f"{name}.onnx"
    convnet.onnx.export(model, convnet.from_numpy(x), path)
    (got,) = _ort_run(path, x)
    want = _out(model, x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_out(convnet.onnx.load(path), x), want, rtol=1e-5, atol=1e-6)


# ---- import -------------------------------------------------------------------------------------

def test_imported_model_fine_tunes(tmp_path):
    convnet.manual_seed(10)
    model = Residual()
    convnet.onnx.export(model, convnet.randn(2, 3, 12, 12), tmp_path / "r.onnx")
    back = convnet.onnx.load(tmp_path / "r.onnx")
    assert sorted(back.state_dict()) == sorted(model.state_dict())
    back.load_state_dict(model.state_dict())
    x = convnet.randn(4, 3, 12, 12)
    y = convnet.tensor([0, 1, 2, 3])
    loss = F.nll_loss(back(x), y)
    loss.backward()
    assert all(p.grad is not None for p in back.parameters())
    opt = convnet.optim.SGD(back.parameters(), lr=0.1)
    opt.step()
    with convnet.no_grad():
        assert F.nll_loss(back(x), y).item() < loss.item()


def _torch_export(model, x, path, **kw):
    """torch.onnx.export with the TorchScript exporter (dynamo=False): torch 2.13's default
    exporter needs the onnxscript package."""
    torch = pytest.importorskip("torch")
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (x,), str(path), opset_version=17, input_names=["x"],
                          dynamic_axes={"x": {0: "N"}}, dynamo=False, **kw)
        return model(x).numpy()


def test_torch_lenet_imports(tmp_path):
    torch = pytest.importorskip("torch")

    class LeNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = torch.nn.Conv2d(1, 6, 5, padding=2)
            self.c2 = torch.nn.Conv2d(6, 16, 5)
            self.f1 = torch.nn.Linear(400, 120)
            self.f2 = torch.nn.Linear(120, 10)

        def forward(self, x):
            x = torch.nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
            x = torch.nn.functional.avg_pool2d(torch.tanh(self.c2(x)), 2)
            x = x.view(x.size(0), -1)  # Shape/Gather/Unsqueeze/Concat/Reshape
            return torch.log_softmax(self.f2(torch.sigmoid(self.f1(x))), dim=1)

    torch.manual_seed(0)
    lenet = LeNet()
    x = torch.randn(3, 1, 28, 28)
    want = _torch_export(lenet, x, tmp_path / "t.onnx", do_constant_folding=False)
    ops = {n.op_type for n in onnx.load(tmp_path / "t.onnx").graph.node}
    assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} <= ops
    model = convnet.onnx.load(tmp_path / "t.onnx")
    np.testing.assert_allclose(_out(model, x.numpy()), want, rtol=1e-4, atol=1e-5)
    x5 = torch.randn(5, 1, 28, 28)  # another batch size through the shape computations
    with torch.no_grad():
        np.testing.assert_allclose(_out(model, x5.numpy()), lenet(x5).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fold", [False, True], ids=["batchnorm", "folded"])
def test_torch_resnet_block_imports(fold, tmp_path):
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 8, 3, padding=1, bias=False)
            self.bn1 = tnn.BatchNorm2d(8)
            self.conv2 = tnn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn2 = tnn.BatchNorm2d(8)
            self.down = tnn.Sequential(tnn.Conv2d(3, 8, 1, bias=False), tnn.BatchNorm2d(8))
            self.fc = tnn.Linear(8, 4)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            y = torch.relu(y + self.down(x))
            y = tnn.functional.adaptive_avg_pool2d(y, 1).flatten(1)
            return self.fc(y)

    torch.manual_seed(1)
    block = Block()
    for m in block.modules():  # non-trivial statistics
        if isinstance(m, tnn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    x = torch.randn(2, 3, 10, 10)
    path = tmp_path / "b.onnx"
    want = _torch_export(block, x, path, do_constant_folding=fold)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert ("BatchNormalization" in ops) != fold
    model = convnet.onnx.load(path)
    np.testing.assert_allclose(_out(model, x.numpy()), want, rtol=1e-4, atol=1e-5)
    if not fold:
        keys = set(model.state_dict())
        assert {"bn1.running_mean", "bn1.weight", "conv1.weight", "fc.bias"} <= keys
        assert "bn1.running_mean" not in {n for n, _ in model.named_parameters()}


# ---- errors -------------------------------------------------------------------------------------

def _graph(nodes, inits=(), in_shape=("N", 3, 8, 8), out_name="y"):
    h = onnx.helper
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(in_shape))],
                     [h.make_tensor_value_info(out_name, onnx.TensorProto.FLOAT, ["n", "c", "h", "w"])],
                     [onnx.numpy_helper.from_array(a, n) for n, a in inits])
    return h.make_model(g, opset_imports=[h.make_opsetid("", 17)])


def test_malformed_file_is_an_error(tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"\x08\x07garbage that is not protobuf \xff\xff\xff")
    with pytest.raises(convnet.onnx.OnnxError, match="bad.onnx"):
        convnet.onnx.load(path)
    with pytest.raises(FileNotFoundError):
        convnet.onnx.load(tmp_path / "missing.onnx")


def test_name_that_is_not_utf8_is_an_error(tmp_path):
    """ONNX strings are proto2 fields: protobuf returns one that is not UTF-8 as bytes (a fuzzed
    initializer name made the importer raise TypeError)."""
    path = tmp_path / "names.onnx"
    convnet.onnx.export(nn.Sequential(nn.Linear(4, 3)), convnet.zeros(1, 4), path)
    data = path.read_bytes()
    assert b"0.bias" in data
    path.write_bytes(data.replace(b"0.bias", b"0.bia\x95"))
    with pytest.raises(convnet.onnx.OnnxError, match="not UTF-8"):
        convnet.onnx.load(path)


def test_dangling_input_is_an_error(tmp_path):
    m = _graph([onnx.helper.make_node("Relu", ["nowhere"], ["y"], name="r1")])
    onnx.save(m, tmp_path / "d.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match="nowhere"):
        convnet.onnx.load(tmp_path / "d.onnx")


def test_unsupported_operator_names_the_node(tmp_path):
    m = _graph([onnx.helper.make_node("Relu", ["x"], ["r"], name="first"),
                onnx.helper.make_node("HardSwish", ["r"], ["y"], name="mystery_node")])
    onnx.save(m, tmp_path / "u.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match=r"'mystery_node' \(HardSwish\).*not supported"):
        convnet.onnx.load(tmp_path / "u.onnx")


def test_weight_shape_mismatch_names_the_node(tmp_path):
    w, b = _randn(4, 3, 3, 3), _randn(5)
    m = _graph([onnx.helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv_a", pads=[1, 1, 1, 1])],
               [("w", w), ("b", b)])
    onnx.save(m, tmp_path / "s.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match=r"conv_a.*Conv.*\(5,\)"):
        convnet.onnx.load(tmp_path / "s.onnx")


def test_static_shape_mismatch_names_the_node(tmp_path):
    # 4 channels in, the weight expects 3: caught by shape inference at load time
    w = _randn(2, 3, 3, 3)
    m = _graph([onnx.helper.make_node("Conv", ["x", "w"], ["y"], name="conv_b")], [("w", w)],
               in_shape=("N", 4, 8, 8))
    onnx.save(m, tmp_path / "s.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match="conv_b"):
        convnet.onnx.load(tmp_path / "s.onnx")


def test_runtime_shape_mismatch_names_the_node(tmp_path):
    w = _randn(2, 3, 3, 3)
    m = _graph([onnx.helper.make_node("Relu", ["x"], ["r"], name="act"),
                onnx.helper.make_node("Conv", ["r", "w"], ["y"], name="conv_c")], [("w", w)],
               in_shape=("N", "C", "H", "W"))
    onnx.save(m, tmp_path / "s.onnx")
    model = convnet.onnx.load(tmp_path / "s.onnx")
    assert tuple(model(convnet.randn(1, 3, 5, 5)).shape) == (1, 2, 3, 3)
    with pytest.raises(convnet.onnx.OnnxError, match=r"'conv_c' \(Conv\).*\(1, 4, 5, 5\)"):
        model(convnet.randn(1, 4, 5, 5))


def test_input_shape_mismatch_is_an_error(tmp_path):
    convnet.onnx.export(convnet.models.lenet5(), convnet.randn(2, 1, 28, 28), tmp_path / "l.onnx")
    model = convnet.onnx.load(tmp_path / "l.onnx")
    with pytest.raises(convnet.onnx.OnnxError, match=r"input 'input'.*\(2, 1, 32, 32\)"):
        model(convnet.randn(2, 1, 32, 32))


def test_export_ignores_failures_the_outputs_do_not_use(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(20, 2)

        def forward(self, x):
            unused = F.adaptive_avg_pool2d(x, 3)  # no ONNX form for (4, 5) -> (3, 3), never used
            del unused
            return self.fc(x.flatten(1))

    convnet.manual_seed(15)
    _check_export(Net(), _randn(2, 1, 4, 5), tmp_path)


def test_export_writes_atomically(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old")
    with pytest.raises(convnet.onnx.OnnxError):
        convnet.onnx.export(nn.Sequential(nn.AdaptiveAvgPool2d(3)), convnet.randn(1, 2, 4, 5), path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


# ---- import of single operators, checked against onnxruntime on the same file ---------------------

def _init(name, *shape, seed=11, positive=False):
    a = _randn(*shape, seed=seed)
    return onnx.numpy_helper.from_array(np.abs(a) + 0.5 if positive else a, name)


def _const(name, values, dtype=np.int64):
    return onnx.helper.make_node("Constant", [], [name], name=f"const_{name}",
                                 value=onnx.numpy_helper.from_array(np.asarray(values, dtype=dtype), name))


def _op_graph(nodes, inits, in_shape, opset=17, out_shape=None):
    h = onnx.helper
    g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(in_shape))],
                     [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, out_shape)], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", opset)])
    m.ir_version = 8
    return m if out_shape else onnx.shape_inference.infer_shapes(m)  # fills in the output's shape


N = onnx.helper.make_node
OP_GRAPHS = {
    "matmul_add": ([N("MatMul", ["x", "w"], ["m"]), N("Add", ["m", "b"], ["y"])],
                   [_init("w", 6, 4), _init("b", 4)], (3, 6)),
    "gemm_alpha_beta": ([N("Gemm", ["x", "w", "b"], ["y"], alpha=0.5, beta=2.0)],
                        [_init("w", 6, 4), _init("b", 1, 4)], (3, 6)),
    "gemm_transB": ([N("Gemm", ["x", "w", "b"], ["y"], transB=1)], [_init("w", 4, 6), _init("b", 4)], (3, 6)),
    "conv_auto_pad": ([N("Conv", ["x", "w"], ["y"], auto_pad="SAME_UPPER", strides=[2, 2])],
                      [_init("w", 4, 2, 3, 3)], (2, 2, 7, 7)),
    "conv_group_bias": ([N("Conv", ["x", "w", "b"], ["y"], group=2, pads=[1, 0, 1, 0], dilations=[1, 2])],
                        [_init("w", 4, 1, 3, 3), _init("b", 4)], (2, 2, 7, 7)),
    "maxpool_default_stride": ([N("MaxPool", ["x"], ["y"], kernel_shape=[2, 2])], [], (2, 3, 5, 5)),
    "averagepool_exclude_pad": ([N("AveragePool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                                  strides=[2, 2])], [], (2, 3, 6, 6)),
    "global_pools": ([N("GlobalAveragePool", ["x"], ["a"]), N("GlobalMaxPool", ["x"], ["b"]),
                      N("Sub", ["a", "b"], ["y"])], [], (2, 3, 5, 4)),
    "batchnorm": ([N("BatchNormalization", ["x", "s", "bb", "mu", "var"], ["y"], epsilon=1e-3)],
                  [_init("s", 3), _init("bb", 3, seed=12), _init("mu", 3, seed=13),
                   _init("var", 3, seed=14, positive=True)], (2, 3, 4, 4)),
    "lrn_odd": ([N("LRN", ["x"], ["y"], size=5, alpha=0.01, beta=0.75, bias=2.0)], [], (2, 7, 3, 3)),
    "softmax_opset11_coerced": ([N("Softmax", ["x"], ["y"], axis=1)], [], (2, 3, 2, 2)),
    "log_softmax_axis": ([N("LogSoftmax", ["x"], ["y"], axis=1)], [], (2, 3, 2, 2)),
    "activations": ([N("Relu", ["x"], ["a"]), N("LeakyRelu", ["x"], ["b"], alpha=0.3), N("Sigmoid", ["x"], ["c"]),
                     N("Tanh", ["x"], ["d"]), N("Elu", ["x"], ["e"], alpha=0.7), N("Softplus", ["x"], ["f"]),
                     N("PRelu", ["x", "slope"], ["g"]), N("Add", ["a", "b"], ["ab"]), N("Mul", ["ab", "c"], ["abc"]),
                     N("Sub", ["abc", "d"], ["abcd"]), N("Div", ["abcd", "two"], ["h"]), N("Add", ["h", "e"], ["he"]),
                     N("Add", ["he", "f"], ["hef"]), N("Add", ["hef", "g"], ["y"])],
                    [_init("slope", 3, 1, 1), onnx.numpy_helper.from_array(np.array(2.0, np.float32), "two")],
                    (2, 3, 4, 4)),
    "clip_neg_exp": ([_const("lo", -0.5, np.float32), _const("hi", 0.7, np.float32),
                      N("Clip", ["x", "lo", "hi"], ["c"]), N("Neg", ["c"], ["n"]), N("Exp", ["n"], ["y"])],
                     [], (2, 5)),
    "erf": ([_const("k", 3.0, np.float32), N("Mul", ["x", "k"], ["x3"]), N("Erf", ["x3"], ["y"])], [], (4, 50)),
    "flatten_axis2": ([N("Flatten", ["x"], ["y"], axis=2)], [], (2, 3, 4, 5)),
    "reshape_zero_minus_one": ([_const("s", [0, -1, 2]), N("Reshape", ["x", "s"], ["y"])], [], (2, 3, 4, 2)),
    "shape_arithmetic": ([N("Shape", ["x"], ["sh"]), _const("i", 0), N("Gather", ["sh", "i"], ["n"], axis=0),
                          _const("ax", [0]), N("Unsqueeze", ["n", "ax"], ["nu"]), _const("m1", [-1]),
                          N("Concat", ["nu", "m1"], ["s"], axis=0), N("Reshape", ["x", "s"], ["y"])], [], (2, 3, 4)),
    "unsqueeze_squeeze": ([_const("ax", [1]), N("Unsqueeze", ["x", "ax"], ["u"]), N("Squeeze", ["u", "ax"], ["y"])],
                          [], (2, 3)),
    "resize_nearest": ([N("Resize", ["x", "", "sc"], ["y"], mode="nearest",
                          coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
                       [onnx.numpy_helper.from_array(np.array([1, 1, 2, 3], np.float32), "sc")], (1, 2, 3, 2)),
    "reduce_mean_dropout_identity": ([N("ReduceMean", ["x"], ["r"], axes=[2, 3], keepdims=1),
                                      N("Dropout", ["r"], ["d"]), N("Identity", ["d"], ["y"])], [], (2, 3, 4, 4)),
}


@pytest.mark.parametrize("name", sorted(OP_GRAPHS))
def test_operator_imports_like_onnxruntime(name, tmp_path):
    nodes, inits, shape = OP_GRAPHS[name]
    for i, n in enumerate(nodes):
        n.name = n.name or f"{name}_{i}"
    opset = 11 if "opset11" in name else 17
    if opset == 11:
        nodes[0].attribute[0].i = 1
    path = tmp_path / f"{name}.onnx"
    onnx.save(_op_graph(nodes, list(inits), shape, opset), path)
    x = _randn(*shape, seed=15)
    (want,) = _ort_run(path, x)
    got = _out(convnet.onnx.load(path), x)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not hasattr(F, "pad"), reason="functional.pad is not in this build yet")
def test_even_size_lrn_imports_with_the_onnx_window():
    # onnxruntime runs odd sizes only; ONNX's window for size 4 is c-1 .. c+2
    m = _op_graph([N("LRN", ["x"], ["y"], name="lrn4", size=4, alpha=0.1, beta=0.75, bias=1.5)], [], (2, 6, 3, 3))
    x = _randn(2, 6, 3, 3, seed=16)
    sq = np.pad(x.astype(np.float64) ** 2, ((0, 0), (1, 2), (0, 0), (0, 0)))
    window = sum(sq[:, i:i + 6] for i in range(4))
    want = x / (1.5 + 0.1 / 4 * window) ** 0.75
    np.testing.assert_allclose(_out(convnet.onnx.load(m), x), want, rtol=1e-5, atol=1e-6)


def test_load_accepts_a_model_proto_and_checks_gemm_features(tmp_path):
    m = _op_graph([N("Gemm", ["x", "w"], ["y"], name="fc_bad", transB=1)], [_init("w", 4, 5)], (3, 6),
                  out_shape=[3, 4])
    with pytest.raises(convnet.onnx.OnnxError, match=r"'fc_bad' \(Gemm\).*expects 5 features"):
        convnet.onnx.load(m)
    ok = _op_graph([N("Gemm", ["x", "w"], ["y"], name="fc", transB=1)], [_init("w", 4, 6)], (3, 6))
    model = convnet.onnx.load(ok)
    assert [n for n, _ in model.named_parameters()] == ["w"]


def test_export_of_two_inputs_two_outputs_and_shared_weights(tmp_path):
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, a, b):
            h = self.fc(a) + self.fc(b)  # one Linear called twice
            return h, F.relu(self.fc(h))

    convnet.manual_seed(12)
    model = Two()
    a, b = _randn(2, 4, seed=1), _randn(2, 4, seed=2)
    path = tmp_path / "two.onnx"
    convnet.onnx.export(model, (convnet.from_numpy(a), convnet.from_numpy(b)), path)
    assert sorted(i.name for i in onnx.load(path).graph.initializer) == ["fc.bias", "fc.weight"]
    with convnet.no_grad():
        want = [t.numpy() for t in model(convnet.from_numpy(a), convnet.from_numpy(b))]
    back = convnet.onnx.load(path)
    with convnet.no_grad():
        mine = [t.numpy() for t in back(convnet.from_numpy(a), convnet.from_numpy(b))]
    for got in (_ort_run(path, a, b), mine):
        for g_, w_ in zip(got, want):
            np.testing.assert_allclose(g_, w_, rtol=1e-5, atol=1e-6)


def test_initializer_names_become_nested_modules(tmp_path):
    inits = [_init("fc", 6, 4), _init("fc.b", 4, seed=3), _init("onnx::MatMul_7", 4, 4, seed=4)]
    m = _op_graph([N("MatMul", ["x", "fc"], ["a"], name="mm"), N("Add", ["a", "fc.b"], ["c"], name="add"),
                   N("MatMul", ["c", "onnx::MatMul_7"], ["y"], name="mm2")], inits, (3, 6))
    path = tmp_path / "n.onnx"
    onnx.save(m, path)
    model = convnet.onnx.load(path)
    assert sorted(model.state_dict()) == ["fc", "fc_.b", "onnx__MatMul_7"]
    x = _randn(3, 6)
    np.testing.assert_allclose(_out(model, x), _ort_run(path, x)[0], rtol=1e-5, atol=1e-6)


def test_torch_pooling_norm_and_concat_imports(tmp_path):
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.stem = tnn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.pool = tnn.MaxPool2d(3, stride=2, ceil_mode=True)
            self.b1 = tnn.Conv2d(8, 4, 1)
            self.b2 = tnn.Sequential(tnn.Conv2d(8, 4, 1), tnn.ReLU(), tnn.Conv2d(4, 6, 3, padding=1))
            self.b3 = tnn.Sequential(tnn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
                                     tnn.Conv2d(8, 2, 1))
            self.head = tnn.Sequential(tnn.Linear(12, 10), tnn.BatchNorm1d(10), tnn.LeakyReLU(0.1),
                                       tnn.Dropout(0.3), tnn.Linear(10, 3), tnn.Softmax(dim=1))

        def forward(self, x):
            x = self.pool(torch.relu(self.stem(x)))  # (torch writes LRN out with If nodes)
            x = torch.cat([self.b1(x), self.b2(x), self.b3(x)], 1)
            return self.head(tnn.functional.adaptive_avg_pool2d(x, 1).flatten(1))

    torch.manual_seed(2)
    net = Net()
    bn = net.head[1]
    bn.running_mean.uniform_(-0.3, 0.3)
    bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 3, 19, 19)
    path = tmp_path / "n.onnx"
    want = _torch_export(net, x, path, do_constant_folding=False)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert {"Concat", "AveragePool", "BatchNormalization", "Softmax"} <= ops
    model = convnet.onnx.load(path)
    if not hasattr(convnet._core, "cat"):
        with pytest.raises(convnet.onnx.OnnxError, match=r"\(Concat\).*convnet.cat"):
            _out(model, x.numpy())
        return
    np.testing.assert_allclose(_out(model, x.numpy()), want, rtol=1e-4, atol=1e-5)


def test_registering_an_importer_and_an_exporter(tmp_path):
    from convnet.onnx import _exporters, _import

    class Double(nn.Module):  # a layer with its own exporter: one node, whatever its forward does
        def forward(self, x):
            return x + x

    @convnet.onnx.register_op("HardSigmoid")
    def hard_sigmoid(node, x):
        alpha, beta = node.attrs.get("alpha", 0.2), node.attrs.get("beta", 0.5)
        return 1.0 - (1.0 - (x * alpha + beta).relu()).relu()

    nn.Double = Double
    try:
        @convnet.onnx.register_module("Double")
        def double(g, m, x, out, label):
            return g.node("HardSigmoid", [g.name(x, label)], alpha=0.25, beta=0.5)

        model = nn.Sequential(nn.Linear(3, 3), Double())
        path = tmp_path / "d.onnx"
        convnet.onnx.export(model, convnet.randn(2, 3), path)
        assert [n.op_type for n in onnx.load(path).graph.node] == ["Gemm", "HardSigmoid", "Identity"]
        x = _randn(4, 3)
        np.testing.assert_allclose(_out(convnet.onnx.load(path), x), _ort_run(path, x)[0], rtol=1e-6, atol=1e-6)
    finally:
        del nn.Double
        _exporters.MODULES.pop("Double", None)
        _import.OPS.pop("HardSigmoid", None)
