"""Pretrained weights of the zoo: the ImageNet files torchvision publishes for the models whose
layers (and layer names) the zoo shares with torchvision, downloaded through `convnet.hub`.

Each model with weights has an enum of them, as torchvision's (`ResNet18_Weights.IMAGENET1K_V1`,
`.DEFAULT` the recommended one); its builder takes `weights=` as a member, its name
("IMAGENET1K_V1", "DEFAULT") or "ResNet18_Weights.IMAGENET1K_V1". The files are verified by the
SHA-256 prefix in their names (torchvision publishes no full hashes); `Weights.sha256` holds a
full digest where one is known, and then that is checked instead. The full digests below are those
that independent public projects pinning these exact files (by URL and name, several also by size)
agree on; the entries without one keep the prefix check.
"""

import enum

from .. import hub

_URL = "https://download.pytorch.org/models/"
# the ImageNet preprocessing the weights were trained with (torchvision's ImageClassification)
_MEAN, _STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class Weights:
    """One published weights file: its `url`, its full `sha256` where known (else None: the
    hash prefix in the file name is checked) and `meta` (num_params, num_classes, and the
    preprocessing: resize_size, crop_size, mean, std)."""

    def __init__(self, file, num_params, resize_size=256, sha256=None):
        self.url, self.sha256 = _URL + file, sha256
        self.meta = {"num_params": num_params, "num_classes": 1000, "resize_size": resize_size, "crop_size": 224,
                     "mean": _MEAN, "std": _STD}

    def transforms(self):
        """The evaluation preprocessing of these weights for a PIL image or an (H, W, C) uint8 array:
        resize the shorter side to resize_size, center crop_size, scale to [0, 1], normalize
        (torchvision resizes with antialiasing, convnet without: outputs differ slightly)."""
        from .. import transforms as T
        m = self.meta
        return T.Compose([T.Resize(m["resize_size"]), T.CenterCrop(m["crop_size"]), T.ToTensor(),
                          T.Normalize(m["mean"], m["std"])])


class WeightsEnum(enum.Enum):
    """The published weights of one model; members are `Weights` (their url, sha256, meta and
    transforms() read through), DEFAULT the recommended one."""

    @classmethod
    def verify(cls, obj):
        """The member that `obj` names: a member, its name, or "<Enum>.<name>"; None stays None."""
        if obj is None or isinstance(obj, cls):
            return obj
        if isinstance(obj, WeightsEnum):
            raise ValueError(f"weights {obj!r} are for another model; expected one of {cls._names()}")
        if isinstance(obj, str):
            name = obj[len(cls.__name__) + 1:] if obj.startswith(cls.__name__ + ".") else obj
            if name in cls.__members__:
                return cls.__members__[name]
        raise ValueError(f"unknown weights {obj!r}; expected one of {cls._names()}")

    @classmethod
    def _names(cls):
        return ", ".join(f"{cls.__name__}.{n}" for n in cls.__members__)

    def __repr__(self):
        return f"{type(self).__name__}.{self.name}"

    @property
    def url(self):
        return self.value.url

    @property
    def sha256(self):
        return self.value.sha256

    @property
    def meta(self):
        return self.value.meta

    def transforms(self):
        return self.value.transforms()

    def get_state_dict(self, progress=True, check_hash=True, map_location=None):
        """The state dict of these weights, downloaded once into `convnet.hub.get_dir()`."""
        return hub.load_state_dict_from_url(self.url, map_location=map_location, progress=progress,
                                            check_hash=check_hash, sha256=self.sha256)


def _weights_enum(name, num_params, files):
    """The weights enum `name` of one model: IMAGENET1K_V1, _V2, ... for `files`, (file name, full
    SHA-256 or None) pairs in torchvision's order (the V2 recipes evaluate at resize 232), and
    DEFAULT, the last of them."""
    versions = [(f"IMAGENET1K_V{i + 1}", Weights(file, num_params, 256 if i == 0 else 232, sha256))
                for i, (file, sha256) in enumerate(files)]
    return WeightsEnum(name, versions + [("DEFAULT", versions[-1][1])], module=__name__, qualname=name)


