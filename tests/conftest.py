import os
import pathlib
import subprocess

import numpy as np
import pytest

import opcheck

ROOT = pathlib.Path(__file__).resolve().parent.parent


def api_test_checks():
    """How many checks tests/cpp/api_test.cpp makes (its `expect` calls, each printing "ok" or "FAIL")."""
    return (ROOT / "tests" / "cpp" / "api_test.cpp").read_text().count("\n  expect(")


def data_root():
    """Folder holding the MNIST files: $CONVNET_DATA or ../shared/data beside the project."""
    env = os.environ.get("CONVNET_DATA")
    if env:
        return pathlib.Path(env).resolve()
    return ROOT.parent / "shared" / "data"


def run_command(cmd, **kw):
    """Runs cmd (its parts as strings; kw as for subprocess.run) and returns its stdout; a non-zero
    exit fails the test with the command and the tails of its stdout and stderr."""
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n{r.stdout[-8000:]}\n{r.stderr[-6000:]}"
    return r.stdout


def image_folder(root, classes=("top", "left", "dark"), n_per_class=12, size=20, rgb=True):
    """An ImageFolder tree of PNGs under root, a folder a class: noise with a bright top half
    (the first class), a bright left half (the second) or neither (the others)."""
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        os.makedirs(root / name)
        for i in range(n_per_class):
            img = rng.integers(0, 60, (size, size, 3) if rgb else (size, size), dtype=np.uint8)
            if k == 0:
                img[:size // 2] += 180
            elif k == 1:
                img[:, :size // 2] += 180
            Image.fromarray(img).save(root / name / f"{i}.png")


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


@pytest.fixture(autouse=True, scope="session")
def _convnet_home(tmp_path_factory):
    """convnet's cache folder (CONVNET_HOME: ImageFolder's file lists) in a temporary folder for the
    session, so that tests (and the commands they start) leave nothing in the user's ~/.cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("CONVNET_HOME", str(tmp_path_factory.mktemp("convnet_home")))
    yield
    patch.undo()
