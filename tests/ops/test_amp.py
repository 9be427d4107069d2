"""Mixed precision: the bfloat16 and float16 storage dtypes (conversions rounded to nearest
even, against NumPy's float16 and a bit-level bfloat16 reference), autocast (the products of
conv2d, conv_transpose2d, linear and matmul on float32 CUDA tensors multiplied in 16-bit with
float32 accumulation, forward and backward, against float64 products of the rounded inputs)
and GradScaler (scaling, unscaling, skipping steps with inf/NaN gradients, PyTorch's schedule)."""

import threading

import numpy as np
import pytest

import convnet as cn
import convnet.functional as F
from opcheck import DEVICES, requires_cuda, without_gpu

try:
    import torch
except ImportError:
    torch = None

rng = np.random.default_rng(0)


# ---- references ------------------------------------------------------------------------

def bf16_bits(a):
    """bfloat16 bit patterns of float32 `a`, rounded to nearest even; NaN stays a (quiet) NaN."""
    u = np.asarray(a, np.float32).view(np.uint32).astype(np.uint64)
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def round_bf16(a):
    """float32 `a` rounded to bfloat16, as float64."""
    return (bf16_bits(a).astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def round_fp16(a):
    return np.asarray(a, np.float32).astype(np.float16).astype(np.float64)


ROUND = {"bfloat16": round_bf16, "float16": round_fp16}


def special_values():
    """float32 values that exercise rounding: ties, carries into the exponent, overflow to inf,
    float16 subnormals and underflow, infinities and NaN, plus random values of every scale."""
    base = [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 65504.0, 65519.0, 65520.0, 1e5, 6e-8, 3e-8, 2.9e-8, 6.1e-5,
            5.96e-8, 1e-9, np.inf, -np.inf, np.nan, 3.3895314e38, 3.4028235e38, 1.1754944e-38, 1e-45]
    ties16 = [1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 2048 + 1.0, 2048 + 3.0]  # halfway between float16 values
    tiesbf = [1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 256 + 1.0, 256 + 3.0]  # halfway between bfloat16 values
    bits = rng.integers(0, 2**32, 4000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    scaled = rng.standard_normal(4000).astype(np.float32) * np.float32(10.0) ** rng.integers(-9, 6, 4000)
    a = np.concatenate([np.array(base + ties16 + tiesbf, np.float32), -np.array(ties16 + tiesbf, np.float32),
                        bits, scaled.astype(np.float32)])
    return a.astype(np.float32)


# ---- storage dtypes ----------------------------------------------------------------------

def test_dtype_objects():
    assert cn.half is cn.float16 and cn.bfloat16 != cn.float16
    assert cn.bfloat16.itemsize == 2 and cn.float16.itemsize == 2
    assert cn.bfloat16.is_floating_point and cn.float16.is_floating_point
    assert cn.zeros(2, dtype="bfloat16").dtype == cn.bfloat16
    assert cn.zeros(2, dtype="half").dtype == cn.float16


@pytest.mark.parametrize("device", DEVICES)
def test_float16_conversion_matches_numpy(device):
    a = special_values()
    t = cn.tensor(a, device=device).half()
    assert t.dtype == cn.float16 and t.device == cn.device(device)
    got = t.cpu().numpy()
    assert got.dtype == np.float16
    with np.errstate(over="ignore"):
        want = a.astype(np.float16)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint16), want[~nan].view(np.uint16))


@pytest.mark.parametrize("device", DEVICES)
def test_bfloat16_conversion_rounds_to_nearest_even(device):
    a = special_values()
    t = cn.tensor(a, device=device).bfloat16()
    assert t.dtype == cn.bfloat16
    back = t.float().cpu().numpy()  # widening is exact: the bits << 16
    got = (back.view(np.uint32) >> 16).astype(np.uint16)
    want = bf16_bits(a)
    nan = np.isnan(a)
    np.testing.assert_array_equal(np.isnan(back), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])


@pytest.mark.parametrize("device", DEVICES)
def test_every_16_bit_pattern_widens_exactly(device):
    bits = np.arange(65536, dtype=np.uint32)
    h = bits.astype(np.uint16).view(np.float16)
    got = cn.tensor(h, device=device).float().cpu().numpy()
    want = h.astype(np.float32)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan], want[~nan])
    b = (bits << 16).view(np.float32)
    got = cn.tensor(b, device=device).bfloat16().double().cpu().numpy()
    nan = np.isnan(b)
    np.testing.assert_array_equal(got[~nan], b[~nan].astype(np.float64))
    assert np.isnan(got[nan]).all()


