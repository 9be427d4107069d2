"""LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for 1×28×28 inputs."""

from .. import nn
from . import _weights


def lenet5(num_classes=10, *, weights=None, progress=True):
    """conv 6@5×5 pad 2, ReLU, max-pool 2, conv 16@5×5, ReLU, max-pool 2, flatten,
    Linear 400→120, ReLU, 120→84, ReLU, 84→num_classes (61,706 parameters for 10 classes).
    No pretrained weights (`weights` other than None is an error)."""
    _weights.resolve("lenet5", weights, num_classes)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, num_classes),
    )
