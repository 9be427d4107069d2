"""conv2d on the CPU through each of its algorithms (im2col + GEMM over batches of images,
Winograd F(4x4,3x3), for dw too from 128 output tiles, one dense matrix over whole planes
smaller than the kernel): forward, dx, dw and db against PyTorch in float32 and float64, the
algorithm each shape selects, and bit-identical results for a given thread count."""

import numpy as np
import pytest

import convnet as cn

torch = pytest.importorskip("torch")

# (name, N, C, K, H, W, kernel, stride, padding, groups, algorithm)
LAYERS = [
    ("resnet18 conv1 cifar", 2, 3, 64, 32, 32, 3, 1, 1, 1, "gemm"),
    ("resnet18 64@32", 2, 64, 64, 32, 32, 3, 1, 1, 1, "winograd"),
    ("resnet18 128@16", 2, 128, 128, 16, 16, 3, 1, 1, 1, "winograd"),
    ("resnet18 256@8", 4, 256, 256, 8, 8, 3, 1, 1, 1, "winograd"),
    ("resnet18 512@4", 32, 512, 512, 4, 4, 3, 1, 1, 1, "winograd"),
    ("resnet18 512@4 batch 1", 1, 512, 512, 4, 4, 3, 1, 1, 1, "gemm"),
    ("resnet18 256@8 batch 2", 2, 256, 256, 8, 8, 3, 1, 1, 1, "gemm"),
    ("resnet18 64->128 s2", 2, 64, 128, 32, 32, 3, 2, 1, 1, "gemm"),
    ("resnet18 shortcut 1x1 s2", 2, 128, 256, 16, 16, 1, 2, 0, 1, "gemm"),
    ("resnet50 stem 7x7 s2", 1, 3, 64, 32, 32, 7, 2, 3, 1, "gemm"),
    ("resnet50 1x1 256->64", 2, 256, 64, 14, 14, 1, 1, 0, 1, "gemm"),
    ("resnet50 3x3 64@14", 2, 64, 64, 14, 14, 3, 1, 1, 1, "winograd"),
    ("resnet50 3x3 128@14", 1, 128, 128, 14, 14, 3, 1, 1, 1, "winograd"),
    ("resnet50 3x3 512@7", 8, 512, 512, 7, 7, 3, 1, 1, 1, "winograd"),
    ("resnet50 1x1 512->2048", 1, 512, 2048, 7, 7, 1, 1, 0, 1, "gemm"),
    ("vgg 3->64@32", 2, 3, 64, 32, 32, 3, 1, 1, 1, "gemm"),
    ("vgg 64->128@16", 2, 64, 128, 16, 16, 3, 1, 1, 1, "winograd"),
    ("vgg 128->256@8", 4, 128, 256, 8, 8, 3, 1, 1, 1, "winograd"),
    ("vgg 256->512@4", 16, 256, 512, 4, 4, 3, 1, 1, 1, "winograd"),
    ("vgg 512->512@2", 2, 512, 512, 2, 2, 3, 1, 1, 1, "dense"),
    ("vgg16 64@56 imagenet reduced", 1, 64, 64, 28, 28, 3, 1, 1, 1, "winograd"),
    ("resnext grouped 3x3", 4, 64, 64, 8, 8, 3, 1, 1, 2, "winograd"),
    ("grouped small groups", 2, 32, 32, 8, 8, 3, 1, 1, 4, "gemm"),
    # planes with fewer pixels than the kernel has taps: one dense matrix over whole planes
    ("dense 1x1 plane", 3, 8, 6, 1, 1, 3, 1, 1, 1, "dense"),
    ("dense 1x3 plane", 2, 16, 24, 1, 3, 3, 1, 1, 1, "dense"),
    ("dense 3x3 plane 5x5 stride 2", 2, 6, 10, 3, 3, 5, 2, 2, 1, "dense"),
    ("dense 2x2 padding 2 (4x4 out)", 2, 32, 32, 2, 2, 3, 1, 2, 1, "dense"),
    ("grouped 2x2 stays gemm", 2, 32, 32, 2, 2, 3, 1, 1, 2, "gemm"),
    # at least 128 output tiles of 4x4: dw goes through Winograd too
    ("resnet18 128@16 batch 8", 8, 128, 128, 16, 16, 3, 1, 1, 1, "winograd"),
    ("grouped 64@16 batch 8", 8, 64, 64, 16, 16, 3, 1, 1, 2, "winograd"),
    ("odd 24->40@23 padding 2", 4, 24, 40, 23, 23, 3, 1, 2, 1, "winograd"),
    ("odd 40->24@19 padding 0", 6, 40, 24, 19, 19, 3, 1, 0, 1, "winograd"),
]


