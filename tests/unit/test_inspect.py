"""explorer.inspect: every family's layers captured while it draws, unit edits that change exactly what
they say, and the layer views (channels, PCA, spectra) on inputs whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.inspect import (UnitEdit, capture, channel_grid, list_layers, mean_abs, one_channel, pca_rgb,
                              spectrum_db, spectrum_picture)
from explorer.models import ARCHITECTURES, build_generator

ARCHS = sorted(ARCHITECTURES)


def tiny(arch: str):
    torch.manual_seed(0)
    return build_generator(arch, ARCHITECTURES[arch].tiny).eval().requires_grad_(False)


def ws_for(G, n=2, seed=0):
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    return G.mapping(z)


def draw(G):
    return lambda ws: G.synthesis(ws, noise_mode="const")


@pytest.mark.parametrize("arch", ARCHS)
def test_every_layer_is_listed_in_synthesis_order_with_its_size(arch):
    G = tiny(arch)
    layers = list_layers(G, draw(G))
    assert [layer.key for layer in layers] == [k for k, _ in G.feature_layers()]
    res = [layer.res for layer in layers]
    assert all(layer.channels > 0 for layer in layers)
    if arch == "stylegan3":  # alias-free: every layer at the image size plus a margin, cropped at the end
        assert min(res) == res[-1] == G.img_resolution and max(res) == G.img_resolution + 2 * G.cfg.margin_size
    else:                    # the others grow from 4x4 to the image size
        assert res == sorted(res) and res[-1] <= G.img_resolution
    assert layers[0].label == f"{layers[0].key} · {res[0]}×{res[0]} · {layers[0].channels} ch"


def test_a_progan_stage_lists_only_the_blocks_it_runs():
    G = tiny("progan")
    at = {s: [layer.key for layer in list_layers(G, lambda ws, s=s: G.synthesis(ws, stage=s, alpha=1.0))]
          for s in range(G.num_stages)}
    assert at[0] == ["b4.conv"] and at[1] == ["b4.conv", "b8.conv0", "b8.conv1"]
    assert at[G.num_stages - 1] == [k for k, _ in G.feature_layers()]


@pytest.mark.parametrize("arch", ARCHS)
def test_capturing_changes_nothing_and_keeps_each_layers_maps(arch):
    G = tiny(arch)
    ws = ws_for(G)
    with torch.no_grad():
        want = G.synthesis(ws, noise_mode="const")
        got = capture(G, draw(G), ws)
    assert torch.equal(got.image, want)
    for key, f in got.features.items():
        assert f.ndim == 4 and f.shape[0] == 2 and f.dtype == torch.float32, key


@pytest.mark.parametrize("arch", ARCHS)
def test_ablating_every_unit_of_a_layer_zeroes_it_and_changes_the_picture(arch):
    G = tiny(arch)
    ws = ws_for(G)
    layers = list_layers(G, draw(G))
    mid = layers[len(layers) // 2]
    every = tuple(range(mid.channels))
    with torch.no_grad():
        plain = capture(G, draw(G), ws, keys=[mid.key])
        off = capture(G, draw(G), ws, keys=[mid.key], edits=(UnitEdit(mid.key, every, "zero"),))
        none = capture(G, draw(G), ws, keys=[mid.key], edits=(UnitEdit(mid.key, every, "zero", strength=0.0),))
    assert off.features[mid.key].abs().max() == 0
    assert (off.image - plain.image).abs().max() > 1e-3
    assert torch.equal(none.image, plain.image)


def test_an_edit_acts_only_on_its_units_inside_its_region_and_strength_blends():
    G = tiny("stylegan")
    ws = ws_for(G)
    key = "b16.conv1"
    with torch.no_grad():
        plain = capture(G, draw(G), ws, keys=[key]).features[key]
        edit = UnitEdit(key, (1, 3), "mean", region=(0.5, 0.0, 1.0, 0.5))   # the top-right quarter
        got = capture(G, draw(G), ws, keys=[key], edits=(edit,)).features[key]
        half = capture(G, draw(G), ws, keys=[key], edits=(UnitEdit(key, (1, 3), "mean", 0.5, edit.region),)).features[key]
    changed = (got != plain).any(0)                                        # [C, h, w]
    assert changed[[1, 3]].any() and not changed[[0, 2]].any() and not changed[4:].any()
    rows, cols = torch.nonzero(changed.any(0), as_tuple=True)
    assert rows.max() < 8 and cols.min() >= 8                              # 16x16 maps: only the quarter
    whole_map_mean = plain[:, [1, 3]].mean(dim=(2, 3), keepdim=True)          # [N, 2, 1, 1]
    assert torch.allclose(got[:, [1, 3], :8, 8:], whole_map_mean.expand(-1, -1, 8, 8), atol=1e-6)
    assert torch.allclose(half, (plain + got) / 2, atol=1e-5)


def test_insert_forces_units_above_their_own_peak():
    G = tiny("dcgan")
    ws = ws_for(G)
    key = G.feature_layers()[0][0]
    with torch.no_grad():
        plain = capture(G, draw(G), ws, keys=[key]).features[key]
        forced = capture(G, draw(G), ws, keys=[key], edits=(UnitEdit(key, (0,), "insert"),)).features[key]
    peak = plain[:, 0].amax(dim=(1, 2))
    assert torch.allclose(forced[:, 0].amin(dim=(1, 2)), 1.5 * peak.clamp_min(0))


def test_bad_layers_units_and_regions_are_refused_with_what_there_is():
    G = tiny("dcgan")
    with pytest.raises(ValueError, match="not a layer of this model; its layers are b4.act"):
        capture(G, draw(G), ws_for(G), keys=["nope"])
    with pytest.raises(ValueError, match="has units 0..15"):
        capture(G, draw(G), ws_for(G), edits=(UnitEdit("b4.act", (99,)),))
    with pytest.raises(ValueError, match="region"):
        UnitEdit("b4.act", (0,), region=(0.6, 0, 0.4, 1))
    with pytest.raises(ValueError, match="mode"):
        UnitEdit("b4.act", (0,), mode="paint")


# --- views -------------------------------------------------------------------------------------------

def test_channel_grid_tiles_every_channel_at_its_own_scale():
    act = torch.stack([torch.full((4, 4), 5.0), torch.arange(16.0).view(4, 4), -torch.arange(16.0).view(4, 4)])
    grid, scale = channel_grid(act, cols=3, pad=1)
    assert grid.shape == (4, 14) and grid.dtype == np.uint8
    assert (grid[:, :4] == 0).all()                                     # a flat channel is black, not noise
    assert grid[0, 5] == 0 and grid[3, 8] == 255                        # 0..15 mapped to black..white
    assert grid[0, 10] == 255 and grid[3, 13] == 0                      # its negative, also full range
    assert "3 channels" in scale and "15" in scale


def test_one_channel_mean_abs_and_pca_describe_their_scale():
    x = torch.randn(8, 6, 6, generator=torch.Generator().manual_seed(1))
    pic, text = one_channel(x, 2)
    assert pic.shape == (6, 6, 3) and f"{x[2].min():.3g}" in text
    with pytest.raises(ValueError, match="0..7"):
        one_channel(x, 8)
    assert mean_abs(x)[0].shape == (6, 6, 3)
    # Channels that are all multiples of one map: the first component explains everything.
    base = torch.randn(6, 6, generator=torch.Generator().manual_seed(2))
    rank1 = torch.stack([base * k for k in range(1, 9)]).float()
    pic, text = pca_rgb(rank1)
    assert pic.shape == (6, 6, 3) and "100% of the variance" in text


def test_a_spectrum_peaks_at_the_frequency_drawn_and_a_checkerboard_at_nyquist():
    h = w = 32
    yy, xx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    wave = torch.cos(2 * torch.pi * 4 * xx / w)[None].double()         # 4 cycles across: 0.125 cycles/pixel
    db = spectrum_db(wave)
    assert db.shape == (h, w) and db.max() == 0.0
    peaks = np.argwhere(db > -1)
    assert {tuple(p) for p in peaks} == {(h // 2, w // 2 + 4), (h // 2, w // 2 - 4)}
    checker = ((yy + xx) % 2 * 2 - 1)[None].double()                   # a transposed conv's artefact
    assert tuple(np.argwhere(spectrum_db(checker) > -1)[0]) == (0, 0)  # (-0.5, -0.5) cycles per pixel
    pic, text = spectrum_picture(db)
    assert pic.shape[0] > 256 and pic.shape[2] == 3 and "cycles per pixel" in text


# --- dissection ------------------------------------------------------------------------------------

def _seed_ws(G):
    def ws_for_seeds(seeds):
        z = torch.stack([torch.randn(G.z_dim, generator=torch.Generator().manual_seed(s)) for s in seeds])
        return G.mapping(z)
    return ws_for_seeds


def _tiny_segmenter():
    from explorer.attributes.parts import PartSegmenter, SegmenterConfig

    torch.manual_seed(3)
    return PartSegmenter(SegmenterConfig(res=16, widths=[4, 8])).eval().requires_grad_(False)


def test_dissection_counts_are_the_iou_of_firing_and_the_segmentation(tmp_path):
    """Recount every unit's IoU with each part by hand from the same captures, at the thresholds it chose."""
    import torch.nn.functional as F

    from explorer.inspect.dissect import Dissection, dissect

    G, seg = tiny("stylegan"), _tiny_segmenter()
    d = dissect(G, draw(G), _seed_ws(G), "b8.conv1", seg, samples=6, batch=4)
    assert len(d.iou) == G.feature_layers()[2][1].bias.shape[0] and len(d.iou[0]) == len(seg.cfg.parts)
    fires, labels = [], []
    with torch.no_grad():
        for chunk in ([0, 1, 2, 3], [4, 5]):  # the same batches (a batch's sums may differ in the last bit)
            got = capture(G, draw(G), _seed_ws(G)(chunk), keys=["b8.conv1"])
            a = F.interpolate(got.features["b8.conv1"], size=(16, 16), mode="bilinear", align_corners=False)
            fires.append((a > torch.tensor(d.threshold).view(1, -1, 1, 1)).numpy())      # [n, C, 16, 16]
            labels.append(seg.coverage(got.image).argmax(1).numpy())                     # [n, 16, 16]
    fires, labels = np.concatenate(fires), np.concatenate(labels)
    for u in range(fires.shape[1]):
        for p in range(len(seg.cfg.parts)):
            inter = (fires[:, u] & (labels == p)).sum()
            union = (fires[:, u] | (labels == p)).sum()
            assert d.iou[u][p] == pytest.approx(inter / union if union else 0.0, abs=1e-4)
    # About the top 1 % of each unit's activations fire (a quantile from a subsample of positions).
    share = fires.mean(axis=(0, 2, 3))
    assert np.median(share) < 0.1
    back = Dissection.load(d.save(tmp_path))
    assert back == d
    best = d.best(d.parts[0], k=3)
    assert [iou for _, iou in best] == sorted([iou for _, iou in best], reverse=True)
    with pytest.raises(ValueError, match="not a part"):
        d.best("tail")
