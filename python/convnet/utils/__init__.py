"""convnet.utils.data is convnet.data, where torch users import DataLoader from
(`from convnet.utils.data import DataLoader`)."""

import sys

from .. import data

sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
