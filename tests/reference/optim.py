"""Plain NumPy references of the layer-wise adaptive optimizers, written from the papers:
LARS (You, Gitman and Ginsburg 2017, "Large Batch Training of Convolutional Networks",
algorithm 1) and LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning",
algorithm 2, phi the identity).

Each works on parameter groups of NumPy arrays updated in place, in the arrays' own dtype
(norms taken in float64 and rounded to it); `step(grads)` takes one gradient (or None, a
parameter without a gradient that step leaves alone) per parameter, in group order.
"""

import numpy as np


def _norm(x):
    return float(x.dtype.type(np.sqrt(np.sum(np.square(x.astype(np.float64))))))


class _Reference:
    def __init__(self, groups, defaults):
        self.param_groups = [{**defaults, **g, "params": list(g["params"])} for g in groups]
        self.state = {}

    def _pairs(self, grads):
        it = iter(grads)
        for g in self.param_groups:
            for p in g["params"]:
                yield g, p, next(it)


class Lars(_Reference):
    """local_lr = eta |w| / (|g| + beta |w| + eps) (1 where a norm is 0 or the group has
    layer_adaptation False); v = m v + lr local_lr (g + beta w); w -= v."""

    def __init__(self, groups, lr=1e-3, momentum=0.9, weight_decay=0.0, trust_coefficient=1e-3, eps=1e-8,
                 layer_adaptation=True):
        super().__init__(groups, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      trust_coefficient=trust_coefficient, eps=eps,
                                      layer_adaptation=layer_adaptation))

    def step(self, grads):
        for group, p, g in list(self._pairs(grads)):
            if g is None:
                continue
            t = p.dtype.type
            wd = group["weight_decay"]
            local = 1.0
            wn, gn = _norm(p), _norm(g)
            if group["layer_adaptation"] and wn > 0 and gn > 0:
                local = group["trust_coefficient"] * wn / (gn + wd * wn + group["eps"])
            d = g + t(wd) * p if wd else g.copy()
            scaled = t(group["lr"] * local)
            if group["momentum"]:
                v = self.state.setdefault(id(p), np.zeros_like(p))
                v[...] = t(group["momentum"]) * v + scaled * d
                p -= v
            else:
                p -= scaled * d


class Lamb(_Reference):
    """m, v as Adam's; r = m_hat / (sqrt(v_hat) + eps) + lambda w;
    w -= lr |w| / |r| r (lr r where a norm is 0 or the group has layer_adaptation False)."""

    def __init__(self, groups, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0, layer_adaptation=True):
        super().__init__(groups, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      layer_adaptation=layer_adaptation))

    def step(self, grads):
        for group, p, g in list(self._pairs(grads)):
            if g is None:
                continue
            tp = p.dtype.type
            b1, b2 = group["betas"]
            st = self.state.setdefault(id(p), {"step": 0, "m": np.zeros_like(p), "v": np.zeros_like(p)})
            st["step"] += 1
            k = st["step"]
            st["m"][...] = tp(b1) * st["m"] + tp(1 - b1) * g
            st["v"][...] = tp(b2) * st["v"] + tp(1 - b2) * g * g
            m_hat = st["m"] / tp(1 - b1 ** k)
            v_hat = st["v"] / tp(1 - b2 ** k)
            r = m_hat / (np.sqrt(v_hat) + tp(group["eps"])) + tp(group["weight_decay"]) * p
            ratio = 1.0
            wn, rn = _norm(p), _norm(r)
            if group["layer_adaptation"] and wn > 0 and rn > 0:
                ratio = wn / rn
            p -= tp(group["lr"] * ratio) * r
