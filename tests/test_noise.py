"""Corruptions: exact counts, ranges, seeding, the occlusion rectangle, and the UI's listing."""
import pytest
import torch

from explorer.errors import ConfigError
from explorer.noise import NOISE_TYPES, corrupt, gaussian, masking, occlusion, salt_and_pepper


def grey(n=4, shape=(1, 8, 8), value=0.5):
    return torch.full((n, *shape), value)


@pytest.mark.parametrize("name", sorted(NOISE_TYPES))
def test_seeded_corruption_is_reproducible_and_leaves_the_input_alone(name):
    x = torch.rand(5, 2, 9, 7, generator=torch.Generator().manual_seed(3))
    kept = x.clone()
    level = NOISE_TYPES[name].default_level
    first = corrupt(x, name, level, torch.Generator().manual_seed(0))
    again = corrupt(x, name, level, torch.Generator().manual_seed(0))
    other = corrupt(x, name, level, torch.Generator().manual_seed(1))
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.equal(x, kept) and first.shape == x.shape and first.dtype == x.dtype
    assert 0 <= float(first.min()) and float(first.max()) <= 1


def test_gaussian_has_the_requested_spread_and_is_clipped():
    x = grey(n=64, shape=(1, 16, 16))
    small = gaussian(x, 0.05, torch.Generator().manual_seed(0)) - x   # never reaches the clip
    assert float(small.std()) == pytest.approx(0.05, rel=0.03)
    assert abs(float(small.mean())) < 0.002
    wide = gaussian(x, 2.0, torch.Generator().manual_seed(0))
    assert float(wide.min()) == 0.0 and float(wide.max()) == 1.0


def test_masking_zeroes_exactly_the_fraction_in_every_image():
    x = grey(n=6, value=0.7)
    out = masking(x, 0.25, torch.Generator().manual_seed(0))
    zeroed = (out == 0).flatten(1).sum(1)
    assert zeroed.tolist() == [16] * 6                      # round(0.25 * 64)
    assert torch.all((out == 0) | (out == x))
    assert not torch.equal(out[0] == 0, out[1] == 0)        # a fresh choice per image


def test_salt_and_pepper_sets_exactly_the_fraction_to_zero_or_one():
    x = grey(n=200)
    out = salt_and_pepper(x, 0.1, torch.Generator().manual_seed(0))
    changed = out != x
    assert changed.flatten(1).sum(1).tolist() == [6] * 200   # round(0.1 * 64)
    assert torch.all((out[changed] == 0) | (out[changed] == 1))
    assert float(out[changed].mean()) == pytest.approx(0.5, abs=0.05)


def test_occlusion_at_a_given_place_zeroes_that_rectangle_only():
    x = torch.ones(2, 3, 6, 6)
    out = occlusion(x, 0.0, top=1, left=2, height=2, width=3)
    expected = torch.ones(6, 6)
    expected[1:3, 2:5] = 0
    assert all(torch.equal(out[i, c], expected) for i in range(2) for c in range(3))


def test_occlusion_by_area_has_that_size_and_a_random_place_inside_the_image():
    x = torch.ones(50, 1, 8, 8)
    out = occlusion(x, 0.25, torch.Generator().manual_seed(0))   # a 4x4 hole
    hole = out[:, 0] == 0
    assert hole.flatten(1).sum(1).tolist() == [16] * 50
    rows, cols = hole.any(2), hole.any(1)
    assert rows.sum(1).tolist() == [4] * 50 and cols.sum(1).tolist() == [4] * 50
    corners = {(int(r.nonzero()[0]), int(c.nonzero()[0])) for r, c in zip(rows, cols)}
    assert len(corners) > 10                                      # all 25 corners are possible


def test_noise_types_list_a_description_and_a_level_range():
    for name, noise in NOISE_TYPES.items():
        assert noise.description and noise.level_name
        assert noise.min_level <= noise.default_level <= noise.max_level
        for level in (noise.min_level, noise.max_level):
            assert corrupt(grey(), name, level, torch.Generator().manual_seed(0)).shape == (4, 1, 8, 8)
    assert torch.equal(corrupt(grey(), "masking", 0.0), grey())


def test_corrupt_refuses_unknown_names_and_levels_out_of_range():
    with pytest.raises(ConfigError, match="masking"):
        corrupt(grey(), "blur", 0.1)
    with pytest.raises(ConfigError, match="outside"):
        corrupt(grey(), "masking", 1.5)
