"""Grouping sampled configurations into populations under a memory budget."""

import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.tuning.executor import member_bytes, plan_populations


def test_member_bytes_counts_parameters_buffers_and_activations():
    cfg = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [10]},
            "optimizer": {"name": "adam"},
            "train": {"batch_size": 8},
        }
    )[0]
    n = 4 * 10 + 10 + 10 * 3 + 3  # parameters of a 4-10-3 MLP
    expected = 4 * (n * (4 + 2) + 3 * 8 * (4 + 10 + 3))  # float32, Adam: 2 buffers
    assert member_bytes(cfg, 4, 3, 100) == expected


def test_groups_split_to_fit_the_budget_and_never_mix_structures():
    data = prepare_data("iris", seed=0)
    configs = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [[32], [64, 32]]},
            "optimizer": {"name": "adam", "lr": [1e-3, 2e-3, 3e-3, 4e-3, 5e-3]},
            "train": {"seed": [0, 1]},
        }
    )
    each = {str(c.model.hidden): member_bytes(c, 4, 3, len(data.X_train)) for c in configs}
    budget = 3.5 * max(each.values())
    pops = plan_populations(configs, data, budget)
    assert sorted(i for p in pops for i in p) == list(range(len(configs)))
    for p in pops:
        assert len({str(configs[i].model.hidden) for i in p}) == 1
        assert len(p) * each[str(configs[p[0]].model.hidden)] <= budget
    assert len(pops) > 2  # both structure groups (10 each) were split
    # an unlimited budget gives one population per structure
    assert len(plan_populations(configs, data, float(torch.finfo(torch.float64).max))) == 2
