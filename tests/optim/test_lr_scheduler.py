"""Learning-rate schedules against torch.optim.lr_scheduler over 20+ epochs (40 steps), and
SWALR against torch.optim.swa_utils.SWALR."""

import numpy as np
import pytest

import convnet as cn


def _pair(groups_lr):
    torch = pytest.importorskip("torch")
    cparams = [cn.zeros(2, requires_grad=True) for _ in groups_lr]
    tparams = [torch.zeros(2, requires_grad=True) for _ in groups_lr]
    copt = cn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(cparams, groups_lr)], lr=0.1)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tparams, groups_lr)], lr=0.1)
    return torch, copt, topt


SCHEDULES = {
    "step3": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "step30": lambda m, o: m.StepLR(o, step_size=30),
    "cos7": lambda m, o: m.CosineAnnealingLR(o, T_max=7),
    "cos10-min": lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    "multistep": lambda m, o: m.MultiStepLR(o, milestones=[3, 7, 7, 15], gamma=0.5),
    "multistep-unsorted": lambda m, o: m.MultiStepLR(o, milestones=[20, 4]),
    "exp": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "linear": lambda m, o: m.LinearLR(o),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=8),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.2, total_iters=30),
    "onecycle": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.1], total_steps=40),
    "onecycle-linear": lambda m, o: m.OneCycleLR(o, max_lr=0.3, epochs=4, steps_per_epoch=10,
                                                 anneal_strategy="linear", pct_start=0.25),
    "onecycle-3phase": lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=45, three_phase=True,
                                                 base_momentum=[0.8, 0.7], max_momentum=0.9,
                                                 div_factor=10.0, final_div_factor=100.0),
    "onecycle-nomomentum": lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=40, cycle_momentum=False),
    "seq-warmup-cos": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "seq-three": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.5, total_iters=4), m.StepLR(o, step_size=3, gamma=0.5),
            m.ExponentialLR(o, gamma=0.9)], milestones=[4, 12]),
    "seq-multistep": lambda m, o: m.SequentialLR(
        o, [m.ExponentialLR(o, gamma=0.8), m.MultiStepLR(o, milestones=[3, 9])], milestones=[6]),
    "chained": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.95), m.MultiStepLR(o, [5, 10])]),
    "chained-warmup": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, start_factor=0.2, total_iters=6), m.ExponentialLR(o, gamma=0.97)], optimizer=o),
    "lambda": lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.9 ** (e // 3)]),
    "multiplicative": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95 if e < 20 else 1.02),
    "poly": lambda m, o: m.PolynomialLR(o, total_iters=25, power=2.0),
    "poly-linear": lambda m, o: m.PolynomialLR(o, total_iters=10),
    "cos-restarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7),
    "cos-restarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=1e-3),
    "cyclic": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "cyclic-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.001], max_lr=[0.1, 0.05], step_size_up=3,
                                                  step_size_down=5, mode="triangular2"),
    "cyclic-exp-range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range",
                                                gamma=0.95, base_momentum=0.7, max_momentum=0.95),
    "cyclic-no-momentum": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, cycle_momentum=False),
    "cyclic-scale-fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 1 / (1 + x),
                                               scale_mode="iterations"),
    "seq-warmup-poly": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.PolynomialLR(o, total_iters=20, power=0.5)],
        milestones=[4]),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_matches_torch(name):
    make = SCHEDULES[name]
    torch, copt, topt = _pair([0.1, 0.02])
    cs, ts = make(cn.optim.lr_scheduler, copt), make(torch.optim.lr_scheduler, topt)
    assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    for epoch in range(40):  # past T_max: the cosine goes back up, as PyTorch's does
        topt.step()
        copt.step()
        cs.step()
        ts.step()
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-9, abs=1e-15), epoch
        assert [g["lr"] for g in copt.param_groups] == cs.get_last_lr()
        for g, tg in zip(copt.param_groups, topt.param_groups):  # OneCycleLR cycles the momentum
            assert g["momentum"] == pytest.approx(tg["momentum"], rel=1e-12), epoch


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_one_cycle_cycles_adams_beta1(name):
    torch = pytest.importorskip("torch")
    p, tp = cn.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    copt = getattr(cn.optim, name)([p], lr=0.01, betas=(0.9, 0.98))
    topt = getattr(torch.optim, name)([tp], lr=0.01, betas=(0.9, 0.98))
    cs = cn.optim.lr_scheduler.OneCycleLR(copt, max_lr=0.1, total_steps=30)
    ts = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.1, total_steps=30)
    for step in range(30):
        b, tb = copt.param_groups[0]["betas"], topt.param_groups[0]["betas"]
        assert b == pytest.approx(tb, rel=1e-12) and b[1] == 0.98, step
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), step
        copt.step()
        topt.step()
        cs.step()
        ts.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 31 times; total_steps is 30"):
        cs.step()


