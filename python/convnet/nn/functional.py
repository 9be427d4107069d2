"""Alias of convnet.functional, where torch users look for it."""

from ..functional import *  # noqa: F401,F403
from ..functional import __all__  # noqa: F401
