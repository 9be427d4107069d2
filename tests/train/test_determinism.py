"""The same seed and thread count give bit-identical weights after training."""

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
import convnet.nn as nn
from convnet.data import DataLoader
from opcheck import to_np


def _train(seed, steps=100, threads=2):
    cn.set_num_threads(threads)
    cn.manual_seed(seed)
    rng = np.random.default_rng(0)  # the data are fixed; only convnet's seed varies
    x = rng.random((64 * 10, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 64 * 10)
    model = cn.models.lenet5()
    # dropout, so that the run draws from the generator during training too
    model = nn.Sequential(model, nn.Dropout(0.2), nn.Linear(10, 10))
    opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4, nesterov=True)
    loader = DataLoader((x, y), 64, shuffle=True)  # shuffled from convnet's generator
    loss_fn = nn.CrossEntropyLoss()
    step = 0
    while step < steps:
        for xb, yb in loader:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
            step += 1
            if step == steps:
                break
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def test_two_seeded_runs_of_100_steps_are_bit_identical():
    before = cn.get_num_threads()
    try:
        a, b = _train(123), _train(123)
        c = _train(124)
    finally:
        cn.set_num_threads(before)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].tobytes() == b[k].tobytes(), k
    # a different seed gives different weights, so the comparison above can fail
    assert any(a[k].tobytes() != c[k].tobytes() for k in a)


THREAD_OPS = [
    ("batch_norm", lambda x: F.batch_norm(x, None, None, training=True)),
    ("local_response_norm", lambda x: F.local_response_norm(x, 5)),
    ("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (5, 7))),
    ("interpolate bilinear", lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear")),
    ("pad", lambda x: F.pad(x, (2, -1, 1, 3), value=0.5)),
    ("lp_pool2d", lambda x: F.lp_pool2d(x, 2, 3, 2)),
]


@pytest.mark.parametrize("name,fn", THREAD_OPS, ids=[n for n, _ in THREAD_OPS])
def test_results_do_not_depend_on_the_thread_count(name, fn):
    """Inputs large enough to run in parallel: bit-identical outputs and gradients at 1 and 3 threads."""
    x_np = np.random.default_rng(9).standard_normal((6, 16, 24, 24)).astype(np.float32)
    dy = None
    results = []
    before = cn.get_num_threads()
    try:
        for t in (1, 3):
            cn.set_num_threads(t)
            x = cn.tensor(x_np).requires_grad_(True)
            y = fn(x)
            if dy is None:
                dy = np.random.default_rng(10).standard_normal(tuple(y.shape)).astype(np.float32)
            y.backward(cn.tensor(dy))
            results.append((to_np(y), x.grad.numpy()))
    finally:
        cn.set_num_threads(before)
    assert np.array_equal(results[0][0], results[1][0]), f"{name} forward"
    assert np.array_equal(results[0][1], results[1][1]), f"{name} gradient"