@pytest.mark.parametrize("device", DEVICES)
def test_other_dtypes_convert_through_float32(device):
    a64 = rng.standard_normal(500) * 100
    t = cn.tensor(a64, device=device)
    np.testing.assert_array_equal(t.half().cpu().numpy(), a64.astype(np.float32).astype(np.float16))
    np.testing.assert_array_equal(t.bfloat16().double().cpu().numpy(), round_bf16(a64.astype(np.float32)))
    ints = cn.tensor(np.array([-3, 0, 7, 300, 70000]), device=device)
    np.testing.assert_array_equal(ints.half().cpu().numpy(), [-3, 0, 7, 300, np.inf])
    np.testing.assert_array_equal(ints.bfloat16().long().cpu().numpy(), [-3, 0, 7, 300, 70144])
    np.testing.assert_array_equal(cn.tensor([2.7, -1.5], device=device).half().long().cpu().numpy(), [2, -1])
    np.testing.assert_array_equal(cn.tensor([0.0, 2.0], device=device).bfloat16().bool().cpu().numpy(),
                                  [False, True])
    np.testing.assert_array_equal(cn.tensor(np.array([0, 200], np.uint8), device=device).to(cn.bfloat16).byte()
                                  .cpu().numpy(), [0, 200])


@pytest.mark.parametrize("device", DEVICES)
def test_factories_items_and_copies(device):
    z = cn.zeros(2, 3, dtype=cn.bfloat16, device=device)
    assert z.dtype == cn.bfloat16 and z.shape == (2, 3)
    f = cn.full((3,), 1.1, dtype=cn.float16, device=device)
    assert f[0].item() == float(np.float16(1.1))
    b = cn.ones(2, dtype=cn.bfloat16, device=device).fill_(3.14159)
    assert b[1].item() == 3.140625
    np.testing.assert_array_equal(b.clone().float().cpu().numpy(), [3.140625, 3.140625])
    c = cn.zeros(2, dtype=cn.float16, device=device)
    c.copy_(cn.tensor([0.5, 1e6]))
    np.testing.assert_array_equal(c.cpu().numpy(), np.array([0.5, np.inf], np.float16))
    assert cn.tensor([1.5, 2.25], dtype=cn.bfloat16, device=device).tolist() == [1.5, 2.25]
    assert "dtype=convnet.bfloat16" in repr(b) and "dtype=convnet.float16" in repr(c)


def test_numpy_interop():
    h = np.array([1.5, -2.0, 65504.0], np.float16)
    t = cn.tensor(h)
    assert t.dtype == cn.float16
    np.testing.assert_array_equal(t.numpy(), h)
    v = cn.from_numpy(h)
    assert v.dtype == cn.float16 and np.asarray(v).dtype == np.float16
    with pytest.raises(TypeError, match=r"NumPy has no bfloat16 dtype; convert first, e.g. tensor.float\(\)"):
        t.bfloat16().numpy()
    with pytest.raises(TypeError, match="NumPy has no bfloat16"):
        np.asarray(t.bfloat16())
    assert cn.tensor([1.0, 3.0], dtype=cn.float16).numpy().dtype == np.float16


def test_ops_reject_16_bit_inputs():
    x = cn.ones(1, 2, 5, 5).half()
    with pytest.raises(ValueError, match="conv2d: expected a float32 or float64 tensor, got float16"):
        F.conv2d(x, cn.ones(3, 2, 3, 3).half())
    with pytest.raises(ValueError, match="linear: expected a float32 or float64 tensor, got bfloat16"):
        F.linear(cn.ones(2, 3).bfloat16(), cn.ones(4, 3).bfloat16())
    with pytest.raises(ValueError, match="got bfloat16"):
        cn.ones(3).bfloat16() + cn.ones(3).bfloat16()
    with pytest.raises(ValueError, match="does not match weight dtype"):
        F.linear(cn.ones(2, 3).half(), cn.ones(4, 3))


def test_save_and_load_keep_16_bit_dtypes(tmp_path):
    a = cn.tensor([1.5, -2.25, 3e-3]).bfloat16()
    b = cn.tensor([1.5, -2.25, 3e-3]).half()
    cn.save({"a": a, "b": b}, str(tmp_path / "t.safetensors"))
    d = cn.load(str(tmp_path / "t.safetensors"))
    assert d["a"].dtype == cn.bfloat16 and d["b"].dtype == cn.float16
    np.testing.assert_array_equal(d["a"].float().numpy(), a.float().numpy())
    np.testing.assert_array_equal(d["b"].numpy(), b.numpy())


