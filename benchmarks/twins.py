"""The torch.nn models the benchmarks set beside convnet's zoo, from their one definition in
tests/torch_twins.py (where the tests check them against the zoo): `torch_resnet18`. Importing
this module imports torch."""

import os
import sys

sys.path.append(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from torch_twins import torch_resnet18  # noqa: E402

__all__ = ["torch_resnet18"]
