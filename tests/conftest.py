import os
import pathlib

import pytest

import opcheck

ROOT = pathlib.Path(__file__).resolve().parent.parent


def data_root():
    """Folder holding the MNIST files: $CONVNET_DATA or ../shared/data beside the project."""
    env = os.environ.get("CONVNET_DATA")
    if env:
        return pathlib.Path(env).resolve()
    return ROOT.parent / "shared" / "data"


@pytest.fixture
def mnist_root():
    root = data_root()
    candidates = [root, root / "mnist"]
    for c in candidates:
        if (c / "train-images-idx3-ubyte.gz").exists():
            return c
    pytest.skip(f"MNIST files not found under {root} (set CONVNET_DATA)")


@pytest.fixture(autouse=True)
def _reseed_randn():
    """opcheck.randn gives every test the same stream, whatever ran before it."""
    opcheck.reseed()
