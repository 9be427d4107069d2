"""The documentation site: every ```python block of each tutorial page runs, in order, in a fresh
namespace and an empty temporary folder (MNIST from $CONVNET_DATA), and `mkdocs build --strict`
passes; every package of convnet has an API reference page."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from conftest import ROOT, data_root

DOCS = ROOT / "docs"
TUTORIALS = sorted((DOCS / "tutorials").glob("*.md"))
# pages that train for more than a few seconds (resnet20 steps, 6,000 MNIST images, memory measurements)
SLOW = {"resnet_cifar10.md", "transfer_learning.md", "lenet5_mnist.md", "memory.md", "vgg_cifar10.md"}


def python_blocks(path):
    """The ```python blocks of a Markdown page, with the line each starts on."""
    text = path.read_text()
    return [(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL)]


PAGES = [pytest.param(p, id=p.stem, marks=[pytest.mark.slow] if p.name in SLOW else []) for p in TUTORIALS]


@pytest.mark.parametrize("page", PAGES)
def test_tutorial_code_runs(page, tmp_path, monkeypatch):
    blocks = python_blocks(page)
    assert blocks, f"{page.name} has no python blocks"
    if "MNIST(" in page.read_text() and not (data_root() / "mnist").is_dir() and not list(data_root().glob("*idx*")):
        pytest.skip(f"{page.name} needs the MNIST files under {data_root()} (set CONVNET_DATA)")
    monkeypatch.setenv("CONVNET_DATA", str(data_root()))
    monkeypatch.chdir(tmp_path)
    import convnet as cn

    threads = cn.get_num_threads()
    namespace = {"__name__": "__tutorial__"}
    try:
        for line, code in blocks:
            try:
                exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
            except Exception as e:
                raise AssertionError(f"{page.relative_to(ROOT)}, the block at line {line} failed: "
                                     f"{type(e).__name__}: {e}") from e
    finally:
        cn.set_num_threads(threads)


def test_every_package_has_an_api_page():
    pages = {m.group(1) for p in (DOCS / "api").glob("*.md") for m in re.finditer(r"^::: (\S+)", p.read_text(), re.M)}
    nav = (ROOT / "mkdocs.yml").read_text()
    for p in (DOCS / "api").glob("*.md"):
        assert f"api/{p.name}" in nav, f"docs/api/{p.name} is not in mkdocs.yml's nav"
    pkg = ROOT / "python" / "convnet"
    packages = {"convnet." + ".".join(d.relative_to(pkg).parts) if d != pkg else "convnet"
                for d in [pkg, *pkg.rglob("*")] if (d / "__init__.py").is_file()
                and not any(part.startswith("_") for part in d.relative_to(pkg).parts)}
    assert packages <= pages, (f"packages without an API page (docs/api/<name>.md with '::: name'): "
                               f"{sorted(packages - pages)}")


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install mkdocs-material 'mkdocstrings[python]')")
    pytest.importorskip("mkdocstrings_handlers.python", reason="mkdocstrings[python] is not installed")
    pytest.importorskip("material", reason="mkdocs-material is not installed")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                        "-d", str(tmp_path / "site")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout[-4000:]}\n{r.stderr[-8000:]}"
    site = tmp_path / "site"
    html = (site / "api" / "transforms" / "index.html").read_text()
    assert 'id="convnet.transforms.RandomCrop"' in html  # the reference is generated from the docstrings
    assert 'id="convnet.utils.checkpoint.checkpoint"' in (site / "api" / "utils_checkpoint" / "index.html").read_text()
    assert (site / "tutorials" / "lenet5_mnist" / "index.html").is_file()
