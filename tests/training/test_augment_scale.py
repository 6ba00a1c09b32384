"""augment.scale (:ref:`bg-augmentation`): zoom about the centre by f in [1 - s, 1 + s]."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_arrays, prepare_data
from caviar.errors import CaviarError
from caviar.nn import random as rnd
from caviar.training.augment.image import ImageWarp, affine_warp
from caviar.training.augment.scale import scale_factors
from caviar.training.trainer import PopulationTrainer
from member_invariance import assert_members_as_alone


def zoom_by_hand(img: np.ndarray, f: float) -> np.ndarray:
    """Bilinear zoom of ``img (H, W)`` by ``f`` about the centre, zero outside; pixel
    centres at (j + 1/2) (the align_corners=False convention)."""
    H, W = img.shape
    out = np.zeros_like(img)
    for i in range(H):
        for j in range(W):
            # centred coordinates of the output pixel, divided by f
            y = (i + 0.5 - H / 2) / f + H / 2 - 0.5
            x = (j + 0.5 - W / 2) / f + W / 2 - 0.5
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            acc = 0.0
            for yy, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
                for xx, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
                    if 0 <= yy < H and 0 <= xx < W:
                        acc += wy * wx * img[yy, xx]
            out[i, j] = acc
    return out


@pytest.mark.parametrize("f", [0.7, 1.0, 1.25, 1.9])
def test_zoom_equals_bilinear_resampling_by_hand(f):
    img = np.random.default_rng(0).normal(size=(5, 6))
    zero = torch.zeros(1, dtype=torch.float64)
    ours = affine_warp(torch.tensor(img)[None], zero, zero, zero, torch.tensor([f]).double())
    # grid_sample resamples to about 1e-7 (its coordinates), far below a wrong zoom
    np.testing.assert_allclose(ours[0].numpy(), zoom_by_hand(img, f), rtol=0, atol=1e-6)


def test_factors_lie_in_the_range_and_members_with_scale_zero_are_untouched():
    seeds = torch.tensor([3, 4, 5])
    s = torch.tensor([0.0, 0.1, 0.5], dtype=torch.float64)
    f = scale_factors(seeds, 7, 2000, s, torch.float64)
    assert torch.equal(f[0], torch.ones(2000, dtype=torch.float64))
    for p in (1, 2):
        assert float(f[p].min()) >= 1 - float(s[p]) and float(f[p].max()) <= 1 + float(s[p])
        assert float(f[p].max() - f[p].min()) > 1.8 * float(s[p])  # the range is used
    # the warp applies each example's own factor
    warp = ImageWarp((4, 4), torch.zeros(16).double(), torch.ones(16).double())
    x = torch.randn(3, 16, dtype=torch.float64)
    zero = torch.zeros(3, dtype=torch.float64)
    out = warp(x, zero, zero, seeds, 7, scale=s)
    assert torch.equal(out[0], x)
    fac = scale_factors(seeds, 7, 3, s, torch.float64)
    for b in range(3):
        ref = zoom_by_hand(x[b].reshape(4, 4).numpy(), float(fac[2, b]))
        np.testing.assert_allclose(
            out[2, b].reshape(4, 4).numpy(), ref, rtol=0, atol=1e-6
        )  # grid_sample rounds at ~1e-7
    assert rnd.STREAM_AUG_SCALE not in (rnd.STREAM_AUG_SHIFT, rnd.STREAM_AUG_ROTATE)


def test_scale_per_member_in_a_population_on_digits():
    digits = prepare_data("digits", seed=0)
    configs = expand_configs(
        {
            "data": {"source": "digits"},
            "model": {"hidden": [16]},
            "augment": {"scale": [0.0, 0.1, 0.3]},
            "train": {"epochs": 2, "batch_size": 64, "patience": None, "dtype": "float64"},
        }
    )
    result = assert_members_as_alone(configs, digits, members=(0, 2))
    # scaling changes what a member sees: its curve differs from the unscaled member's
    assert result.members[2].history["train_loss"] != result.members[0].history["train_loss"]


def test_scale_needs_images_and_a_range_below_one():
    X = np.random.default_rng(0).normal(size=(60, 3))
    cls = prepare_arrays(X, (X[:, 0] > 0).astype(int))
    (cfg,) = expand_configs({"data": {"source": "x"}, "augment": {"scale": 0.2}})
    with pytest.raises(CaviarError, match="augment.scale need image-shaped data"):
        PopulationTrainer([cfg], cls)
    with pytest.raises(CaviarError, match="less than 1"):
        expand_configs({"data": {"source": "x"}, "augment": {"scale": 1.0}})


def test_scale_is_refused_on_signals_for_module_populations():
    from torch import nn

    from caviar.nn.factory import register

    def conv(cfg):
        c, length = cfg["input_shape"]
        return nn.Sequential(nn.Conv1d(c, 2, 3, padding=1), nn.Flatten(),
                             nn.Linear(2 * length, cfg["n_outputs"]))  # fmt: skip

    X = np.random.default_rng(0).normal(size=(40, 2, 8))
    data = prepare_arrays(X, (X[:, 0].sum(axis=1) > 0).astype(int), seed=1)
    (cfg,) = expand_configs(
        {"data": {"source": "arrays"}, "model": {"kind": "module", "factory": register(conv)},
         "augment": {"scale": 0.2}}
    )  # fmt: skip
    with pytest.raises(CaviarError, match="augment.scale needs images"):
        PopulationTrainer([cfg], data)
