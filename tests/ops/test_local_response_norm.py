"""The local_response_norm op stem (cpp/src/ops/local_response_norm.cpp): local response normalization. The cases run through tests/opcheck.py
(NumPy reference, float64 finite differences, PyTorch parity, the GPU against the CPU) and the
error cases check their messages."""

import numpy as np
import pytest

from convnet import nn
import convnet as cn
import convnet.functional as F
from reference import norm_pool as NP
from opcheck import check_case, check_double_backward_raises, module_matches_torch, msg, on_devices, randn, tF


LRN_CASES = [
    ((2, 5, 3, 4), 2, 1e-4, 0.75, 1.0),
    ((2, 6, 3, 3), 3, 0.5, 0.75, 2.0),
    ((1, 4, 5), 5, 1.0, 1.5, 1.0),
    ((2, 3, 2, 2, 2), 1, 0.3, 0.5, 0.5),
    ((1, 7, 2, 3), 8, 2.0, 0.75, 1.0),
]
LRN_CASES = on_devices(LRN_CASES, cuda=[  # on the GPU only
    ((2, 5, 3, 3), 3, 1e-2, 0.75, 1.0),
    ((2, 4, 6), 2, 0.5, 0.5, 2.0),
    ((1, 6, 2, 2), 5, 1e-1, 0.75, 2.0),  # AlexNet's size
    ((2, 3, 4), 7, 0.3, 1.2, 1.0),  # window wider than the channels
    ((1, 4, 3, 2), 1, 0.2, 0.75, 1.0),
])


@pytest.mark.parametrize("device,shape,size,alpha,beta,k", LRN_CASES)
def test_local_response_norm(device, shape, size, alpha, beta, k):
    x = randn(*shape)
    check_case(device, f"local_response_norm(size={size}, alpha={alpha}, beta={beta}, k={k})",
               lambda x: F.local_response_norm(x, size, alpha, beta, k), [x],
               ref=lambda x: NP.local_response_norm(x, size, alpha, beta, k),
               ref_grad=lambda x, dy: NP.local_response_norm_backward(x, dy, size, alpha, beta, k),
               torch_fn=lambda x: tF.local_response_norm(x, size, alpha, beta, k))
    if device == "cpu":  # no double backward: a second backward through the gradient raises
        check_double_backward_raises("local_response_norm", lambda x: F.local_response_norm(x, size, alpha, beta, k),
                                     [x])


@pytest.mark.parametrize("spec,shape", [("LocalResponseNorm(2)", (2, 5, 4, 4)),
                                        ("LocalResponseNorm(3, alpha=0.2, beta=0.5, k=2.0)", (2, 4, 3, 3)),
                                        ("LocalResponseNorm(5, 0.001, 0.75, 2.0)", (1, 8, 3))])
def test_local_response_norm_module(spec, shape):
    module_matches_torch(spec, shape)


def test_local_response_norm_errors():
    with pytest.raises(ValueError, match=msg("LocalResponseNorm(2, ", "3 or more dimensions", "(4, 5)")):
        nn.LocalResponseNorm(2)(cn.randn(4, 5))
    with pytest.raises(ValueError, match=msg("local_response_norm: ", "size must be positive")):
        F.local_response_norm(cn.randn(2, 3, 4), 0)
    with pytest.raises(ValueError, match=msg("LocalResponseNorm(size=-1)", "size must be positive")):
        nn.LocalResponseNorm(-1)
    with pytest.raises(ValueError, match=msg("local_response_norm", "float32 or float64", "int64")):
        F.local_response_norm(cn.tensor(np.zeros((1, 2, 3), np.int64)), 2)

