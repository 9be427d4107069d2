"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012) in its single-tower form, for 3×224×224 inputs."""

from .. import nn
from . import _weights


class AlexNet(nn.Module):
    """`features` (five convolutions, overlapping 3/2 max pooling), `avgpool` to 6×6 and the
    `classifier` (dropout, 4096, 4096, num_classes), with torchvision's layer names.

    lrn=False is torchvision's variant (64-192-384-256-256 filters, 61,100,840 parameters for
    1000 classes); lrn=True is the paper's (96-256-384-384-256 filters, local response
    normalization with size 5, alpha 1e-4, beta 0.75, k 2 after the first two convolutions).
    """

    def __init__(self, num_classes=1000, dropout=0.5, lrn=False):
        super().__init__()
        c = (96, 256, 384, 384, 256) if lrn else (64, 192, 384, 256, 256)

        def norm():
            return [nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)] if lrn else []

        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], 11, stride=4, padding=2), nn.ReLU(), *norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(), *norm(), nn.MaxPool2d(3, 2),
            nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(),
            nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(c[4] * 36, 4096), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(4096, 4096), nn.ReLU(),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def alexnet(num_classes=1000, dropout=0.5, lrn=False, *, weights=None, progress=True):
    """AlexNet; `weights`: None (random), or AlexNet_Weights (a member or its name, "DEFAULT") for
    torchvision's variant (lrn=False)."""
    w = _weights.resolve("alexnet", weights, num_classes, "lrn=True" if lrn else None)
    return _weights.load_into(AlexNet(num_classes, dropout, lrn), w, progress)
