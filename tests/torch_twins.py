"""The same model in convnet and in PyTorch, from the same weights, stepped on the same data:
the helpers of the tests that compare training trajectories with torch (they import it only
after `pytest.importorskip("torch")`), and torchvision's ResNet-18 written out in torch.nn, which
the benchmarks import too."""

import numpy as np
import torch

import convnet as cn
from convnet import nn
import convnet.functional as F

tnn = torch.nn

RTOL = {"float32": 1e-5, "float64": 1e-12}


def _mlp():
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)), \
        tnn.Sequential(tnn.Linear(6, 8), tnn.ReLU(), tnn.Linear(8, 3))


def _convnet():
    return (nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5)),
            tnn.Sequential(tnn.Conv2d(1, 4, 3), tnn.ReLU(), tnn.MaxPool2d(2), tnn.Flatten(), tnn.Linear(36, 5)))


def torch_resnet18(num_classes=1000, cifar_stem=False):
    """torchvision's resnet18 (torchvision is not installed here) with torch's default initialization:
    the same layers and parameter names as convnet's zoo. `cifar_stem`: a 3x3 stride-1 first
    convolution and no max pool, for 32x32 images."""

    class BasicBlock(tnn.Module):
        def __init__(self, cin, planes, stride):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU()
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or cin != planes:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, planes, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class ResNet18(tnn.Module):
        def __init__(self):
            super().__init__()
            k, stride = (3, 1) if cifar_stem else (7, 2)
            self.conv1 = tnn.Conv2d(3, 64, k, stride, k // 2, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU()
            self.maxpool = tnn.Identity() if cifar_stem else tnn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)]):
                setattr(self, f"layer{i + 1}", tnn.Sequential(BasicBlock(cin, planes, stride),
                                                              BasicBlock(planes, planes, 1)))
                cin = planes
            self.avgpool = tnn.AdaptiveAvgPool2d(1)
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet18()


def _pair(make, dtype, seed=0):
    """The same model in both libraries with torch's (seeded) initial weights."""
    torch.manual_seed(seed)
    m, t = make()
    if dtype == "float64":
        m.to(cn.float64)
        t.double()
    m.load_state_dict({k: v.detach().numpy().copy() for k, v in t.state_dict().items()})
    return m, t


def _data(dtype, x_shape=(16, 6), y_shape=(16, 3), seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(y_shape).astype(dtype)


def _assert_same_params(m, t, rtol, what):
    from opcheck import to_np  # a test helper (pytest): the benchmarks import this module too
    tp = dict(t.named_parameters())
    names = [n for n, _ in m.named_parameters()]
    assert names == list(tp), what
    for n, p in m.named_parameters():
        got, want = to_np(p).astype(np.float64), tp[n].detach().numpy().astype(np.float64)
        scale = max(float(np.max(np.abs(want))), 1e-3)
        err = float(np.max(np.abs(got - want)))
        assert err <= rtol * scale, f"{what}: {n} differs by {err:.3g} (> {rtol:g} x {scale:.3g})"


def _image_batch(dtype, shape=(8, 1, 8, 8), classes=5, seed=2):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape).astype(dtype), rng.integers(0, classes, shape[0])


def _cross_entropy_steps(m, t, opt, topt, x, y, steps):
    """`steps` training steps of both libraries on one batch of images x with labels y."""
    for _ in range(steps):
        opt.zero_grad()
        topt.zero_grad()
        F.cross_entropy(m(cn.tensor(x)), cn.tensor(y)).backward()
        torch.nn.functional.cross_entropy(t(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()
        topt.step()


def _mse_step(m, t, x, y):
    loss = F.mse_loss(m(cn.tensor(x)), cn.tensor(y))
    loss.backward()
    tloss = torch.nn.functional.mse_loss(t(torch.from_numpy(x)), torch.from_numpy(y))
    tloss.backward()
    return loss.item(), tloss.item()
