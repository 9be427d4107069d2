"""Memory of training, from the CPU allocator's statistics: what a node saved for backward is
freed as soon as that node's backward has run, a steady-state step takes nothing new from the
OS, and large blocks freed early in backward are reused (merged) for larger ones later."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import convnet as cn

MiB = 2**20


def allocated():
    return cn.memory_stats()["allocated_bytes"]


def reserved():
    s = cn.memory_stats()
    return s["allocated_bytes"] + s["cached_bytes"]


def test_saved_tensor_freed_after_its_backward():
    x = cn.randn(1 << 20, requires_grad=True)  # 4 MiB
    h = x.exp()  # exp saves its output
    loss = (h * 2.0).sum()
    del h  # now only exp's node holds the 4 MiB
    before = allocated()
    loss.backward()
    # x.grad (4 MiB) is new; exp's saved output (4 MiB) is gone though `loss` keeps the graph
    assert allocated() - before < MiB, (before, allocated())
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp(x.detach().numpy()), rtol=1e-5)


def test_every_saved_tensor_of_a_chain_freed_by_backward():
    x = cn.randn(1 << 20, requires_grad=True)  # 4 MiB
    base = allocated()
    h = x
    for _ in range(8):  # each ReLU saves its 4 MiB output
        h = cn.functional.relu(h + 0.0)
    loss = h.sum()
    del h
    assert allocated() - base >= 8 * 4 * MiB
    loss.backward()
    assert allocated() - base < 4 * MiB + MiB  # x.grad only


def test_retain_graph_keeps_saved_tensors():
    x = cn.randn(1 << 20, requires_grad=True)
    loss = x.exp().sum()
    loss.backward(retain_graph=True)
    g1 = x.grad.numpy().copy()
    x.grad = None
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), g1)


def _train_step(model, opt, x, y):
    opt.zero_grad()
    cn.functional.cross_entropy(model(x), y).backward()
    opt.step()


def test_steady_state_step_takes_no_new_memory():
    cn.manual_seed(0)
    model = cn.nn.Sequential(cn.nn.Conv2d(3, 32, 3, padding=1), cn.nn.BatchNorm2d(32), cn.nn.ReLU(),
                             cn.nn.MaxPool2d(2), cn.nn.Conv2d(32, 64, 3, padding=1), cn.nn.ReLU(),
                             cn.nn.AdaptiveAvgPool2d((1, 1)), cn.nn.Flatten(), cn.nn.Linear(64, 10))
    opt = cn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = cn.randn(32, 3, 32, 32), cn.from_numpy(np.arange(32, dtype=np.int64) % 10)
    for _ in range(2):
        _train_step(model, opt, x, y)
    after_two = reserved()
    for _ in range(3):
        _train_step(model, opt, x, y)
    assert reserved() == after_two


def test_large_blocks_freed_early_serve_a_larger_one():
    # two 32 MiB blocks carved from one segment, freed, then one 64 MiB request: the freed
    # neighbours merge and hold it, so nothing new is reserved
    cn.empty_cache()
    a, b = cn.empty(8 << 20), cn.empty(8 << 20)
    with_two = reserved()
    del a, b
    c = cn.empty(16 << 20)
    assert reserved() == with_two
    assert c.numel() == 16 << 20


def test_empty_cache_returns_free_segments():
    cn.empty_cache()
    base = reserved()
    t = cn.empty(8 << 20)  # 32 MiB
    assert reserved() >= base + 32 * MiB
    del t
    cn.empty_cache()
    assert reserved() == base


@pytest.mark.parametrize("sizes", [[3 << 20, 1 << 20, 5 << 20, 2 << 20], [9 << 20, 300, 7 << 20, 1 << 18]])
def test_large_blocks_keep_their_contents(sizes):
    # blocks carved from shared segments must not overlap
    ts = [cn.full((n,), float(i)) for i, n in enumerate(sizes)]
    for i, t in enumerate(ts):
        v = t.numpy()
        assert v.min() == v.max() == float(i)


def test_cached_blocks_are_released_when_memory_runs_out():
    """Blocks cached by earlier work do not make later work fail: under an address-space limit that
    cannot hold both, a convolution whose column buffer fits none of the cached blocks gets its
    memory, because a failed allocation empties the cache and retries (its scratch comes from the
    allocator too). The failure this guards against: a VGG-16 batch-128 forward left 6.9 GB cached,
    and the next batch-16 forward raised MemoryError until empty_cache() was called."""
    code = textwrap.dedent("""
        import resource
        import convnet as cn
        cn.set_num_threads(1)
        vm = lambda: [int(l.split()[1]) << 10 for l in open("/proc/self/status") if l.startswith("VmSize")][0]
        x, w = cn.randn(1, 64, 256, 256), cn.randn(8, 64, 5, 5)
        with cn.no_grad():
            cn.functional.conv2d(cn.randn(1, 64, 8, 8), w)  # threads and BLAS buffers in place
            blocks = [cn.empty(40 << 20) for _ in range(4)]  # 4 x 160 MiB
            del blocks  # cached: no block holds the 400 MiB of columns below
            cached = cn.memory_stats()["cached_bytes"]
            resource.setrlimit(resource.RLIMIT_AS, (vm() + (300 << 20),) * 2)
            y = cn.functional.conv2d(x, w, padding=2)  # columns (64*5*5, 256*256): 400 MiB
        print(cached >> 20, tuple(y.shape), cn.memory_stats()["cached_bytes"] >> 20)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert int(r.stdout.split()[0]) >= 600, r.stdout  # MiB cached when the limit was set
    assert "(1, 8, 256, 256)" in r.stdout, r.stdout
