"""explorer.edit.interp: lerp and slerp ends, the slerp midpoint on the unit circle, the
parallel fallback, and per-row independence."""

import math

import pytest
import torch

from explorer.edit.interp import interpolate, lerp, slerp


@pytest.fixture
def ab():
    g = torch.Generator().manual_seed(0)
    return torch.randn(5, 16, generator=g), torch.randn(5, 16, generator=g) * 3


@pytest.mark.parametrize("fn", [lerp, slerp])
def test_ends_are_exactly_a_and_b(ab, fn):
    a, b = ab
    assert torch.equal(fn(a, b, 0.0), a)
    assert torch.equal(fn(a, b, 1.0), b)
    assert torch.equal(fn(a, b, torch.zeros(5)), a)   # one t per row
    assert torch.equal(fn(a, b, torch.ones(5, 1)), b)


def test_slerp_midpoint_of_orthogonal_unit_vectors():
    a, b = torch.tensor([[1.0, 0.0, 0.0]]), torch.tensor([[0.0, 1.0, 0.0]])
    mid = slerp(a, b, 0.5)
    assert mid.norm().item() == pytest.approx(1.0, abs=1e-6)
    angle = math.degrees(math.acos((mid @ a.T).item()))
    assert angle == pytest.approx(45.0, abs=1e-4)
    assert torch.allclose(mid, torch.tensor([[1.0, 1.0, 0.0]]) / math.sqrt(2), atol=1e-6)
    # lerp cuts the chord: its midpoint lies inside the circle.
    assert lerp(a, b, 0.5).norm().item() == pytest.approx(math.sqrt(0.5), abs=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_latents_all_along():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3, 64, generator=g), torch.randn(3, 64, generator=g)
    b = b / b.norm(dim=1, keepdim=True) * a.norm(dim=1, keepdim=True)  # pixel-normalised: equal norms
    for t in (0.1, 0.3, 0.5, 0.9):
        assert torch.allclose(slerp(a, b, t).norm(dim=1), a.norm(dim=1), rtol=1e-5)
        assert (lerp(a, b, t).norm(dim=1) < a.norm(dim=1) * (1 - 1e-3)).all()


def test_parallel_and_degenerate_rows_fall_back_to_lerp():
    a = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    b = torch.tensor([[2.0, 4.0, 6.0], [1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [-1.0, 0.0, 0.0]])
    for t in (0.0, 0.25, 0.5, 1.0):
        out = slerp(a, b, t)
        assert torch.isfinite(out).all()
        assert torch.allclose(out, lerp(a, b, t), atol=1e-6)


def test_rows_are_independent(ab):
    a, b = ab
    t = torch.tensor([0.0, 0.2, 0.5, 0.7, 1.0])
    for fn in (lerp, slerp):
        batch = fn(a, b, t)
        for i in range(5):
            alone = fn(a[i:i + 1], b[i:i + 1], t[i].item())
            assert torch.allclose(batch[i:i + 1], alone, atol=1e-6)
        # Changing one row's latents leaves every other row's result alone.
        b2 = b.clone()
        b2[2] = -b2[2]
        changed = fn(a, b2, t)
        keep = [0, 1, 3, 4]
        assert torch.equal(changed[keep], batch[keep]) and not torch.allclose(changed[2], batch[2])


def test_interpolate_dispatches_and_names_the_modes(ab):
    a, b = ab
    assert torch.equal(interpolate(a, b, 0.3, "linear"), lerp(a, b, 0.3))
    assert torch.equal(interpolate(a, b, 0.3, "spherical"), slerp(a, b, 0.3))
    with pytest.raises(ValueError, match="linear, spherical"):
        interpolate(a, b, 0.3, "cubic")
    with pytest.raises(AssertionError, match=r"\[N, D\]"):
        lerp(a[0], b[0], 0.5)
