"""The einsum op stem (cpp/src/ops/einsum.cpp): contractions through permutations and one batched matmul per
pair of operands. The cases run through tests/opcheck.py (NumPy's einsum, float64 finite differences, PyTorch
parity, the GPU against the CPU) and the error cases check their messages."""

import numpy as np
import pytest

import convnet as cn
from opcheck import check_case, msg, on_devices, randn, torch

# equation, operand shapes
EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->", [(3, 4)]),
    ("ij", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("i,i->", [(5,), (5,)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("bchw,kc->bkhw", [(2, 3, 4, 5), (6, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("abc,cd,de->ae", [(2, 3, 4), (4, 5), (5, 2)]),
    ("ij,jk", [(3, 4), (4, 2)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 5)]),
    ("ab,cd->cadb", [(2, 3), (4, 1)]),
    ("abcdefghi->ihgfedcba", [(2, 1, 2, 1, 2, 1, 2, 1, 2)]),
    ("i,j,k->kji", [(2,), (3,), (2,)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
    ("Ab,ba->A", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("device,eq,shapes", on_devices(both=EINSUM_CASES), ids=str)
def test_einsum(device, eq, shapes):
    xs = [randn(*s) for s in shapes]
    check_case(device, f"einsum {eq} {shapes}", lambda *ts: cn.einsum(eq, *ts), xs, tuple(range(len(xs))),
               ref=lambda *a: np.einsum(eq, *a), torch_fn=lambda *ts: torch.einsum(eq, *ts), double_backward=True)


def test_einsum_takes_a_list_and_bmm():
    a, b = randn(2, 3, 4), randn(2, 4, 5)
    got = cn.einsum("bij,bjk->bik", [cn.tensor(a), cn.tensor(b)])
    np.testing.assert_allclose(got.numpy(), a @ b, rtol=1e-5)
    np.testing.assert_allclose(cn.bmm(cn.tensor(a), cn.tensor(b)).numpy(), a @ b, rtol=1e-5)
    np.testing.assert_allclose(cn.tensor(a).bmm(cn.tensor(b)).numpy(), a @ b, rtol=1e-5)


@pytest.mark.parametrize("call, match", [
    (lambda: cn.einsum("ij,jk->ik", cn.ones(2, 3)), "einsum: the equation 'ij,jk->ik' names 2 operand(s), got 1"),
    (lambda: cn.einsum("ij->i", cn.ones(2)), "einsum: operand 0 has shape (2,) but 'ij' names 2 dimension(s)"),
    (lambda: cn.einsum("ii->i", cn.ones(2, 2)), "einsum: label 'i' repeated in operand 0"),
    (lambda: cn.einsum("ij,jk->ik", cn.ones(2, 3), cn.ones(4, 2)), "einsum: label 'j' has size 4 in operand 1"),
    (lambda: cn.einsum("ij->k", cn.ones(2, 3)), "einsum: output label 'k' does not appear"),
    (lambda: cn.einsum("...ij->ij", cn.ones(2, 3)), "einsum: ellipsis ('...') is not supported"),
    (lambda: cn.einsum("ij->ij", cn.ones(2, 3, dtype=cn.int64)), "einsum: expected floating point operands, got int64"),
    (lambda: cn.bmm(cn.ones(2, 3), cn.ones(3, 2)), "bmm: expected two 3-D tensors, got shapes (2, 3) and (3, 2)"),
    (lambda: cn.bmm(cn.ones(2, 3, 4), cn.ones(3, 4, 2)), "bmm: batch sizes differ: shapes (2, 3, 4) and (3, 4, 2)"),
])
def test_einsum_errors(call, match):
    with pytest.raises(ValueError, match=msg(match)):
        call()
