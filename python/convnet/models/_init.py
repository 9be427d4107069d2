"""Weight initialization shared by the zoo (torchvision's schemes)."""

from .. import nn


def init_cnn(model, linear_std=None):
    """Convolutions: Kaiming normal (fan_out, ReLU), zero bias; batch norms: weight 1, bias 0;
    linear layers: normal(0, `linear_std`) and zero bias when `linear_std` is given, otherwise
    their default (PyTorch's) initialization."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0.0, linear_std)
            nn.init.zeros_(m.bias)
