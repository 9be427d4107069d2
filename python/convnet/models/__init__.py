"""The model zoo: classic CNNs with torchvision's layer names, so that weights saved by
PyTorch load by parameter name. Every builder takes `num_classes`, and `weights=` for the
ImageNet weights torchvision publishes (`resnet18(weights="IMAGENET1K_V1")`, see `_weights.py`)."""

from .alexnet import AlexNet, alexnet
from .googlenet import GoogLeNet, Inception, googlenet
from .lenet import lenet5
from .mobilenet import MobileNetV2, mobilenet_v2
from .nin import NIN, nin
from .resnet import (BasicBlock, Bottleneck, CifarResNet, ResNet, resnet18, resnet20, resnet32, resnet34,
                     resnet44, resnet50, resnet56, resnet101, resnet152)
from ._weights import (AlexNet_Weights, MobileNet_V2_Weights, ResNet18_Weights, ResNet34_Weights,
                       ResNet50_Weights, ResNet101_Weights, ResNet152_Weights, VGG11_BN_Weights, VGG11_Weights,
                       VGG13_BN_Weights, VGG13_Weights, VGG16_BN_Weights, VGG16_Weights, VGG19_BN_Weights,
                       VGG19_Weights, Weights, WeightsEnum, get_model_weights, get_weight)
from .vgg import VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn

_REGISTRY = {f.__name__: f for f in (
    lenet5, alexnet, vgg11, vgg13, vgg16, vgg19, vgg11_bn, vgg13_bn, vgg16_bn, vgg19_bn,
    resnet18, resnet34, resnet50, resnet101, resnet152, resnet20, resnet32, resnet44, resnet56,
    googlenet, nin, mobilenet_v2)}

# the input each model is built for (channels, height, width)
INPUT_SHAPES = {name: (1, 28, 28) if name == "lenet5" else
                (3, 32, 32) if name in ("resnet20", "resnet32", "resnet44", "resnet56", "nin") else
                (3, 224, 224) for name in _REGISTRY}


def get_model(name, **kwargs):
    """The model called `name` (as listed by `list_models()`), built with `kwargs`
    (for instance `num_classes`, or `weights="DEFAULT"`)."""
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"get_model: unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}") from None
    return builder(**kwargs)


def list_models():
    return sorted(_REGISTRY)


__all__ = ["AlexNet", "BasicBlock", "Bottleneck", "CifarResNet", "GoogLeNet", "INPUT_SHAPES", "Inception",
           "MobileNetV2", "NIN", "ResNet", "VGG", "get_model", "list_models", *sorted(_REGISTRY)]
__all__ += ["AlexNet_Weights", "MobileNet_V2_Weights", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights",
            "ResNet101_Weights", "ResNet152_Weights", "VGG11_BN_Weights", "VGG11_Weights", "VGG13_BN_Weights",
            "VGG13_Weights", "VGG16_BN_Weights", "VGG16_Weights", "VGG19_BN_Weights", "VGG19_Weights", "Weights",
            "WeightsEnum", "get_model_weights", "get_weight"]
