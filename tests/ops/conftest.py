"""Fixtures of the op tests."""

import pytest

import convnet as cn


@pytest.fixture
def small_workspace():
    """Column buffers of at most 4 KiB, so that every batch runs in several chunks."""
    old = cn.backends.cuda.conv_workspace_limit
    cn.backends.cuda.conv_workspace_limit = 4096
    yield
    cn.backends.cuda.conv_workspace_limit = old