PLATEAUS = [
    dict(),
    dict(patience=0),
    dict(patience=2, factor=0.5, cooldown=2),
    dict(mode="max", patience=1, threshold=0.05, threshold_mode="abs"),
    dict(mode="max", patience=1, threshold=0.01),
    dict(mode="min", patience=1, threshold=0.3, threshold_mode="abs", min_lr=[0.01, 0.005]),
    dict(patience=0, factor=0.5, min_lr=0.004, eps=1e-3),
]


@pytest.mark.parametrize("kw", PLATEAUS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "defaults")
def test_reduce_lr_on_plateau_matches_torch(kw):
    torch, copt, topt = _pair([0.1, 0.02])
    cs = cn.optim.lr_scheduler.ReduceLROnPlateau(copt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    # a metric that improves, stalls, wobbles, improves again and stalls for good
    metrics = [1.0, 0.8, 0.7, 0.7, 0.71, 0.69, 0.69, 0.7, 0.5, 0.5, 0.5, 0.5, 0.49, 0.6, 0.6, 0.4,
               0.4, 0.41, 0.42, 0.3, 0.3, 0.3, 0.3, 0.3, 0.31, 0.2] + [0.25] * 14
    if kw.get("mode") == "max":
        metrics = [-m for m in metrics]
    lrs = []
    for epoch, metric in enumerate(metrics):
        cs.step(cn.tensor(np.array(metric)) if epoch % 2 else metric)  # a 0-d tensor too
        ts.step(metric)
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), epoch
        assert cs.num_bad_epochs == ts.num_bad_epochs and cs.best == ts.best, epoch
        lrs.append(cs.get_last_lr()[0])
    assert lrs[-1] < lrs[0]  # it reduced the rate at least once


def _resumable(name):
    """A schedule with a state_dict round trip: (scheduler, optimizer, step(scheduler, epoch))."""
    _, copt, _ = _pair([0.1, 0.02])
    if name == "plateau":
        s = cn.optim.lr_scheduler.ReduceLROnPlateau(copt, patience=1, factor=0.5, cooldown=1)
        return s, copt, lambda s, e: s.step([1.0, 0.9, 0.9, 0.95, 0.8, 0.85, 0.85][e % 7])
    return SCHEDULES[name](cn.optim.lr_scheduler, copt), copt, lambda s, e: s.step()


@pytest.mark.parametrize("name", ["cos7", "multistep", "exp", "linear-warmup", "onecycle-3phase",
                                  "seq-warmup-cos", "chained-warmup", "plateau", "lambda", "multiplicative",
                                  "poly", "cos-restarts-mult", "cyclic-triangular2", "cyclic-exp-range",
                                  "seq-warmup-poly"])
def test_schedule_state_dict_round_trip_resumes(name):
    s, opt, step = _resumable(name)
    for e in range(9):
        step(s, e)
    saved, saved_opt = s.state_dict(), opt.state_dict()
    want = []
    for e in range(9, 30):
        step(s, e)
        want.append((s.get_last_lr(), [g["momentum"] for g in opt.param_groups]))
    s2, opt2, _ = _resumable(name)
    opt2.load_state_dict(saved_opt)  # lr, initial_lr, momentum... of each group
    s2.load_state_dict(saved)
    for e in range(9, 30):
        step(s2, e)
        assert (s2.get_last_lr(), [g["momentum"] for g in opt2.param_groups]) == want[e - 9], e


