"""ResNet (He et al., 2016): the ImageNet forms 18/34/50/101/152 with torchvision's layer
names, and the CIFAR forms 20/32/44/56 of the paper's section 4.2 (3 stages of 16, 32 and 64
filters, parameter-free option-A shortcuts)."""

from .. import _core, nn
from ..nn import functional as F
from . import _weights
from ._init import init_cnn


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm; the input (or `downsample` of it) is added
    before the last ReLU."""

    expansion = 1

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1×1 reduction, 3×3 (carrying the stride), 1×1 expansion to 4× `planes`."""

    expansion = 4

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(cin, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * 4)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


def _zero_init_last_bn(model):
    for m in model.modules():
        if isinstance(m, Bottleneck):
            nn.init.zeros_(m.bn3.weight)
        elif isinstance(m, BasicBlock):
            nn.init.zeros_(m.bn2.weight)


class ResNet(nn.Module):
    """conv 7×7/2, max-pool 3/2, four stages (64, 128, 256, 512 planes), global average
    pooling and `fc`; for 3×224×224 inputs (any size of at least 32×32 works)."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_cnn(self)
        if zero_init_residual:
            _zero_init_last_bn(self)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


class ShortcutA(nn.Module):
    """The paper's option A: the input subsampled by `stride` and zero-padded with
    `pad` channels on each side (no parameters)."""

    def __init__(self, stride, pad):
        super().__init__()
        self.stride = stride
        self.pad = pad

    def forward(self, x):
        x = F.max_pool2d(x, 1, self.stride)
        n, _, h, w = x.shape
        zeros = _core.zeros(n, self.pad, h, w, dtype=x.dtype, device=x.device)
        return _core.cat([zeros, x, zeros], 1)


class CifarBasicBlock(BasicBlock):
    def __init__(self, cin, planes, stride=1):
        shortcut = None
        if stride != 1 or cin != planes:
            shortcut = ShortcutA(stride, (planes - cin) // 2)
        super().__init__(cin, planes, stride, shortcut)


class CifarResNet(nn.Module):
    """conv 3×3 (16), three stages of n basic blocks (16, 32, 64 planes; the second and
    third start with stride 2), global average pooling and `fc`: 6n+2 layers, for
    3×32×32 inputs."""

    def __init__(self, depth, num_classes=10):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n+2 (20, 32, 44, 56, 110), got {depth}")
        n = (depth - 2) // 6
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        stages, cin = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = [CifarBasicBlock(cin, planes, stride)]
            blocks += [CifarBasicBlock(planes, planes) for _ in range(1, n)]
            stages.append(nn.Sequential(*blocks))
            cin = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)
        init_cnn(self)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(self.avgpool(x).flatten(1))


def _imagenet(name, block, layers):
    def build(num_classes=1000, zero_init_residual=False, *, weights=None, progress=True):
        w = _weights.resolve(name, weights, num_classes)
        return _weights.load_into(ResNet(block, layers, num_classes, zero_init_residual), w, progress)
    build.__name__ = name
    build.__doc__ = (f"{name}: ResNet with {block.__name__} stages {layers}. `weights`: None (random), or "
                     f"{_weights.WEIGHTS[name].__name__} (a member or its name, \"DEFAULT\"), downloaded once "
                     f"with convnet.hub (`progress`: a progress bar).")
    return build


def _cifar(depth):
    def build(num_classes=10, *, weights=None, progress=True):
        _weights.resolve(build.__name__, weights, num_classes)
        return CifarResNet(depth, num_classes)
    build.__name__ = f"resnet{depth}"
    build.__doc__ = f"resnet{depth}: the paper's CIFAR ResNet with {depth} layers."
    return build


resnet18 = _imagenet("resnet18", BasicBlock, [2, 2, 2, 2])
resnet34 = _imagenet("resnet34", BasicBlock, [3, 4, 6, 3])
resnet50 = _imagenet("resnet50", Bottleneck, [3, 4, 6, 3])
resnet101 = _imagenet("resnet101", Bottleneck, [3, 4, 23, 3])
resnet152 = _imagenet("resnet152", Bottleneck, [3, 8, 36, 3])
resnet20, resnet32, resnet44, resnet56 = (_cifar(d) for d in (20, 32, 44, 56))