def _random_cases(count=10, seed=12):
    """Winograd shapes with odd sizes, padding 0/1/2, groups and N=1, drawn with a fixed seed; the batch
    grows to the 16 output tiles of 4x4 below which the filter transform does not pay."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        g = int(rng.choice([1, 1, 2]))
        C, K = g * int(rng.integers(16, 40)), g * int(rng.integers(16, 40))
        pad = int(rng.integers(0, 3))
        H, W = int(rng.integers(6, 20)), int(rng.integers(6, 20))
        tiles = -(-(H + 2 * pad - 2) // 4) * -(-(W + 2 * pad - 2) // 4)
        N = max(int(rng.choice([1, 2, 3])), -(-16 // tiles))
        cases.append((f"random {i}", N, C, K, H, W, 3, 1, pad, g, "winograd"))
    return cases


CASES = LAYERS + _random_cases()
IDS = [c[0] for c in CASES]


def _inputs(case, dtype, seed=0):
    _, N, C, K, H, W, k, stride, pad, g, _ = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((K, C // g, k, k)) / np.sqrt(C // g * k * k)
    b = rng.standard_normal(K)
    P = (H + 2 * pad - k) // stride + 1
    Q = (W + 2 * pad - k) // stride + 1
    dy = rng.standard_normal((N, K, P, Q))
    return [a.astype(dtype) for a in (x, w, b, dy)]


def _convnet(case, x, w, b, dy):
    _, _, _, _, _, _, _, stride, pad, g, _ = case
    xt, wt, bt = (cn.tensor(a).requires_grad_() for a in (x, w, b))
    y = cn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad, groups=g)
    y.backward(cn.tensor(dy))
    return [a.detach().numpy() for a in (y, xt.grad, wt.grad, bt.grad)]


def _torch(case, x, w, b, dy):
    _, _, _, _, _, _, _, stride, pad, g, _ = case
    xt, wt, bt = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
    y = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=pad, groups=g)
    y.backward(torch.from_numpy(dy))
    return [a.detach().numpy() for a in (y, xt.grad, wt.grad, bt.grad)]


def _rel(a, ref):
    return float(np.abs(a.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-300))


@pytest.fixture(autouse=True)
def _two_threads():
    before = cn.get_num_threads()
    cn.set_num_threads(2)
    yield
    cn.set_num_threads(before)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_selects_algorithm(case):
    _, N, C, K, H, W, k, stride, pad, g, algo = case
    x = cn.zeros(N, C, H, W)
    w = cn.zeros(K, C // g, k, k)
    assert cn.backends.cpu.conv2d_algorithm(x, w, stride=stride, padding=pad, groups=g) == algo
    # float64 never goes through Winograd
    assert cn.backends.cpu.conv2d_algorithm(x.double(), w.double(), stride=stride, padding=pad,
                                            groups=g) == ("gemm" if algo == "winograd" else algo)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_against_float64_and_torch(case):
    args32 = _inputs(case, np.float32)
    ref64 = _torch(case, *[a.astype(np.float64) for a in args32])
    ours = _convnet(case, *args32)
    theirs = _torch(case, *args32)
    for name, o, t, r in zip(("y", "dx", "dw", "db"), ours, theirs, ref64):
        assert o.dtype == np.float32
        assert _rel(o, r) <= 1e-4, f"{name}: {_rel(o, r):.3g} from float64"
        assert _rel(o, t.astype(np.float64)) <= 1e-4, f"{name}: {_rel(o, t):.3g} from torch float32"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float64_against_torch(case):
    args = _inputs(case, np.float64)
    for name, o, t in zip(("y", "dx", "dw", "db"), _convnet(case, *args), _torch(case, *args)):
        assert _rel(o, t) <= 1e-10, f"{name}: {_rel(o, t):.3g}"


@pytest.mark.parametrize("case", [c for c in CASES if c[0].startswith(("resnet18", "random 0", "vgg 512"))],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_for_a_thread_count(case, dtype):
    args = _inputs(case, dtype, seed=3)
    first, second = _convnet(case, *args), _convnet(case, *args)
    for name, a, b in zip(("y", "dx", "dw", "db"), first, second):
        assert np.array_equal(a, b), name


def test_winograd_without_bias_and_unbatched():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 17, 19)).astype(np.float32)
    w = (rng.standard_normal((24, 32, 3, 3)) / 17).astype(np.float32)
    assert cn.backends.cpu.conv2d_algorithm(cn.tensor(x), cn.tensor(w), padding="same") == "winograd"
    y = cn.functional.conv2d(cn.tensor(x), cn.tensor(w), padding="same").numpy()
    ref = torch.nn.functional.conv2d(torch.from_numpy(x).double(), torch.from_numpy(w).double(),
                                     padding="same").numpy()
    assert _rel(y, ref) <= 1e-4
