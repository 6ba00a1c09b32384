"""Cyclic cosine (warm restarts) against torch's CosineAnnealingWarmRestarts."""

import torch

from caviar.schedules import make_schedule


def test_cyclic_cosine_matches_torch_warm_restarts_at_every_epoch():
    k, floor = [3.0, 5.0], [0.0, 0.2]
    sched = make_schedule("cyclic_cosine", 2, dtype=torch.float64, k=k, min_factor=floor)
    for p in range(2):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=1.0)
        ref = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            opt, T_0=int(k[p]), eta_min=floor[p]
        )
        for epoch in range(12):
            assert abs(sched(float(epoch))[p].item() - opt.param_groups[0]["lr"]) < 1e-12
            opt.step()
            ref.step()


def test_cyclic_cosine_restarts_at_one():
    sched = make_schedule("cyclic_cosine", 1, dtype=torch.float64, k=[4.0])
    assert sched(4.0).item() == 1.0 and sched(3.999).item() < 1e-5