def test_autograd_through_conversions():
    x = cn.tensor([1.0, 2.5, -3.0], requires_grad=True)
    y = x.half().float()
    y.backward(cn.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


# ---- autocast --------------------------------------------------------------------------------

def test_autocast_state_nesting_and_validation():
    assert not cn.amp.is_autocast_enabled()
    with cn.autocast("cuda"):
        assert cn.amp.is_autocast_enabled() and cn.amp.get_autocast_dtype() == cn.bfloat16
        with cn.autocast("cuda", dtype=cn.float16):
            assert cn.amp.get_autocast_dtype() == cn.float16
            with cn.autocast("cuda", enabled=False):
                assert not cn.amp.is_autocast_enabled()
            assert cn.amp.is_autocast_enabled()
        assert cn.amp.get_autocast_dtype() == cn.bfloat16
    assert not cn.amp.is_autocast_enabled()
    with cn.autocast("cpu"):
        assert not cn.amp.is_autocast_enabled("cpu") and not cn.amp.is_autocast_enabled()
    with pytest.raises(ValueError, match="dtype must be convnet.bfloat16 or convnet.float16"):
        cn.autocast("cuda", dtype=cn.float64)
    with pytest.raises(ValueError, match="device_type must be 'cuda' or 'cpu'"):
        cn.autocast("tpu")
    with pytest.raises(RuntimeError):
        with cn.autocast("cuda"):
            raise RuntimeError("boom")
    assert not cn.amp.is_autocast_enabled()


def test_autocast_decorator_and_threads():
    @cn.autocast("cuda", dtype=cn.float16)
    def inside():
        return cn.amp.is_autocast_enabled(), cn.amp.get_autocast_dtype()

    assert inside() == (True, cn.float16)
    assert inside.__name__ == "inside" and not cn.amp.is_autocast_enabled()
    seen = []
    with cn.autocast("cuda"):
        t = threading.Thread(target=lambda: seen.append(cn.amp.is_autocast_enabled()))
        t.start()
        t.join()
    assert seen == [False]  # per thread


def test_autocast_leaves_cpu_tensors_alone():
    x, w, b = (cn.tensor(rng.standard_normal(s).astype(np.float32)) for s in ((2, 3, 6, 6), (4, 3, 3, 3), (4,)))
    want = F.conv2d(x, w, b).numpy()
    a = cn.tensor(rng.standard_normal((3, 5)).astype(np.float32))
    m = cn.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    want_mm = cn.matmul(a, m).numpy()
    with cn.autocast("cuda"), cn.autocast("cpu"):
        np.testing.assert_array_equal(F.conv2d(x, w, b).numpy(), want)
        np.testing.assert_array_equal(cn.matmul(a, m).numpy(), want_mm)


# (name, fn, input shapes, output-gradient from the product), for autocast against rounded float64
AUTOCAST_CASES = [
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), [(3, 3, 9, 9), (4, 3, 3, 3), (4,)]),
    ("conv2d-groups", lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=2), [(2, 4, 6, 6), (6, 2, 3, 3), (6,)]),
    ("conv2d-1x1", lambda x, w, b: F.conv2d(x, w, b), [(2, 8, 5, 5), (4, 8, 1, 1), (4,)]),
    ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     [(2, 3, 4, 4), (3, 5, 3, 3), (5,)]),
    ("linear", lambda x, w, b: F.linear(x, w, b), [(2, 3, 40), (6, 40), (6,)]),
    ("matmul", lambda a, b, _: cn.matmul(a, b), [(3, 5, 40), (3, 40, 7), (1,)]),
]


