"""GoogLeNet (Szegedy et al., 2015, Inception v1) as in the paper's table 1: 1×1 bottlenecks
before the 3×3 and 5×5 convolutions, a pooling branch, channel concatenation, local response
normalization in the stem, no auxiliary classifiers; for 3×224×224 inputs."""

from .. import _core, nn
from . import _weights
from ._init import init_cnn


def conv_relu(cin, cout, kernel_size, **kwargs):
    return nn.Sequential(nn.Conv2d(cin, cout, kernel_size, **kwargs), nn.ReLU())


class Inception(nn.Module):
    """Four branches concatenated along channels: 1×1; 1×1 then 3×3; 1×1 then 5×5;
    3×3 max-pool (stride 1) then 1×1."""

    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = conv_relu(cin, ch1x1, 1)
        self.branch2 = nn.Sequential(conv_relu(cin, ch3x3red, 1), conv_relu(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(conv_relu(cin, ch5x5red, 1), conv_relu(ch5x5red, ch5x5, 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     conv_relu(cin, pool_proj, 1))
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return _core.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


# (in, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj): the paper's table 1
_TABLE = {
    "3a": (192, 64, 96, 128, 16, 32, 32), "3b": (256, 128, 128, 192, 32, 96, 64),
    "4a": (480, 192, 96, 208, 16, 48, 64), "4b": (512, 160, 112, 224, 24, 64, 64),
    "4c": (512, 128, 128, 256, 24, 64, 64), "4d": (512, 112, 144, 288, 32, 64, 64),
    "4e": (528, 256, 160, 320, 32, 128, 128), "5a": (832, 256, 160, 320, 32, 128, 128),
    "5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.4):
        super().__init__()
        self.conv1 = conv_relu(3, 64, 7, stride=2, padding=3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.lrn1 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.conv2 = conv_relu(64, 64, 1)
        self.conv3 = conv_relu(64, 192, 3, padding=1)
        self.lrn2 = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception3a = Inception(*_TABLE["3a"])
        self.inception3b = Inception(*_TABLE["3b"])
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = Inception(*_TABLE["4a"])
        self.inception4b = Inception(*_TABLE["4b"])
        self.inception4c = Inception(*_TABLE["4c"])
        self.inception4d = Inception(*_TABLE["4d"])
        self.inception4e = Inception(*_TABLE["4e"])
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = Inception(*_TABLE["5a"])
        self.inception5b = Inception(*_TABLE["5b"])
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(1024, num_classes)
        init_cnn(self, linear_std=0.01)

    def forward(self, x):
        x = self.lrn1(self.maxpool1(self.conv1(x)))
        x = self.maxpool2(self.lrn2(self.conv3(self.conv2(x))))
        x = self.maxpool3(self.inception3b(self.inception3a(x)))
        for block in (self.inception4a, self.inception4b, self.inception4c, self.inception4d,
                      self.inception4e):
            x = block(x)
        x = self.inception5b(self.inception5a(self.maxpool4(x)))
        return self.fc(self.dropout(self.avgpool(x).flatten(1)))


def googlenet(num_classes=1000, dropout=0.4, *, weights=None, progress=True):
    """GoogLeNet of the paper; no pretrained weights (`weights` other than None is an error)."""
    _weights.resolve("googlenet", weights, num_classes)
    return GoogLeNet(num_classes, dropout)