def test_resuming_with_last_epoch_matches_torch():
    torch, copt, topt = _pair([0.1, 0.02])
    for g, tg in zip(copt.param_groups, topt.param_groups):
        g["initial_lr"] = tg["initial_lr"] = tg["lr"] * 2
    cs = cn.optim.lr_scheduler.MultiStepLR(copt, milestones=[6, 9], gamma=0.5, last_epoch=4)
    ts = torch.optim.lr_scheduler.MultiStepLR(topt, milestones=[6, 9], gamma=0.5, last_epoch=4)
    assert cs.base_lrs == ts.base_lrs == [0.2, 0.04]
    for epoch in range(12):
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), epoch
        copt.step()
        topt.step()
        cs.step()
        ts.step()


def test_schedule_state_dict_resumes():
    torch, copt, _ = _pair([0.1])
    s = cn.optim.lr_scheduler.CosineAnnealingLR(copt, T_max=10)
    for _ in range(4):
        s.step()
    state = s.state_dict()
    lrs = []
    for _ in range(3):
        s.step()
        lrs.append(s.get_last_lr())
    _, copt2, _ = _pair([0.1])
    s2 = cn.optim.lr_scheduler.CosineAnnealingLR(copt2, T_max=10)
    s2.load_state_dict(state)
    for g, lr in zip(copt2.param_groups, state["_last_lr"]):
        g["lr"] = lr
    for i in range(3):
        s2.step()
        assert s2.get_last_lr() == pytest.approx(lrs[i], rel=1e-12)


