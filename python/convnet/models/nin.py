"""Network in Network (Lin, Chen and Yan, 2014), the CIFAR form: three mlpconv blocks (a
spatial convolution followed by two 1×1 convolutions), the last ending in `num_classes`
maps that global average pooling turns into the logits; no fully connected layer."""

from .. import nn
from . import _weights
from ._init import init_cnn


class NIN(nn.Module):
    def __init__(self, num_classes=10, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 192, 5, padding=2), nn.ReLU(),
            nn.Conv2d(192, 160, 1), nn.ReLU(),
            nn.Conv2d(160, 96, 1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
            nn.Conv2d(96, 192, 5, padding=2), nn.ReLU(),
            nn.Conv2d(192, 192, 1), nn.ReLU(),
            nn.Conv2d(192, 192, 1), nn.ReLU(),
            nn.AvgPool2d(3, stride=2, ceil_mode=True), nn.Dropout(dropout),
            nn.Conv2d(192, 192, 3, padding=1), nn.ReLU(),
            nn.Conv2d(192, 192, 1), nn.ReLU(),
            nn.Conv2d(192, num_classes, 1), nn.ReLU(),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        init_cnn(self)

    def forward(self, x):
        return self.flatten(self.avgpool(self.features(x)))


def nin(num_classes=10, dropout=0.5, *, weights=None, progress=True):
    _weights.resolve("nin", weights, num_classes)
    return NIN(num_classes, dropout)
