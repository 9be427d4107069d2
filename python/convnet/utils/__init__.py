"""convnet.utils.data is convnet.data, where torch users import DataLoader from
(`from convnet.utils.data import DataLoader`); convnet.utils.checkpoint recomputes a block's
activations in backward (as torch.utils.checkpoint)."""

import sys

from .. import data
from . import checkpoint

sys.modules[__name__ + ".data"] = data

__all__ = ["checkpoint", "data"]