@requires_cuda
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("case", AUTOCAST_CASES, ids=[c[0] for c in AUTOCAST_CASES])
def test_autocast_products_round_the_inputs_and_accumulate_in_float32(case, dtype):
    name, fn, shapes = case
    rnd = ROUND[dtype]
    inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    ts = [cn.tensor(a, device="cuda").requires_grad_(True) for a in inputs]
    with cn.autocast("cuda", dtype=getattr(cn, dtype)):
        y = fn(*ts)
    assert y.dtype == cn.float32 and y.device == cn.device("cuda:0")
    dy = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(cn.tensor(dy, device="cuda"))  # outside the region: backward multiplies as forward did

    # reference: float64 products of the rounded inputs (the bias and its gradient are not rounded)
    refs = [cn.tensor(rnd(a) if i < 2 else a.astype(np.float64)).requires_grad_(True)
            for i, a in enumerate(inputs)]
    y_ref = fn(*refs)
    y_ref.backward(cn.tensor(rnd(dy)))
    scale = lambda v: max(np.abs(v).max(), 1e-3)  # noqa: E731
    want = y_ref.detach().numpy()
    got = y.detach().cpu().numpy()
    assert np.abs(got - want).max() <= 1e-5 * scale(want) * 10, f"{name} {dtype}: forward"
    for i in range(2):
        g, g_ref = ts[i].grad.cpu().numpy(), refs[i].grad.numpy()
        assert ts[i].grad.dtype == cn.float32
        assert np.abs(g - g_ref).max() <= 1e-4 * scale(g_ref), f"{name} {dtype}: gradient of input {i}"
    if name != "matmul":  # the bias gradient sums the float32 output gradient
        b_ref = cn.tensor(inputs[2].astype(np.float64)).requires_grad_(True)
        fn(*[cn.tensor(rnd(a)) for a in inputs[:2]], b_ref).backward(cn.tensor(dy.astype(np.float64)))
        np.testing.assert_allclose(ts[2].grad.cpu().numpy(), b_ref.grad.numpy(), rtol=1e-5, atol=1e-5)
    # and it is really 16-bit: float32 products differ from these by the rounding of the inputs
    with cn.autocast("cuda", enabled=False):
        y32 = fn(*[t.detach() for t in ts]).cpu().numpy()
    assert np.abs(y32 - got).max() > 1e-6 * scale(y32)


@requires_cuda
def test_autocast_modules_keep_float32_weights_and_gradients():
    cn.manual_seed(0)
    model = cn.nn.Sequential(cn.nn.Conv2d(3, 4, 3, padding=1), cn.nn.Flatten(), cn.nn.Linear(4 * 5 * 5, 3))
    model.to("cuda")
    x = cn.tensor(rng.standard_normal((2, 3, 5, 5)).astype(np.float32), device="cuda")
    with cn.autocast("cuda"):
        y = model(x)
    assert y.dtype == cn.float32
    y.backward(cn.ones(2, 3, device="cuda"))
    for p in model.parameters():
        assert p.dtype == cn.float32 and p.grad.dtype == cn.float32 and p.grad.device == cn.device("cuda:0")


# ---- GradScaler ------------------------------------------------------------------------

def make_model():
    cn.manual_seed(0)
    model = cn.nn.Linear(3, 2)
    return model, cn.optim.SGD(model.parameters(), lr=0.1)


def set_grads(model, value, device="cpu"):
    for p in model.parameters():
        p.grad = cn.full(p.shape, value, device=device)


def test_grad_scaler_scales_unscales_and_steps():
    model, opt = make_model()
    scaler = cn.amp.GradScaler("cpu")
    assert scaler.get_scale() == 65536.0 and scaler.is_enabled()
    loss = cn.tensor(1.5)
    assert scaler.scale(loss).item() == 1.5 * 65536
    assert [t.item() for t in scaler.scale([loss, (loss,)])[:1]] == [98304.0]
    w = model.weight.detach().numpy().copy()
    set_grads(model, 65536.0 * 2)
    scaler.unscale_(opt)
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.full((2, 3), 2.0, np.float32))
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        scaler.unscale_(opt)
    scaler.step(opt)
    np.testing.assert_allclose(model.weight.detach().numpy(), w - 0.1 * 2.0, rtol=1e-6)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        scaler.unscale_(opt)
    scaler.update()
    assert scaler.get_scale() == 65536.0
    assert scaler.state_dict()["_growth_tracker"] == 1


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_grad_scaler_skips_the_step_on_inf_or_nan(bad):
    model, opt = make_model()
    scaler = cn.amp.GradScaler("cpu")
    w = model.weight.detach().numpy().copy()
    set_grads(model, 1.0)
    g = model.bias.grad.numpy()
    g[1] = bad
    model.bias.grad = cn.tensor(g)
    assert scaler.step(opt) is None
    np.testing.assert_array_equal(model.weight.detach().numpy(), w)
    scaler.update()
    assert scaler.get_scale() == 32768.0 and scaler.state_dict()["_growth_tracker"] == 0


def schedule(found_infs, **kw):
    """get_scale() and the growth tracker after each update, for steps with (True) or without
    (False) an inf gradient."""
    model, opt = make_model()
    scaler = cn.amp.GradScaler("cpu", **kw)
    out = []
    for bad in found_infs:
        scaler.scale(cn.tensor(1.0))
        set_grads(model, np.inf if bad else 1.0)
        scaler.step(opt)
        scaler.update()
        out.append((scaler.get_scale(), scaler.state_dict()["_growth_tracker"]))
    return out


