"""The same seed and thread count give bit-identical weights after training."""

import numpy as np

import convnet as cn
import convnet.nn as nn
from convnet.data import DataLoader


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
