"""Frame paths and GIF/MP4 export: keyframes hit exactly, slerp keeps unit norms, walks span
-s..+s, and a GIF and an MP4 written and read back have the right frame count and size."""

import imageio.v2 as iio
import numpy as np
import pytest
import torch

from explorer.edit.interp import keyframe_path, pad_to_block, walk_strengths, write_gif, write_mp4


def test_keyframe_path_hits_every_key():
    keys = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    for mode in ("linear", "spherical"):
        p = keyframe_path(keys, 9, mode)
        assert p.shape == (9, 8)
        assert torch.equal(p[0], keys[0]) and torch.equal(p[4], keys[1]) and torch.equal(p[8], keys[2])


def test_spherical_path_between_unit_latents_keeps_unit_norm():
    keys = torch.nn.functional.normalize(torch.randn(4, 16, generator=torch.Generator().manual_seed(1)), dim=1)
    norms = keyframe_path(keys, 31, "spherical").norm(dim=1)
    assert torch.allclose(norms, torch.ones(31), atol=1e-5)
    assert keyframe_path(keys, 31, "linear").norm(dim=1).min() < 0.95  # lerp cuts inside the sphere


def test_walk_spans_minus_s_to_plus_s():
    s = walk_strengths(2.0, 5)
    assert s == pytest.approx([-2.0, -1.0, 0.0, 1.0, 2.0])
    with pytest.raises(ValueError):
        walk_strengths(1.0, 1)


def _frames(n, h, w, c=3):
    rng = np.random.RandomState(0)
    return rng.randint(0, 256, size=(n, h, w, c)).astype(np.uint8)


def test_gif_round_trip(tmp_path):
    frames = _frames(7, 24, 24)
    seen = []
    write_gif(tmp_path / "a.gif", frames, fps=12, progress=lambda i, n: seen.append((i, n)))
    back = iio.mimread(tmp_path / "a.gif")
    assert len(back) == 7 and back[0].shape[:2] == (24, 24)
    assert seen[-1] == (7, 7)


def test_mp4_round_trip_pads_to_the_macro_block(tmp_path):
    write_mp4(tmp_path / "a.mp4", _frames(9, 64, 64), fps=10)
    with iio.get_reader(tmp_path / "a.mp4", format="FFMPEG") as r:
        back = [f for f in r]
        fps = r.get_meta_data()["fps"]
    assert len(back) == 9 and back[0].shape == (64, 64, 3) and fps == pytest.approx(10)
    write_mp4(tmp_path / "b.mp4", _frames(3, 20, 36, c=1), fps=5)  # grayscale, not multiples of 16
    with iio.get_reader(tmp_path / "b.mp4", format="FFMPEG") as r:
        back = [f for f in r]
    assert len(back) == 3 and back[0].shape == (32, 48, 3)
    assert pad_to_block(_frames(1, 32, 32)).shape == (1, 32, 32, 3)
