"""The float32 math routines of cpu/vecmath.h (exp, expm1, log, log1p, tanh, erf), reached
through the ops that use them, against NumPy in float64 over a dense sample of every float32
(one bit pattern in 997, both signs, denormals and specials included): the max error in ulp of
the correctly rounded result is asserted, and the special values must match NumPy's float32
results exactly."""

import math

import numpy as np
import pytest

import convnet as cn

F = cn.nn.functional

# every 997th float32 bit pattern: ~4.3 million values over the whole range
GRID = np.arange(0, 2**32, 997, dtype=np.uint64).astype(np.uint32).view(np.float32)
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38, 1e-30, -1e-30,
                    3.4e38, -3.4e38, 88.72, 88.73, -87.0, -103.9, -104.0, 1.0, -1.0, 0.5, -0.5], np.float32)

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _gelu64(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


# name, convnet function, float64 reference, domain (finite inputs kept), max ulp
CASES = [
    ("exp", cn.exp, np.exp, (-np.inf, np.inf), 1.5),
    ("log", cn.log, np.log, (0, np.inf), 1.5),
    ("tanh", F.tanh, np.tanh, (-np.inf, np.inf), 2.0),
    # elu with alpha 1 is expm1 below 0
    ("expm1 (elu)", F.elu, np.expm1, (-np.inf, 0), 2.0),
    # 1 / (1 + e^-x): results below the smallest normal float (x < -87.3) flush to 0
    ("sigmoid", F.sigmoid, lambda x: 1.0 / (1.0 + np.exp(-x)), (-87.3, np.inf), 3.0),
    # log1p(exp(x)), linear above 20
    ("softplus", F.softplus, lambda x: np.where(x > 20, x, np.log1p(np.exp(x))), (-np.inf, np.inf), 3.0),
]


def _ulp_error(y, ref):
    r32 = ref.astype(np.float32)
    spacing = np.spacing(np.abs(r32)).astype(np.float64)
    return np.abs(y.astype(np.float64) - ref) / spacing


def _run(fn, x):
    with np.errstate(all="ignore"):
        return fn(cn.from_numpy(np.ascontiguousarray(x))).numpy()


@pytest.mark.parametrize("name,fn,ref,domain,max_ulp", CASES, ids=[c[0] for c in CASES])
def test_max_ulp_error_over_the_float32_range(name, fn, ref, domain, max_ulp):
    with np.errstate(all="ignore"):
        x = GRID[np.isfinite(GRID) & (GRID >= domain[0]) & (GRID <= domain[1])]
        r = ref(x.astype(np.float64))
        keep = np.isfinite(r.astype(np.float32))
    y = _run(fn, x)
    assert np.all(np.isinf(y[~keep]) & (np.sign(y[~keep]) == np.sign(r[~keep]))), name
    err = _ulp_error(y[keep], r[keep])
    worst = int(np.argmax(err))
    assert err[worst] <= max_ulp, f"{name}: {err[worst]:.2f} ulp at x={x[keep][worst]!r}"


def test_erf_through_gelu():
    # gelu = x/2 (1 + erf(x/sqrt 2)): the error of erf shows as an error relative to |x|
    x = GRID[np.isfinite(GRID) & (np.abs(GRID) < 1e4)]
    r = _gelu64(x.astype(np.float64))
    y = _run(F.gelu, x).astype(np.float64)
    err = np.abs(y - r) / (np.spacing(np.abs(r.astype(np.float32))) + np.spacing(np.abs(x)) / 2)
    worst = int(np.argmax(err))
    assert err[worst] <= 4, f"gelu: {err[worst]:.2f} at x={x[worst]!r}"


@pytest.mark.parametrize("name,fn,np_fn", [
    ("exp", cn.exp, np.exp), ("log", cn.log, np.log), ("tanh", F.tanh, np.tanh),
    ("elu", F.elu, lambda x: np.where(x > 0, x, np.expm1(x))),
])
def test_special_values_match_numpy_float32(name, fn, np_fn):
    with np.errstate(all="ignore"):
        want = np_fn(SPECIAL)
    got = _run(fn, SPECIAL)
    exact = ~np.isfinite(want) | (want == 0) | (np.abs(want) == 1)
    np.testing.assert_array_equal(got[exact], want[exact], err_msg=name)
    np.testing.assert_allclose(got, want, rtol=3e-7, atol=0, equal_nan=True, err_msg=name)


def test_float64_keeps_the_c_library():
    x = np.linspace(-50, 50, 10001)
    np.testing.assert_allclose(cn.exp(cn.from_numpy(x)).numpy(), np.exp(x), rtol=1e-15)
    np.testing.assert_allclose(F.tanh(cn.from_numpy(x)).numpy(), np.tanh(x), rtol=1e-15)
