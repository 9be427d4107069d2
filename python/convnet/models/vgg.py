"""VGG (Simonyan and Zisserman, 2015): configurations A (11), B (13), D (16) and E (19),
with or without batch normalization, for 3×224×224 inputs; torchvision's layer names and
initialization."""

from .. import nn
from . import _weights
from ._init import init_cnn

_CFGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}


class VGG(nn.Module):
    def __init__(self, cfg, num_classes=1000, batch_norm=False, dropout=0.5):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers.append(nn.Conv2d(c, v, 3, padding=1))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(v))
                layers.append(nn.ReLU())
                c = v
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(4096, num_classes),
        )
        init_cnn(self, linear_std=0.01)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(depth, batch_norm):
    def build(num_classes=1000, dropout=0.5, *, weights=None, progress=True):
        w = _weights.resolve(build.__name__, weights, num_classes)
        return _weights.load_into(VGG(_CFGS[depth], num_classes, batch_norm, dropout), w, progress)
    build.__name__ = f"vgg{depth}{'_bn' if batch_norm else ''}"
    build.__doc__ = (f"VGG-{depth}{' with batch normalization' if batch_norm else ''}. `weights`: None (random), "
                     f"or {_weights.WEIGHTS[build.__name__].__name__} (a member or its name, \"DEFAULT\").")
    return build


vgg11, vgg13, vgg16, vgg19 = (_vgg(d, False) for d in (11, 13, 16, 19))
vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn = (_vgg(d, True) for d in (11, 13, 16, 19))