# the weights of each builder: its enum's name, the number of parameters, the files; the zoo's other
# models have none that fit them
_PUBLISHED = {
    "resnet18": ("ResNet18_Weights", 11689512, [
        ("resnet18-f37072fd.pth", "f37072fd47e89c5e827621c5baffa7500819f7896bbacec160b1a16c560e07ec")]),
    "resnet34": ("ResNet34_Weights", 21797672, [
        ("resnet34-b627a593.pth", "b627a593bcbe140c234610266fe4f8ae95ea42fc881d091c9b6052e6b1d0590f")]),
    "resnet50": ("ResNet50_Weights", 25557032, [
        ("resnet50-0676ba61.pth", "0676ba61b6795bbe1773cffd859882e5e297624d384b6993f7c9e683e722fb8a"),
        ("resnet50-11ad3fa6.pth", "11ad3fa62ca79e40addfd354a8ec4b7c75143b3038b8d2a807fbc68deab379ca")]),
    "resnet101": ("ResNet101_Weights", 44549160, [
        ("resnet101-63fe2227.pth", "63fe2227b86e8f1f2063f43a75c84d195911b6a0eace650907dd3dc62dd49a0a"),
        ("resnet101-cd907fc2.pth", "cd907fc2a0de2292b2ba2b27d2216bc672d84632d1cf20058d01c0c03b5e020e")]),
    "resnet152": ("ResNet152_Weights", 60192808, [
        ("resnet152-394f9c45.pth", "394f9c45966e3651a89bbb78a48410a6755854ce4a5ab64927cf1c7247f85e58"),
        ("resnet152-f82ba261.pth", None)]),
    "alexnet": ("AlexNet_Weights", 61100840, [
        ("alexnet-owt-7be5be79.pth", "7be5be791159472b1fbf3c69796f7cb30dca7ad8466c2df70058c37116cdee02")]),
    "vgg11": ("VGG11_Weights", 132863336, [
        ("vgg11-8a719046.pth", None)]),
    "vgg13": ("VGG13_Weights", 133047848, [
        ("vgg13-19584684.pth", None)]),
    "vgg16": ("VGG16_Weights", 138357544, [
        ("vgg16-397923af.pth", "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0")]),
    "vgg19": ("VGG19_Weights", 143667240, [
        ("vgg19-dcbb9e9d.pth", "dcbb9e9dad569fff7a846263a77324fc34978fea2bfb039c012d710e1776ae44")]),
    "vgg11_bn": ("VGG11_BN_Weights", 132868840, [
        ("vgg11_bn-6002323d.pth", None)]),
    "vgg13_bn": ("VGG13_BN_Weights", 133053736, [
        ("vgg13_bn-abd245e5.pth", None)]),
    "vgg16_bn": ("VGG16_BN_Weights", 138365992, [
        ("vgg16_bn-6c64b313.pth", None)]),
    "vgg19_bn": ("VGG19_BN_Weights", 143678248, [
        ("vgg19_bn-c79401a0.pth", None)]),
    "mobilenet_v2": ("MobileNet_V2_Weights", 3504872, [
        ("mobilenet_v2-b0353104.pth", "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"),
        ("mobilenet_v2-7ebf99e0.pth", "7ebf99e03e254b273379b23edca7ec0da9f48273b23a332b93c1c99d49e86e8f")]),
}
WEIGHTS = {model: _weights_enum(*entry) for model, entry in _PUBLISHED.items()}
# the enums by name (ResNet18_Weights, ...), as torchvision's
globals().update((enum_cls.__name__, enum_cls) for enum_cls in WEIGHTS.values())
_WHY_NONE = {
    "googlenet": "torchvision's GoogLeNet weights are for its own variant (batch-normalized convolutions, "
                 "a 3x3 convolution in the 5x5 branch, auxiliary classifiers), which this model of the paper's "
                 "table 1 does not match",
}


def resolve(model, weights, num_classes, architecture_note=None):
    """The member of `model`'s weights enum that `weights` names (None: None), checked against the
    builder's arguments: `num_classes` must be the weights' own, and `architecture_note` (set when
    another argument changes the layers, e.g. "lrn=True") must be None."""
    if weights is None:
        return None
    enum_cls = WEIGHTS.get(model)
    if enum_cls is None:
        why = _WHY_NONE.get(model, "none are published for it")
        raise ValueError(f"{model}: no pretrained weights (weights={weights!r}): {why}; the zoo's models with "
                         f"weights: {', '.join(sorted(WEIGHTS))}")
    try:
        w = enum_cls.verify(weights)
    except ValueError as e:
        raise ValueError(f"{model}: {e}") from None
    if num_classes != w.meta["num_classes"]:
        raise ValueError(f"{model}: the {w!r} weights classify {w.meta['num_classes']} classes, got "
                         f"num_classes={num_classes}; build with the weights' classes and replace the last layer")
    if architecture_note is not None:
        raise ValueError(f"{model}: the {w!r} weights are for the default layers, not {architecture_note}")
    return w


def load_into(model, weights, progress):
    """`model` with the state dict of `weights` (a WeightsEnum member, or None: unchanged). Batch
    norms' num_batches_tracked, which files saved before PyTorch 0.4.1 lack, keep the model's."""
    if weights is None:
        return model
    state = weights.get_state_dict(progress=progress)
    own = model.state_dict()
    for name, value in own.items():
        if name.endswith("num_batches_tracked") and name not in state:
            state[name] = value
    model.load_state_dict(state)
    return model


def get_model_weights(name):
    """The weights enum of the zoo model called `name` (ValueError where it has none)."""
    try:
        return WEIGHTS[name]
    except KeyError:
        raise ValueError(f"get_model_weights: {name!r} has no pretrained weights; the zoo's models with weights: "
                         f"{', '.join(sorted(WEIGHTS))}") from None


def get_weight(name):
    """The weights called `name`, "<Enum>.<member>" ("ResNet50_Weights.IMAGENET1K_V2")."""
    enum_name, _, member = name.partition(".")
    for enum_cls in WEIGHTS.values():
        if enum_cls.__name__ == enum_name:
            return enum_cls.verify(member)
    raise ValueError(f"get_weight: unknown weights enum {enum_name!r}; known: "
                     f"{', '.join(sorted(e.__name__ for e in WEIGHTS.values()))}")