def test_grad_scaler_schedule():
    # written out: backoff halves and resets the tracker; growth_interval clean steps in a row double
    steps = [True, False, False, False, True, False, False, False, False]
    assert schedule(steps, growth_interval=3) == [
        (32768.0, 0), (32768.0, 1), (32768.0, 2), (65536.0, 0), (32768.0, 0), (32768.0, 1), (32768.0, 2),
        (65536.0, 0), (65536.0, 1)]
    # the scale stops growing where float32 overflows
    big = schedule([False] * 3, init_scale=2.0**127, growth_interval=1)
    assert big == [(2.0**127, 0)] * 3
    # the scale is a float32, multiplied by the (double) factors as PyTorch does
    odd = schedule([False, True, False], init_scale=3.0, growth_factor=1.7, backoff_factor=0.3, growth_interval=1)
    f32 = lambda v: float(np.float32(v))  # noqa: E731
    assert odd == [(f32(3.0 * 1.7), 0), (f32(f32(3.0 * 1.7) * 0.3), 0), (f32(f32(f32(3.0 * 1.7) * 0.3) * 1.7), 0)]


@pytest.mark.skipif(torch is None, reason="torch is not installed")
def test_grad_scaler_schedule_matches_torch():
    steps = list(rng.random(60) < 0.2)
    kw = dict(init_scale=1024.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=4)
    ours = schedule(steps, **kw)
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([p], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", **kw)
    theirs = []
    for bad in steps:
        scaler.scale(torch.tensor(1.0))
        p.grad = torch.full((3,), float("inf") if bad else 1.0)
        scaler.step(opt)
        scaler.update()
        theirs.append((scaler.get_scale(), scaler.state_dict()["_growth_tracker"]))
    assert ours == theirs
    assert set(cn.amp.GradScaler("cpu").state_dict()) == set(torch.amp.GradScaler("cpu").state_dict())


def test_grad_scaler_state_dict_and_disabled():
    model, opt = make_model()
    a = cn.amp.GradScaler("cpu", init_scale=128.0, growth_interval=7)
    b = cn.amp.GradScaler("cpu")
    b.load_state_dict(a.state_dict())
    assert b.state_dict() == {"scale": 128.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 7,
                              "_growth_tracker": 0}
    off = cn.amp.GradScaler("cpu", enabled=False)
    loss = cn.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        b.load_state_dict(off.state_dict())
    set_grads(model, np.inf)
    w = model.weight.detach().numpy().copy()
    off.step(opt)  # passes through: steps whatever the gradients
    assert not np.array_equal(model.weight.detach().numpy(), w)
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        cn.amp.GradScaler("cpu").update()
    b.update(new_scale=4.0)
    assert b.get_scale() == 4.0
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        b.step(opt, closure=lambda: None)


@without_gpu
def test_grad_scaler_for_cuda_disables_itself_without_a_gpu():
    with pytest.warns(UserWarning, match="CUDA is not available"):
        s = cn.amp.GradScaler()
    assert not s.is_enabled() and s.get_scale() == 1.0


@requires_cuda
def test_unscaling_on_the_gpu():
    g = cn.tensor(np.array([2.0, -4.0, 8.0], np.float32), device="cuda")
    h = cn.tensor(np.array([1.0, 3.0]), device="cuda")
    found = cn.zeros(1, device="cuda")
    cn._core.amp.unscale_([g, h], 0.5, found)
    np.testing.assert_array_equal(g.cpu().numpy(), [1.0, -2.0, 4.0])
    np.testing.assert_array_equal(h.cpu().numpy(), [0.5, 1.5])
    assert found.item() == 0.0
    g2 = cn.tensor(np.array([1.0, np.nan], np.float32), device="cuda")
    cn._core.amp.unscale_([g2], 0.5, found)
    assert found.item() == 1.0
    with pytest.raises(ValueError, match="amp_unscale_: expected all tensors on one device"):
        cn._core.amp.unscale_([cn.ones(2)], 1.0, found)

    model, opt = make_model()
    model.to("cuda")
    scaler = cn.amp.GradScaler()
    set_grads(model, 1.0, "cuda")
    model.bias.grad = cn.tensor([1.0, np.inf], device="cuda")
    w = model.weight.detach().cpu().numpy()
    assert scaler.step(opt) is None
    scaler.update()
    assert scaler.get_scale() == 32768.0
    np.testing.assert_array_equal(model.weight.detach().cpu().numpy(), w)
    np.testing.assert_array_equal(model.weight.grad.cpu().numpy(), np.full((2, 3), 1 / 65536, np.float32))