def test_schedule_bad_arguments():
    _, copt, _ = _pair([0.1])
    m = cn.optim.lr_scheduler
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        m.StepLR(copt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be positive"):
        m.CosineAnnealingLR(copt, T_max=0)
    with pytest.raises(ValueError, match=r"LinearLR: start_factor must be in \(0, 1\], got 0"):
        m.LinearLR(copt, start_factor=0)
    with pytest.raises(ValueError, match=r"LinearLR: end_factor must be in \[0, 1\], got 1.5"):
        m.LinearLR(copt, end_factor=1.5)
    with pytest.raises(ValueError, match="OneCycleLR: give either total_steps or both"):
        m.OneCycleLR(copt, max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="OneCycleLR: total_steps must be a positive int, got 0"):
        m.OneCycleLR(copt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="OneCycleLR: pct_start must be a float"):
        m.OneCycleLR(copt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="OneCycleLR: anneal_strategy must be 'cos' or 'linear'"):
        m.OneCycleLR(copt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="OneCycleLR: max_lr must have one value per parameter group"):
        m.OneCycleLR(copt, max_lr=[0.1, 0.2], total_steps=10)
    with pytest.raises(ValueError, match="OneCycleLR: cycle_momentum needs .* Adagrad has neither"):
        m.OneCycleLR(cn.optim.Adagrad([cn.zeros(2, requires_grad=True)]), max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor should be < 1.0"):
        m.ReduceLROnPlateau(copt, factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode must be 'min' or 'max'"):
        m.ReduceLROnPlateau(copt, mode="up")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs'"):
        m.ReduceLROnPlateau(copt, threshold_mode="x")
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        m.ExponentialLR([], gamma=0.9)
    a, b = m.ExponentialLR(copt, gamma=0.9), m.StepLR(copt, step_size=2)
    with pytest.raises(ValueError, match="SequentialLR: expects one milestone fewer than schedulers"):
        m.SequentialLR(copt, [a, b], milestones=[2, 4])
    with pytest.raises(ValueError, match="SequentialLR: ReduceLROnPlateau \\(index 1\\) cannot be combined"):
        m.SequentialLR(copt, [a, m.ReduceLROnPlateau(copt)], milestones=[2])
    _, other, _ = _pair([0.1])
    with pytest.raises(ValueError, match="ChainedScheduler: all schedulers must belong to the same optimizer"):
        m.ChainedScheduler([a, m.ExponentialLR(other, gamma=0.5)])
    with pytest.raises(ValueError, match="ChainedScheduler: expects at least one scheduler"):
        m.ChainedScheduler([], optimizer=copt)


def test_cosine_warm_restarts_with_fractional_epochs_matches_torch():
    """step(epoch + i / iters) once per batch, jumps included, as PyTorch's documentation shows."""
    torch, copt, topt = _pair([0.1, 0.02])
    cs = cn.optim.lr_scheduler.CosineAnnealingWarmRestarts(copt, T_0=2, T_mult=3, eta_min=1e-4)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=3, eta_min=1e-4)
    for epoch in [e + i / 5 for e in range(12) for i in range(5)] + [30, 7.5, 1]:
        cs.step(epoch)
        ts.step(epoch)
        assert cs.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), epoch
        assert (cs.T_i, cs.last_epoch) == (ts.T_i, ts.last_epoch)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: epoch must be non-negative"):
        cs.step(-1)


class _Decay:
    """A callable object: LambdaLR's state dict keeps its attributes (PyTorch's rule)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


def test_lambda_state_dict_keeps_callable_objects_only():
    torch, copt, topt = _pair([0.1, 0.02])
    f = _Decay(0.9)
    cs = cn.optim.lr_scheduler.LambdaLR(copt, [f, lambda e: 1.0])
    ts = torch.optim.lr_scheduler.LambdaLR(topt, [_Decay(0.9), lambda e: 1.0])
    for _ in range(3):
        topt.step()
        cs.step()
        ts.step()
    sd, tsd = cs.state_dict(), ts.state_dict()
    assert sd["lr_lambdas"] == tsd["lr_lambdas"] == [{"rate": 0.9}, None]
    assert set(sd) - {"lr_lambdas"} <= set(tsd)
    g = _Decay(0.5)
    cs2 = cn.optim.lr_scheduler.LambdaLR(copt, [g, lambda e: 1.0])
    cs2.load_state_dict(sd)
    assert g.rate == 0.9 and cs2.last_epoch == 3


@pytest.mark.parametrize("kw", [dict(swa_lr=0.05), dict(swa_lr=[0.05, 0.01], anneal_epochs=4, anneal_strategy="linear"),
                                dict(swa_lr=0.2, anneal_epochs=0)],
                         ids=["cos", "linear-per-group", "no-annealing"])
def test_swalr_matches_torch(kw):
    """SWALR alone and taking over from a cosine schedule at epoch 10, as in PyTorch's SWA recipe."""
    torch, copt, topt = _pair([0.1, 0.02])
    from torch.optim import swa_utils as tswa

    from convnet.optim import swa_utils as swa

    cos, tcos = (cn.optim.lr_scheduler.CosineAnnealingLR(copt, T_max=30),
                 torch.optim.lr_scheduler.CosineAnnealingLR(topt, T_max=30))
    cs, ts = swa.SWALR(copt, **kw), tswa.SWALR(topt, **kw)
    for epoch in range(25):
        copt.step()
        topt.step()
        if epoch < 10:
            cos.step()
            tcos.step()
        else:
            cs.step()
            ts.step()
        assert [g["lr"] for g in copt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups],
                                                                     rel=1e-12), epoch
    state = cs.state_dict()
    lrs = [g["lr"] for g in copt.param_groups]
    cs2 = swa.SWALR(copt, **kw)
    cs2.load_state_dict(state)
    for g, lr in zip(copt.param_groups, lrs):
        g["lr"] = lr
    cs2.step()
    ts.step()
    assert [g["lr"] for g in copt.param_groups] == pytest.approx([g["lr"] for g in topt.param_groups], rel=1e-12)
    with pytest.raises(ValueError, match="SWALR: anneal_strategy must be 'cos' or 'linear'"):
        swa.SWALR(copt, swa_lr=0.1, anneal_strategy="exp")


def test_new_schedule_bad_arguments():
    _, copt, _ = _pair([0.1])
    m = cn.optim.lr_scheduler
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_0 must be a positive int"):
        m.CosineAnnealingWarmRestarts(copt, T_0=0)
    with pytest.raises(ValueError, match="CosineAnnealingWarmRestarts: T_mult must be an int >= 1"):
        m.CosineAnnealingWarmRestarts(copt, T_0=2, T_mult=0)
    with pytest.raises(ValueError, match="CyclicLR: mode must be"):
        m.CyclicLR(copt, 0.01, 0.1, mode="sine")
    with pytest.raises(ValueError, match="CyclicLR: cycle_momentum needs .* Adagrad has neither"):
        m.CyclicLR(cn.optim.Adagrad([cn.zeros(2, requires_grad=True)]), 0.01, 0.1)
    with pytest.raises(ValueError, match="LambdaLR: lr_lambda must have one value per parameter group"):
        m.LambdaLR(copt, [lambda e: 1.0, lambda e: 1.0])
    with pytest.raises(TypeError, match="MultiplicativeLR: lr_lambda should be a function"):
        m.MultiplicativeLR(copt, 0.9)
