"""explorer.render.style: mixing ends, truncation, noise, incremental synthesis against full
re-renders, stochastic variation and the style-mixing matrix, on tiny untrained models of both
variants (helpers.make_tiny_stylegan_checkpoint). The tab itself is test_stylegan_tab.py."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import make_tiny_checkpoint, make_tiny_stylegan_checkpoint

from explorer.edit.latents import z_from_seed
from explorer.edit.mixing import mix_ws
from explorer.images import to_uint8
from explorer.render import Renderer, RenderError
from explorer.render.style import StyleRenderer, StyleRequest, heat_colours

VARIANTS = ["adain", "modulated"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("style-render")
    paths = {v: str(make_tiny_stylegan_checkpoint(root / v, v, seed=i)) for i, v in enumerate(VARIANTS)}
    paths["dcgan"] = str(make_tiny_checkpoint(root / "dcgan"))
    return paths


@pytest.fixture
def sr():
    """A fresh renderer: its layer caches start empty."""
    return StyleRenderer(Renderer("cpu"))


def setup(sr, checkpoints, variant, **kw):
    G, _ = sr.model(checkpoints[variant])
    return G, StyleRequest(checkpoints[variant], 3, 7, mix=(0.0,) * G.num_ws,
                           noise_strength=(1.0,) * G.num_layers, **kw)


@torch.inference_mode()
def full_render(G, req: StyleRequest) -> np.ndarray:
    """The reference: G.mapping + mix_ws + one G.synthesis call, nothing cached."""
    def ws(seed):
        return G.mapping(z_from_seed(seed, G.z_dim)[None], truncation_psi=req.truncation_psi,
                         truncation_cutoff=req.truncation_cutoff)

    gen = torch.Generator().manual_seed(req.noise_seed) if req.noise_mode == "random" else None
    img = G.synthesis(mix_ws(ws(req.seed_a), ws(req.seed_b), req.mix), noise_mode=req.noise_mode, noise_generator=gen,
                      noise_strength=list(req.noise_strength))
    return to_uint8(img)[0]


def first_reader(G, entries) -> int:
    """The first synthesis layer whose run reads one of the ws `entries` (num_layers: only finish() does)."""
    reads = StyleRenderer._layer_reads(G)
    return next((i for i, ks in enumerate(reads) if set(ks) & set(entries)), G.num_layers)


@pytest.mark.parametrize("variant", VARIANTS)
def test_mixing_all_zero_is_exactly_a_and_all_one_exactly_b(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant)
    out = sr.render(req)
    np.testing.assert_array_equal(out["mix"].picture, out["a"].picture)
    ones = sr.render(replace(req, mix=(1.0,) * G.num_ws))
    np.testing.assert_array_equal(ones["mix"].picture, out["b"].picture)
    assert not np.array_equal(out["a"].picture, out["b"].picture)
    half = sr.render(replace(req, mix=(0.5,) * G.num_ws))["mix"].picture
    assert not np.array_equal(half, out["a"].picture) and not np.array_equal(half, out["b"].picture)
    np.testing.assert_array_equal(out["a"].picture, full_render(G, req))


@pytest.mark.parametrize("variant", VARIANTS)
def test_psi_zero_gives_the_w_avg_image(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant, truncation_psi=0.0)
    out = sr.render(req)
    with torch.inference_mode():
        avg = to_uint8(G.synthesis(G.w_avg.expand(1, G.num_ws, -1)))[0]
    for k in ("a", "mix", "b"):
        np.testing.assert_array_equal(out[k].picture, avg)
    # A cutoff keeps the untruncated styles beyond it: the seeds differ again.
    cut = sr.render(replace(req, truncation_cutoff=2))
    assert not np.array_equal(cut["a"].picture, cut["b"].picture)
    np.testing.assert_array_equal(cut["a"].picture, full_render(G, replace(req, truncation_cutoff=2)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_noise_none_ignores_strengths_and_equals_strength_zero(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant, noise_mode="none")
    none = sr.render(req)["a"].picture
    rng = np.random.default_rng(0)
    for _ in range(3):
        strengths = tuple(float(s) for s in rng.uniform(0, 2, G.num_layers))
        np.testing.assert_array_equal(sr.render(replace(req, noise_strength=strengths))["a"].picture, none)
    zero = replace(req, noise_strength=(0.0,) * G.num_layers)
    for mode in ("const", "random"):
        np.testing.assert_array_equal(sr.render(replace(zero, noise_mode=mode))["a"].picture, none)
    assert not np.array_equal(sr.render(replace(req, noise_mode="const"))["a"].picture, none)


@pytest.mark.parametrize("variant", VARIANTS)
def test_random_noise_with_the_same_seed_reproduces(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant, noise_mode="random", noise_seed=5)
    first = sr.render(req)["mix"].picture
    other = StyleRenderer(Renderer("cpu")).render(req)["mix"].picture  # a new renderer, a new process state
    np.testing.assert_array_equal(first, other)
    np.testing.assert_array_equal(first, full_render(G, req))
    assert not np.array_equal(first, sr.render(replace(req, noise_seed=6))["mix"].picture)
    assert not np.array_equal(first, sr.render(replace(req, noise_mode="const"))["mix"].picture)


@pytest.mark.parametrize("variant", VARIANTS)
def test_incremental_render_equals_a_full_render(sr, checkpoints, variant):
    """A sequence of single-control changes: each output equals a fresh full synthesis to the bit,
    and only the layers from the first one the change reaches are run again."""
    G, req = setup(sr, checkpoints, variant)
    L, W = G.num_layers, G.num_ws

    def step(change: dict, first: int):
        nonlocal req
        req = replace(req, **change)
        before = sr.layers_run
        out = sr.render(req, slots=("mix",))["mix"]
        np.testing.assert_array_equal(out.picture, full_render(G, req), err_msg=str(change))
        assert (out.first_layer, out.layers_run) == (first, L - first), change
        assert sr.layers_run - before == L - first

    step({}, 0)                                                   # empty cache: everything
    step({}, L)                                                   # nothing changed: nothing run
    assert sr.render(req, slots=("mix",))["mix"].cached
    for k in (W - 1, W - 2, W // 2, 1, 0):                        # one style input from fine to coarse
        mix = list(req.mix)
        mix[k] = 0.25 + 0.5 * mix[k]
        step({"mix": tuple(mix)}, first_reader(G, [k]))
    for i in (L - 1, L // 2, 0):                                  # one noise strength
        s = list(req.noise_strength)
        s[i] = 0.5 * s[i] + 0.3
        step({"noise_strength": tuple(s)}, i)
    step({"truncation_psi": 0.6}, 0)                              # truncation reaches ws[0] at any cutoff
    step({"truncation_cutoff": 3}, first_reader(G, range(3, W)))  # ws[3:] lose their truncation
    step({"truncation_cutoff": 4}, first_reader(G, [3]))
    step({"noise_mode": "random", "noise_seed": 1}, 0)
    s = list(req.noise_strength)
    s[-1] = 1.9
    step({"noise_strength": tuple(s)}, L - 1)                     # random noise: a last-layer change too
    step({"noise_seed": 2}, 0)
    step({"seed_b": 11}, first_reader(G, [k for k, t in enumerate(req.mix) if t > 0]))


def test_a_last_layer_change_runs_only_the_last_layer(sr, checkpoints):
    """StyleGAN2: the last style input feeds only the final toRGB, so no synthesis layer runs at all."""
    G, req = setup(sr, checkpoints, "modulated")
    sr.render(req, slots=("mix",))
    runs = sr.layers_run
    out = sr.render(replace(req, mix=(0.0,) * (G.num_ws - 1) + (1.0,)), slots=("mix",))["mix"]
    assert out.layers_run == 0 and not out.cached and sr.layers_run == runs
    np.testing.assert_array_equal(out.picture, full_render(G, replace(req, mix=(0.0,) * (G.num_ws - 1) + (1.0,))))
    s = (1.0,) * (G.num_layers - 1) + (0.5,)
    out = sr.render(replace(req, noise_strength=s), slots=("mix",))["mix"]
    assert out.layers_run == 1 and sr.layers_run == runs + 1


def test_each_slot_and_model_keeps_its_own_cache(sr, checkpoints):
    Ga, ra = setup(sr, checkpoints, "adain")
    Gm, rm = setup(sr, checkpoints, "modulated")
    sr.render(ra)
    sr.render(rm)
    out = sr.render(replace(ra, mix=(0.0,) * (Ga.num_ws - 1) + (1.0,)))
    assert out["a"].layers_run == 0 and out["b"].layers_run == 0 and out["mix"].layers_run == 1
    np.testing.assert_array_equal(sr.render(rm)["mix"].picture, full_render(Gm, rm))


@pytest.mark.parametrize("variant", VARIANTS)
def test_stochastic_variation(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant, noise_seed=20)
    none = sr.variation(replace(req, noise_mode="none"), 4)
    assert none.pictures.shape == (4, 16, 16, 3) and none.std.shape == (16, 16)
    assert none.std.max() == 0 and (none.heat == heat_colours(np.zeros(1))[0]).all()
    rnd = sr.variation(replace(req, noise_mode="random"), 4)
    assert rnd.std.max() > 0 and rnd.heat.shape == (16, 16, 3)
    assert len({p.tobytes() for p in rnd.pictures}) == 4
    # Render i is the mix with noise seed noise_seed + i (batched, so allow float rounding: 1 level).
    for i in (0, 3):
        single = sr.render(replace(req, noise_mode="random", noise_seed=20 + i), slots=("mix",))["mix"].picture
        assert np.abs(rnd.pictures[i].astype(int) - single).max() <= 1
    np.testing.assert_allclose(rnd.std, rnd.pictures.astype(np.float32).std(0).mean(-1), rtol=1e-6)
    # Where the noise is off, nothing varies: zero strengths give a dark map.
    off = sr.variation(replace(req, noise_mode="random", noise_strength=(0.0,) * G.num_layers), 3)
    assert off.std.max() == 0


@pytest.mark.parametrize("variant", VARIANTS)
def test_style_mixing_matrix_has_headers_and_mixed_cells(sr, checkpoints, variant):
    G, req = setup(sr, checkpoints, variant)
    mix = tuple(1.0 if r <= 8 else 0.0 for r in G.ws_resolutions())  # the Coarse preset
    req = replace(req, mix=mix)
    rows, cols = [1, 2, 3], [10, 11]
    m = sr.matrix(req, rows, cols)
    assert m.tiles.shape == (4, 3, 16, 16, 3) and m.tiles[0, 0].max() == 0

    def close(tile, picture):
        assert np.abs(tile.astype(int) - picture).max() <= 1  # batched: allow float rounding

    for i, a in enumerate(rows):
        close(m.tiles[i + 1, 0], sr.render(replace(req, seed_a=a), slots=("a",))["a"].picture)
        for j, b in enumerate(cols):
            close(m.tiles[i + 1, j + 1], full_render(G, replace(req, seed_a=a, seed_b=b)))
    for j, b in enumerate(cols):
        close(m.tiles[0, j + 1], sr.render(replace(req, seed_b=b), slots=("b",))["b"].picture)
    # Tiles enlarged 8x (16 px -> 128 px) with make_grid's 2 px padding.
    assert m.picture.shape == (4 * 130 + 2, 3 * 130 + 2, 3)
    np.testing.assert_array_equal(m.picture[2 + 130:2 + 130 + 128:8, 2:2 + 128:8], m.tiles[1, 0])


def test_heat_colours_run_dark_to_bright():
    c = heat_colours(np.linspace(0, 1, 11))
    assert c.dtype == np.uint8 and c.shape == (11, 3)
    assert tuple(c[0]) == (0, 0, 4) and tuple(c[-1]) == (252, 255, 164)
    luminance = c.astype(float) @ [0.299, 0.587, 0.114]
    assert (np.diff(luminance) > 0).all()


@pytest.mark.parametrize("change, hint", [
    ({"mix": (0.5,)}, "give one mix weight for each"),
    ({"mix": (1.5,) * 6}, "Mix weights go from 0"),
    ({"noise_strength": (3.0,) * 5}, "Noise strengths go from 0 (off) to 2"),
    ({"noise_strength": (1.0,)}, "give one strength for each"),
    ({"truncation_cutoff": 9}, "0 to 6 for this model"),
    ({"seed_a": -1}, "Seed A must be a whole number"),
    ({"noise_mode": "loud"}, "noise_mode must be one of"),
])
def test_bad_requests_say_what_to_do(sr, checkpoints, change, hint):
    _, req = setup(sr, checkpoints, "modulated")
    with pytest.raises(RenderError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        sr.render(replace(req, **change))


def test_a_model_without_styles_is_refused(sr, checkpoints):
    with pytest.raises(RenderError, match="DCGAN model, which has no per-layer styles"):
        sr.render(StyleRequest(checkpoints["dcgan"], 1, 2))
    with pytest.raises(RenderError, match="2 to 16 renders"):
        sr.variation(StyleRequest(checkpoints["modulated"], 1, 2), 1)
    with pytest.raises(RenderError, match="1 to 8 A seeds"):
        sr.matrix(StyleRequest(checkpoints["modulated"], 1, 2), list(range(9)), [1])
