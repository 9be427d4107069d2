"""The model zoo: published parameter counts, multiply-accumulate counts, forward and
backward of every model, and resnet18 / vgg11 against the same networks in PyTorch given
the same weights (copied by parameter name)."""

import numpy as np
import pytest

import convnet as cn
from convnet import models, nn
from opcheck import assert_close, load_from_torch

# Parameter counts for 1000 classes (LeNet-5: 10) as published: the VGG paper's table 2 and
# torchvision's model documentation (which the paper's figures round), the AlexNet and ResNet
# counts of torchvision's documentation, LeNet-5 with 6-16 feature maps and 120-84 units.
PUBLISHED = {
    "vgg16": 138_357_544, "vgg19": 143_667_240, "alexnet": 61_100_840, "resnet18": 11_689_512,
    "resnet50": 25_557_032, "lenet5": 61_706,
}
TORCHVISION_DOCS = {
    "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg11_bn": 132_868_840, "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992, "vgg19_bn": 143_678_248, "resnet34": 21_797_672,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "mobilenet_v2": 3_504_872,
}


# the models whose 1000-class forms take tens of seconds to build and run here: their cases are slow
BIG = {"resnet101", "resnet152", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"}


def by_size(names):
    """The model names as parametrize values, the big models marked slow."""
    return [pytest.param(n, marks=pytest.mark.slow) if n in BIG else n for n in names]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", by_size(sorted(PUBLISHED)))
def test_summary_parameter_counts_equal_published(name):
    model = models.get_model(name, num_classes=10 if name == "lenet5" else 1000)
    s = cn.summary(model, models.INPUT_SHAPES[name], print_fn=None)
    assert s.total_params == PUBLISHED[name], f"{name}: {s.total_params:,} != {PUBLISHED[name]:,}"
    assert s.trainable_params == PUBLISHED[name]


@pytest.mark.parametrize("name", by_size(sorted(TORCHVISION_DOCS)))
def test_parameter_counts_equal_torchvision_docs(name):
    assert n_params(models.get_model(name)) == TORCHVISION_DOCS[name]


def _conv(cin, cout, k, bias=True):
    return cin * cout * k * k + (cout if bias else 0)


@pytest.mark.parametrize("depth, published_millions", [(20, 0.27), (32, 0.46), (44, 0.66), (56, 0.85)])
def test_cifar_resnet_counts(depth, published_millions):
    """He et al. 2016, table 6: 0.27M, 0.46M, 0.66M, 0.85M; exactly, the sum of the
    3x3 convolutions, batch norms and fc with parameter-free shortcuts."""
    n = (depth - 2) // 6
    expected = _conv(3, 16, 3, False) + 2 * 16
    cin = 16
    for planes in (16, 32, 64):
        for _ in range(n):
            expected += _conv(cin, planes, 3, False) + _conv(planes, planes, 3, False) + 4 * planes
            cin = planes
    expected += 64 * 10 + 10
    got = n_params(models.get_model(f"resnet{depth}"))
    assert got == expected
    assert round(got / 1e6, 2) == published_millions


def test_googlenet_count_from_the_papers_table():
    """Szegedy et al. 2015, table 1 (without the auxiliary classifiers): stem, nine
    inception modules and the 1024 -> 1000 classifier, all convolutions with biases."""
    table = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64),
             (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64),
             (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
             (528, 256, 160, 320, 32, 128, 128), (832, 256, 160, 320, 32, 128, 128),
             (832, 384, 192, 384, 48, 128, 128)]
    expected = _conv(3, 64, 7) + _conv(64, 64, 1) + _conv(64, 192, 3) + 1024 * 1000 + 1000
    for cin, c1, r3, c3, r5, c5, pp in table:
        expected += (_conv(cin, c1, 1) + _conv(cin, r3, 1) + _conv(r3, c3, 3) + _conv(cin, r5, 1)
                     + _conv(r5, c5, 5) + _conv(cin, pp, 1))
    outs = [c1 + c3 + c5 + pp for _, c1, _, c3, _, c5, pp in table]
    assert outs[:-1] == [t[0] for t in table[1:]] and outs[-1] == 1024  # the table is consistent
    model = models.googlenet()
    assert n_params(model) == expected
    assert 6.7e6 < expected < 7.0e6  # the paper: "12 times fewer parameters than" AlexNet's ~60M


def test_nin_count():
    expected = (_conv(3, 192, 5) + _conv(192, 160, 1) + _conv(160, 96, 1) + _conv(96, 192, 5)
                + 2 * _conv(192, 192, 1) + _conv(192, 192, 3) + _conv(192, 192, 1) + _conv(192, 10, 1))
    assert n_params(models.nin()) == expected


def test_summary_macs_of_a_5x5_convolution_and_its_bottleneck():
    """The GoogLeNet-paper arithmetic: 192 -> 32 channels, 5x5 "same" on 28x28."""
    direct = nn.Sequential(nn.Conv2d(192, 32, 5, padding="same"))
    s = cn.summary(direct, (192, 28, 28), print_fn=None)
    assert s.total_macs == 120_422_400 == 28 * 28 * 32 * 192 * 25
    bottleneck = nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))
    s = cn.summary(bottleneck, (192, 28, 28), print_fn=None)
    assert s.total_macs == 12_443_648 == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 16 * 25


