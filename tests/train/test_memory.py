"""The memory of a training step (convnet.summary.estimate_memory) and fit's check before its first
step: parameter, gradient and optimizer-state bytes against hand counts, activations against the
bytes a step must hold, and an over-memory run that stops before any step."""

import os
import subprocess
import sys

import numpy as np
import pytest

import convnet as cn
import convnet.nn as nn
from convnet.summary import ALLOCATOR_OVERHEAD, InsufficientMemoryError, available_memory, estimate_memory, parse_bytes


def _tiny():
    cn.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(),
                         nn.Linear(8 * 32 * 32, 10))


# parameters: conv 8*1*3*3 + 8, batch norm 8 + 8, linear 8192*10 + 10; buffers: running mean and
# variance (8 + 8 float32) and the batch counter (one int64)
PARAMS = 8 * 9 + 8 + 16 + 8192 * 10 + 10
BUFFER_BYTES = 16 * 4 + 8


def test_parameters_gradients_and_optimizer_state_are_the_hand_counts():
    model = _tiny()
    e = estimate_memory(model, (1, 32, 32), batch_size=16)
    assert e.parameters == PARAMS * 4 + BUFFER_BYTES
    assert e.gradients == PARAMS * 4
    assert e.optimizer_state == 0
    assert estimate_memory(model, (1, 32, 32), 16, optimizer="sgd").optimizer_state == PARAMS * 4
    assert estimate_memory(model, (1, 32, 32), 16, optimizer="adam").optimizer_state == 2 * PARAMS * 4
    plain = cn.optim.SGD(model.parameters(), lr=0.1)
    assert estimate_memory(model, (1, 32, 32), 16, optimizer=plain).optimizer_state == 0
    groups = cn.optim.SGD([{"params": list(model[0].parameters()), "momentum": 0.9},
                           {"params": list(model[4].parameters())}], lr=0.1)
    assert estimate_memory(model, (1, 32, 32), 16, optimizer=groups).optimizer_state == (8 * 9 + 8) * 4
    model[4].requires_grad_(False)
    e = estimate_memory(model, (1, 32, 32), 16, optimizer=cn.optim.Adam(model.parameters()))
    assert e.gradients == (8 * 9 + 8 + 16) * 4
    assert e.optimizer_state == 2 * (8 * 9 + 8 + 16) * 4


def test_activations_per_sample_between_what_a_step_must_hold_and_a_hand_upper_bound():
    e = estimate_memory(_tiny(), (1, 32, 32), batch_size=64)
    plane = 8 * 32 * 32 * 4  # one (8, 32, 32) float32 activation of one sample
    # backward needs at least the saved batch-norm input or output and the gradient flowing back
    # through it; convolution output, batch norm, ReLU, their gradients and im2col columns stay
    # below eight planes
    assert 2 * plane <= e.activations_per_sample <= 8 * plane, e
    assert e.activations == int((e.activations_fixed + 64 * e.activations_per_sample)
                                * (1 + ALLOCATOR_OVERHEAD))
    assert e.inputs == 64 * (32 * 32 * 4 + 8)
    assert e.total == e.runtime + e.parameters + e.gradients + e.optimizer_state + e.activations + e.inputs
    assert e.runtime > 0  # the interpreter and libraries
    big = e.at(1024)
    assert big.total > e.total and big.max_batch_size(big.total) == 1024


def test_estimate_leaves_the_model_as_it_was():
    model = _tiny()
    model.eval()
    model(cn.ones(2, 1, 32, 32)).sum().backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    buffers = [b.numpy().copy() for b in model.buffers()]
    rng = cn.get_rng_state().numpy().copy()
    estimate_memory(model, (1, 32, 32), 32)
    assert not model.training
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)
    for b, v in zip(model.buffers(), buffers):
        np.testing.assert_array_equal(b.numpy(), v)
    np.testing.assert_array_equal(cn.get_rng_state().numpy(), rng)


def test_summary_prints_the_memory():
    lines = []
    s = cn.summary(_tiny(), (1, 32, 32), batch_size=8, optimizer="adam", print_fn=lines.append)
    assert s.memory.batch_size == 8
    assert "optimizer state" in lines[0] and "activations" in lines[0]
    assert cn.summary(_tiny(), (1, 32, 32), memory=False, print_fn=None).memory is None


def test_parse_bytes_and_available_memory(monkeypatch):
    assert parse_bytes("512M") == 512 * 2**20
    assert parse_bytes("1.5GiB") == int(1.5 * 2**30)
    assert parse_bytes("4096") == 4096
    with pytest.raises(ValueError, match="parse_bytes"):
        parse_bytes("lots")
    monkeypatch.setenv("CONVNET_MEMORY_AVAILABLE", "3G")
    assert available_memory() == (3 * 2**30, "CONVNET_MEMORY_AVAILABLE")
    monkeypatch.delenv("CONVNET_MEMORY_AVAILABLE")
    avail, source = available_memory()
    assert avail > 0 and ("MemAvailable" in source or "cgroup" in source)


def _loader(n=64, batch_size=32):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 1, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    return cn.data.DataLoader((x, y), batch_size=batch_size)


class _Steps(cn.callbacks.Callback):
    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, step, logs):
        self.steps += 1


def _fit_stops_when_memory_is_short():
    model = _tiny()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt = cn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loader = _loader(batch_size=32)
    e = estimate_memory(model, (1, 32, 32), 32, optimizer=opt)
    held = e.runtime + cn.memory_stats()["allocated_bytes"]
    # room for about a batch of 8, not 32
    room = e.at(8).total - held
    os.environ["CONVNET_MEMORY_AVAILABLE"] = str(room)
    steps = _Steps()
    with pytest.raises(InsufficientMemoryError) as info:
        cn.fit(model, loader, opt, epochs=1, verbose=False, callbacks=[steps])
    msg = str(info.value)
    assert "fit: a training step at batch size 32 needs about" in msg and "CONVNET_MEMORY_AVAILABLE" in msg
    fits = int(msg.split("a batch size of at most ")[1].split(" ")[0])
    assert 4 <= fits < 32
    assert "check_memory=False" in msg
    assert steps.steps == 0
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)
    assert isinstance(info.value, MemoryError)
    h = cn.fit(model, loader, opt, epochs=1, verbose=False, callbacks=[steps], check_memory=False)
    assert steps.steps == 2 and len(h) == 1


def test_fit_stops_before_the_first_step_when_memory_is_short():
    """In a fresh process: tensors that earlier tests keep alive count as memory in use, and in a
    long test run they alone can exceed what a batch of 8 of the tiny model needs."""
    code = ("import importlib.util\n"
            f"spec = importlib.util.spec_from_file_location('memory_tests', {__file__!r})\n"
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
            "m._fit_stops_when_memory_is_short()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def test_fit_with_the_check_trains_as_without(monkeypatch):
    monkeypatch.setenv("CONVNET_MEMORY_AVAILABLE", "64G")
    weights = []
    for check in (True, False):
        model = _tiny()
        opt = cn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        cn.manual_seed(5)
        cn.fit(model, _loader(), opt, epochs=2, verbose=False, check_memory=check)
        weights.append([p.detach().numpy().copy() for p in model.parameters()]
                       + [b.numpy().copy() for b in model.buffers()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
