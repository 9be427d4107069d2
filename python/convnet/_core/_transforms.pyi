"""
C++ image transforms (wrapped by convnet.transforms)
"""
from __future__ import annotations
import collections.abc
import convnet._core
import numpy
import numpy.typing
import typing
__all__: list[str] = ['AutoAugment', 'BatchIterator', 'CenterCrop', 'ColorJitter', 'GaussianBlur', 'Grayscale', 'Lighting', 'Normalize', 'Pipeline', 'RandomAffine', 'RandomCrop', 'RandomErasing', 'RandomFlip', 'RandomPerspective', 'RandomResizedCrop', 'Resize', 'TenCrop', 'ToTensor', 'Transform', 'augment_op', 'mix_batch', 'mix_params']
class Transform:
    @property
    def name(self) -> str:
        ...
class ToTensor(Transform):
    def __init__(self) -> None:
        ...
class Normalize(Transform):
    def __init__(self, mean: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], std: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class RandomCrop(Transform):
    def __init__(self, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex, padding: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"], pad_if_needed: bool, fill: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], padding_mode: str) -> None:
        ...
class CenterCrop(Transform):
    def __init__(self, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
class Resize(Transform):
    def __init__(self, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex, interpolation: str) -> None:
        ...
class RandomResizedCrop(Transform):
    def __init__(self, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex, scale: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(2)"], ratio: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(2)"], interpolation: str) -> None:
        ...
class RandomFlip(Transform):
    def __init__(self, p: typing.SupportsFloat | typing.SupportsIndex, vertical: bool) -> None:
        ...
class RandomAffine(Transform):
    def __init__(self, degrees: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(2)"], translate: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], scale: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], shear: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], interpolation: str, fill: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], who: str) -> None:
        ...
class ColorJitter(Transform):
    def __init__(self, brightness: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], contrast: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], saturation: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], hue: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class Grayscale(Transform):
    def __init__(self, channels: typing.SupportsInt | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Lighting(Transform):
    def __init__(self, alphastd: typing.SupportsFloat | typing.SupportsIndex, eigval: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"], eigvec: typing.Annotated[collections.abc.Sequence[typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"]], "FixedSize(3)"]) -> None:
        ...
class RandomErasing(Transform):
    def __init__(self, p: typing.SupportsFloat | typing.SupportsIndex, scale: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(2)"], ratio: typing.Annotated[collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(2)"], value: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class TenCrop(Transform):
    def __init__(self, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex, vertical_flip: bool) -> None:
        ...
class RandomPerspective(Transform):
    def __init__(self, distortion_scale: typing.SupportsFloat | typing.SupportsIndex, p: typing.SupportsFloat | typing.SupportsIndex, interpolation: str, fill: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
class GaussianBlur(Transform):
    def __init__(self, kx: typing.SupportsInt | typing.SupportsIndex, ky: typing.SupportsInt | typing.SupportsIndex, sigma_lo: typing.SupportsFloat | typing.SupportsIndex, sigma_hi: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class AutoAugment(Transform):
    def __init__(self, policy: str, num_ops: typing.SupportsInt | typing.SupportsIndex, magnitude: typing.SupportsInt | typing.SupportsIndex, num_magnitude_bins: typing.SupportsInt | typing.SupportsIndex, interpolation: str, fill: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex]) -> None:
        ...
    def draw(self, seed: typing.SupportsInt | typing.SupportsIndex, h: typing.SupportsInt | typing.SupportsIndex, w: typing.SupportsInt | typing.SupportsIndex) -> list:
        """
        The (operation name, signed magnitude) pairs drawn for an (h, w) image by a generator seeded with `seed`.
        """
class Pipeline:
    @staticmethod
    def image_seed(base: typing.SupportsInt | typing.SupportsIndex, k: typing.SupportsInt | typing.SupportsIndex) -> int:
        ...
    def __init__(self, stages: collections.abc.Sequence[Transform]) -> None:
        ...
    def batch(self, images: typing.Any, base: typing.SupportsInt | typing.SupportsIndex, first: typing.SupportsInt | typing.SupportsIndex = 0, parallel: bool = True, indices: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex] | None = None) -> convnet._core.Tensor:
        """
        Transforms images[k] with the generator of image_seed(base, first + k) and collates them; errors name indices[k], the image's data set index, when given.
        """
class BatchIterator:
    """
    One epoch of a DataLoader over arrays (convnet/data/loader.h)
    """
    def __init__(self, arrays: collections.abc.Sequence[convnet._core.Tensor], pipelines: list, indices: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], sizes: typing.Annotated[numpy.typing.ArrayLike, numpy.int64], base: typing.SupportsInt | typing.SupportsIndex, num_workers: typing.SupportsInt | typing.SupportsIndex, prefetch: typing.SupportsInt | typing.SupportsIndex, pin_memory: bool = False) -> None:
        ...
    def __iter__(self) -> typing.Any:
        ...
    def __len__(self) -> int:
        ...
    def __next__(self) -> tuple:
        ...
    def close(self) -> None:
        """
        Stops the workers and drops the prefetched batches.
        """
def augment_op(image: numpy.ndarray, op: str, magnitude: typing.SupportsFloat | typing.SupportsIndex, interpolation: str = 'nearest', fill: collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex] = []) -> numpy.typing.NDArray[numpy.uint8]:
    """
    One AutoAugment operation with a signed magnitude on a uint8 (H, W[, C]) image.
    """
def mix_batch(images: convnet._core.Tensor, labels: convnet._core.Tensor, num_classes: typing.SupportsInt | typing.SupportsIndex, lam: typing.SupportsFloat | typing.SupportsIndex, box: typing.Annotated[collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(4)"] | None = None, who: str = 'MixUp') -> tuple[convnet._core.Tensor, convnet._core.Tensor]:
    """
    Mixed images and soft targets of a batch (MixUp with lam, or CutMix with box and its lam).
    """
def mix_params(seed: typing.SupportsInt | typing.SupportsIndex, alpha: typing.SupportsFloat | typing.SupportsIndex, cutmix: bool, h: typing.SupportsInt | typing.SupportsIndex = 0, w: typing.SupportsInt | typing.SupportsIndex = 0) -> dict:
    """
    MixUp's lam, or CutMix's box (x1, y1, x2, y2) and corrected lam, drawn from a generator seeded with `seed`.
    """