# the smallest input each model accepts (the others take 1×1 images, the VGGs 32×32); resnet101 and
# resnet152 keep 32×32: at 1×1, batch norm in training mode over two values per channel multiplies
# the gradient by up to 1/sqrt(eps) per layer, and past 100 layers it overflows float32 (resnet50
# already reaches 1e24)
SMALL_INPUT = {"lenet5": (1, 28, 28), "alexnet": (3, 63, 63), "googlenet": (3, 31, 31), "nin": (3, 6, 6),
               "resnet101": (3, 32, 32), "resnet152": (3, 32, 32),
               **{n: (3, 32, 32) for n in models.list_models() if n.startswith("vgg")}}


@pytest.mark.parametrize("name", by_size(models.list_models()))
def test_forward_backward_shapes(name):
    cn.manual_seed(0)
    model = models.get_model(name, num_classes=7)
    model.train()
    x = cn.randn(2, *SMALL_INPUT.get(name, (3, 1, 1)))
    y = model(x)
    assert y.shape == (2, 7), f"{name}: output shape {y.shape}"
    assert np.isfinite(y.detach().numpy()).all()
    cn.functional.cross_entropy(y, cn.tensor(np.array([1, 5]))).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"{name}: no gradient for {missing[:5]}"
    assert all(np.isfinite(p.grad.numpy()).all() for p in model.parameters())


def test_alexnet_lrn_form():
    model = models.alexnet(num_classes=10, lrn=True)
    kinds = [type(m).__name__ for m in model.features]
    assert kinds.count("LocalResponseNorm") == 2 and kinds.count("MaxPool2d") == 3
    lrn = [m for m in model.features if isinstance(m, nn.LocalResponseNorm)][0]
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    assert [m.kernel_size for m in model.features if isinstance(m, nn.MaxPool2d)] == [(3, 3)] * 3
    assert model(cn.randn(1, *SMALL_INPUT["alexnet"])).shape == (1, 10)


# ---- parity with PyTorch ----------------------------------------------------------------


def _torch_vgg11(tnn, num_classes):
    cfg = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(tnn.MaxPool2d(2, 2))
        else:
            layers += [tnn.Conv2d(c, v, 3, padding=1), tnn.ReLU()]
            c = v
    model = tnn.Module()
    model.features = tnn.Sequential(*layers)
    model.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
    model.classifier = tnn.Sequential(tnn.Linear(25088, 4096), tnn.ReLU(), tnn.Dropout(),
                                      tnn.Linear(4096, 4096), tnn.ReLU(), tnn.Dropout(),
                                      tnn.Linear(4096, num_classes))
    model.forward = lambda x: model.classifier(model.avgpool(model.features(x)).flatten(1))
    return model


@pytest.mark.parametrize("name, size", [("resnet18", 64), ("vgg11", 32)])
def test_outputs_match_torch_with_the_same_weights(name, size):
    torch = pytest.importorskip("torch")
    import torch_twins
    tnn = torch.nn
    torch.manual_seed(0)
    tmodel = torch_twins.torch_resnet18(10) if name == "resnet18" else _torch_vgg11(tnn, 10)
    model = models.get_model(name, num_classes=10)
    load_from_torch(model, tmodel)
    x = np.random.default_rng(0).standard_normal((2, 3, size, size)).astype(np.float32)

    tmodel.eval()
    model.eval()
    with torch.no_grad():
        expected = tmodel(torch.from_numpy(x)).numpy()
    assert_close(model(cn.tensor(x)).detach().numpy(), expected, 1e-4, f"{name} eval forward")

    if name == "resnet18":  # training mode: batch statistics and running-stat updates
        tmodel.train()
        model.train()
        tx = torch.from_numpy(x).requires_grad_(True)
        tout = tmodel(tx)
        cx = cn.tensor(x, requires_grad=True)
        out = model(cx)
        assert_close(out.detach().numpy(), tout.detach().numpy(), 1e-4, "resnet18 train forward")
        tstate = tmodel.state_dict()
        for k, v in model.state_dict().items():
            if "running" in k:
                assert_close(v.numpy(), tstate[k].numpy(), 1e-4, f"resnet18 {k}")
        # the gradients in float64 on both sides, for a random upstream gradient: in float32 this
        # untrained network's train-mode input gradient moves by up to 3% of its scale with the
        # rounding of a single layer (PyTorch's own float32 differs from its float64 by 2.6% at
        # batch 8, convnet's by 1.3% at batch 2), and under sum() the last stage's batch norms get a
        # gradient constant over their batch and plane, which their backward cancels to noise
        tmodel.double()
        model.to(cn.float64)
        dy = np.random.default_rng(1).standard_normal((2, 10))
        tx = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
        tmodel(tx).backward(torch.from_numpy(dy))
        cx = cn.tensor(x.astype(np.float64), requires_grad=True)
        model(cx).backward(cn.tensor(dy))
        assert_close(cx.grad.numpy(), tx.grad.numpy(), 1e-10, "resnet18 input grad (float64)")
        assert_close(model.conv1.weight.grad.numpy(), tmodel.conv1.weight.grad.numpy(), 1e-10,
                     "resnet18 conv1 weight grad (float64)")

