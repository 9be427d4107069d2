"""Learning-rate schedules against torch.optim.lr_scheduler over 20+ epochs."""

import pytest

import convnet as cn


def _pair(groups_lr):
    torch = pytest.importorskip("torch")
    cparams = [cn.zeros(2, requires_grad=True) for _ in groups_lr]
    tparams = [torch.zeros(2, requires_grad=True) for _ in groups_lr]
    copt = cn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(cparams, groups_lr)], lr=0.1)
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tparams, groups_lr)], lr=0.1)
    return torch, copt, topt


@pytest.mark.parametrize("make", [
    lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    lambda m, o: m.StepLR(o, step_size=30),
    lambda m, o: m.CosineAnnealingLR(o, T_max=7),
    lambda m, o: m.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
], ids=["step3", "step30", "cos7", "cos10-min"])
def test_schedule_matches_torch(make):
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
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive int, got 0"):
        cn.optim.lr_scheduler.StepLR(copt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max must be positive"):
        cn.optim.lr_scheduler.CosineAnnealingLR(copt, T_max=0)
