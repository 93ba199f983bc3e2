"""The ProGAN tab: its handlers called directly, then the launched app over HTTP with
gradio_client (the browser layer is in test_browser.py). Fixtures: conftest.py (app_progan_*).

Live pictures come enlarged server-side with nearest neighbour to 64 px per image (LIVE_PX; the
page enlarges them further in CSS), the growth strip to 256 px (DISPLAY_PX), so a stage-s image
(r = 4*2^s pixels) arrives as constant blocks: the tests read the resolution back from that block
structure."""

from __future__ import annotations

import math

import gradio as gr
import numpy as np
import pytest
import torch
from helpers import TINY_NAME, TINY_PROGAN_NAME, make_tiny_checkpoint, make_tiny_progan_checkpoint
from gradio_client import Client
from PIL import Image

from explorer.images import read_recipe
from explorer.render import DISPLAY_PX, LIVE_PX
from explorer.ui.app import build_app
from explorer.ui.progan_tab import interpolate, refresh, render, select_model, strip
from explorer.ui.services import Services

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
PAD = 2             # explorer.images.make_grid's padding
TRAINED_STAGE = 3   # make_tiny_progan_checkpoint's default: 32x32


def res(stage: int) -> int:
    return 4 * 2**stage


def tile(picture: np.ndarray, i: int, n: int, size: int = LIVE_PX, cols: int | None = None) -> np.ndarray:
    """Image i of a make_grid of n enlarged images."""
    r, k = divmod(i, cols or math.ceil(math.sqrt(n)))
    y, x = PAD + r * (size + PAD), PAD + k * (size + PAD)
    return picture[y:y + size, x:x + size]


def unblock(t: np.ndarray, pixels: int) -> np.ndarray:
    """The pixels x pixels picture behind an enlarged tile; fails unless the tile is made of constant
    blocks and the picture really has that resolution (it is not made of 2x2 blocks itself)."""
    f = t.shape[0] // pixels
    assert t.shape[0] == t.shape[1] == pixels * f
    small = t[::f, ::f]
    np.testing.assert_array_equal(t, small.repeat(f, axis=0).repeat(f, axis=1))
    if pixels > 4:
        coarser = small[::2, ::2].repeat(2, axis=0).repeat(2, axis=1)
        assert not np.array_equal(small, coarser), f"a {pixels}px picture with only {pixels // 2}px of detail"
    return small


@pytest.fixture
def own_services(tmp_path):
    """Services over a folder this test alone may change."""
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    runs.mkdir(parents=True)
    make_tiny_checkpoint(weights / TINY_NAME)
    return Services(weights, runs, torch.device("cpu"))


# --- handlers -----------------------------------------------------------------------------


@pytest.mark.parametrize("stage", range(TRAINED_STAGE + 1))
def test_render_at_each_stage_has_its_resolution(app_progan_services, stage):
    picture, info = render(app_progan_services, TINY_PROGAN_NAME, "0-3", stage, 1.0)
    assert picture.dtype == np.uint8 and picture.shape == (2 * (LIVE_PX + PAD) + PAD,) * 2 + (3,)
    r = res(stage)
    assert f"Stage {stage}: {r}×{r} pixels" in info and "enlarged" in info and "4 images" in info
    path = app_progan_services.find_model(TINY_PROGAN_NAME).path
    raw = app_progan_services.renderer.render_stage(path, (0, 1, 2, 3), stage, 1.0)  # before enlargement
    assert raw.shape == (4, r, r, 3)
    for i in range(4):
        np.testing.assert_array_equal(unblock(tile(picture, i, 4), r), raw[i])
    assert len({tile(picture, i, 4).tobytes() for i in range(4)}) == 4  # seeds differ


def test_alpha_zero_and_one_differ_above_the_first_stage(app_progan_services):
    a0, info0 = render(app_progan_services, TINY_PROGAN_NAME, "0-3", 2, 0.0)
    a1, info1 = render(app_progan_services, TINY_PROGAN_NAME, "0-3", 2, 1.0)
    half, _ = render(app_progan_services, TINY_PROGAN_NAME, "0-3", 2, 0.5)
    assert "alpha 0.00" in info0 and "alpha 1.00" in info1
    assert not np.array_equal(a0, a1) and not np.array_equal(half, a0) and not np.array_equal(half, a1)
    # At 4x4 there is nothing to fade in: alpha changes nothing, and the info says so.
    s0, info = render(app_progan_services, TINY_PROGAN_NAME, "0-3", 0, 0.0)
    np.testing.assert_array_equal(s0, render(app_progan_services, TINY_PROGAN_NAME, "0-3", 0, 1.0)[0])
    assert "no effect at 4×4" in info


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_alpha_zero_is_the_previous_stage_enlarged(app_progan_services, stage):
    """alpha = 0 is the old path: stage s-1's picture, upsampled 2x by nearest neighbour. Both are
    shown at the same 64 px, so the two pictures are identical to the byte."""
    fading, _ = render(app_progan_services, TINY_PROGAN_NAME, "0-3", stage, 0.0)
    previous, _ = render(app_progan_services, TINY_PROGAN_NAME, "0-3", stage - 1, 1.0)
    np.testing.assert_array_equal(fading, previous)
    for i in range(4):  # and seen at stage s's resolution, it is made of 2x2 blocks
        small = tile(fading, i, 4)[::LIVE_PX // res(stage), ::LIVE_PX // res(stage)]
        np.testing.assert_array_equal(small, small[::2, ::2].repeat(2, axis=0).repeat(2, axis=1))


def test_growth_strip_has_a_panel_per_trained_stage_and_carries_its_recipe(app_progan_services):
    shown, path = strip(app_progan_services, TINY_PROGAN_NAME, 7)
    assert shown == path and path.endswith(".png") and "growth-strip-tiny-progan-seed7" in path
    with Image.open(path) as im:
        assert im.format == "PNG"
        picture = np.asarray(im.convert("RGB"))
    n = TRAINED_STAGE + 1
    assert picture.shape == (DISPLAY_PX + 2 * PAD, n * (DISPLAY_PX + PAD) + PAD, 3)
    for s in range(n):
        expected, _ = render(app_progan_services, TINY_PROGAN_NAME, "7", s, 1.0)
        panel = tile(picture, s, n, DISPLAY_PX, cols=n)
        np.testing.assert_array_equal(unblock(panel, res(s)), unblock(tile(expected, 0, 1), res(s)))
    assert read_recipe(path) == {"model": TINY_PROGAN_NAME, "seed": 7, "stages": [0, 1, 2, 3],
                                 "kind": "growth-strip", "resolutions": [4, 8, 16, 32]}


def test_a_model_trained_to_stage_2_mid_fade(own_services):
    """A snapshot taken while 16x16 was fading in (alpha 0.25): the sliders, the stage limit and
    the strip all follow what that model was trained to, not what its architecture could do."""
    make_tiny_progan_checkpoint(own_services.weights_dir / "half", seed=1, stage=2, alpha=0.25)
    stage_upd, alpha_upd = select_model(own_services, "half")
    assert stage_upd["maximum"] == 2 and stage_upd["value"] == 2 and stage_upd["interactive"] is True
    assert "0 = 4×4, 1 = 8×8, 2 = 16×16" in stage_upd["info"] and "32×32" not in stage_upd["info"]
    assert alpha_upd["value"] == 0.25
    with pytest.raises(gr.Error, match="trained up to stage 2 \\(16×16\\); pick a stage from 0 to 2"):
        render(own_services, "half", "1", 3, 1.0)
    path, _ = strip(own_services, "half", 3)
    with Image.open(path) as im:
        picture = np.asarray(im.convert("RGB"))
    assert picture.shape[1] == 3 * (DISPLAY_PX + PAD) + PAD
    assert read_recipe(path)["stages"] == [0, 1, 2]
    last = tile(picture, 2, 3, DISPLAY_PX, cols=3)  # the trained stage at the alpha it reached
    np.testing.assert_array_equal(unblock(last, 16), unblock(tile(render(own_services, "half", "3", 2, 0.25)[0], 0, 1), 16))

    make_tiny_progan_checkpoint(own_services.weights_dir / "seedling", stage=0)
    stage_upd, _ = select_model(own_services, "seedling")
    assert stage_upd["value"] == 0 and stage_upd["interactive"] is False  # nothing to slide


@pytest.mark.parametrize("mode", ["linear", "spherical"])
def test_interpolation_ends_are_the_seeds_images(app_progan_services, mode):
    def seed_image(seed):
        return render(app_progan_services, TINY_PROGAN_NAME, str(seed), TRAINED_STAGE, 1.0)[0]

    at0, info = interpolate(app_progan_services, TINY_PROGAN_NAME, 5, 9, 0.0, mode)
    at1, _ = interpolate(app_progan_services, TINY_PROGAN_NAME, 5, 9, 1.0, mode)
    mid, _ = interpolate(app_progan_services, TINY_PROGAN_NAME, 5, 9, 0.5, mode)
    np.testing.assert_array_equal(at0, seed_image(5))
    np.testing.assert_array_equal(at1, seed_image(9))
    assert not np.array_equal(mid, at0) and not np.array_equal(mid, at1)
    assert f"from seed 5 to seed 9, {mode}" in info and "32×32" in info
    unblock(tile(mid, 0, 1), 32)


def test_linear_and_spherical_paths_differ_mid_way(app_progan_services):
    lin, _ = interpolate(app_progan_services, TINY_PROGAN_NAME, 5, 9, 0.3, "linear")
    sph, _ = interpolate(app_progan_services, TINY_PROGAN_NAME, 5, 9, 0.3, "spherical")
    assert not np.array_equal(lin, sph)


@pytest.mark.parametrize("call, hint", [
    (lambda s: render(s, None, "1", 1, 1.0), "No ProGAN model is selected"),
    (lambda s: render(s, "no-such-model", "1", 1, 1.0), "no longer there; press Refresh list"),
    (lambda s: render(s, TINY_NAME, "1", 1, 1.0), "is a DCGAN model, which does not grow"),
    (lambda s: render(s, TINY_PROGAN_NAME, "abc", 1, 1.0), "type whole numbers like 1-8, 42"),
    (lambda s: render(s, TINY_PROGAN_NAME, "0-20", 1, 1.0), "at most 16 at once"),
    (lambda s: render(s, TINY_PROGAN_NAME, "1", 1.5, 1.0), "Stage must be a whole number"),
    (lambda s: render(s, TINY_PROGAN_NAME, "1", 4, 1.0), "pick a stage from 0 to 3"),
    (lambda s: render(s, TINY_PROGAN_NAME, "1", 1, 1.5), "alpha goes from 0"),
    (lambda s: strip(s, TINY_PROGAN_NAME, None), "Seed must be a whole number"),
    (lambda s: strip(s, TINY_NAME, 1), "pick a ProGAN model"),
    (lambda s: interpolate(s, TINY_PROGAN_NAME, -1, 2, 0.5, "linear"), "Seed A must be a whole number"),
    (lambda s: interpolate(s, TINY_PROGAN_NAME, 1, 2, 0.5, "cubic"), "Mode must be one of linear, spherical"),
    (lambda s: select_model(s, TINY_NAME), "pick a ProGAN model"),
])
def test_bad_input_raises_an_error_that_says_what_to_do(app_progan_services, call, hint):
    with pytest.raises(gr.Error) as e:
        call(app_progan_services)
    assert hint in e.value.message


def test_refresh_lists_only_progressive_models(own_services):
    model_upd, empty_upd = refresh(own_services, None)
    assert model_upd["choices"] == [] and model_upd["value"] is None and empty_upd["visible"] is True
    make_tiny_progan_checkpoint(own_services.runs_dir / "pg" / "snapshots" / "snapshot-000001")
    model_upd, empty_upd = refresh(own_services, None)
    assert model_upd["choices"] == ["run: pg"] and model_upd["value"] == "run: pg"
    assert empty_upd["visible"] is False


def test_without_a_progan_model_the_tab_says_how_to_train_one_and_loads(own_services):
    demo = build_app(own_services)  # only a DCGAN in it
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["pg-empty"].visible is True
    assert ("python -m explorer.train --recipe progan --data faces --res 32 --kimg 200 --out runs/progan-faces"
            in by_id["pg-empty"].value)
    assert by_id["pg-model"].choices == [] and by_id["pg-model"].value is None
    # The page-load handler leaves everything as it is instead of raising.
    load = next(fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "_refresh_open")
    model_upd, empty_upd, *rest = load.fn(None, "0-3", 0, 0, 1, 0.5, "spherical")
    assert model_upd["choices"] == [] and empty_upd["visible"] is True
    assert all(isinstance(r, dict) and r.get("__type__") == "update" and len(r) == 1 for r in rest)  # gr.skip()


# --- the launched app over HTTP -------------------------------------------------------------


@pytest.fixture(scope="module")
def client(app_progan_server, tmp_path_factory):
    return Client(app_progan_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("client")))


def png(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_client_alpha_zero_and_one_differ(client):
    a0, _ = client.predict(TINY_PROGAN_NAME, "0-3", 2, 0.0, api_name="/progan_render")
    a1, info = client.predict(TINY_PROGAN_NAME, "0-3", 2, 1.0, api_name="/progan_render")
    assert not np.array_equal(png(a0), png(a1)) and "16×16" in info


def test_client_every_stage_has_its_resolution(client, app_progan_services):
    for stage in range(TRAINED_STAGE + 1):
        path, info = client.predict(TINY_PROGAN_NAME, "3", stage, 1.0, api_name="/progan_render")
        picture = png(path)
        assert picture.shape == (LIVE_PX + 2 * PAD,) * 2 + (3,)
        unblock(tile(picture, 0, 1), res(stage))
        assert f"{res(stage)}×{res(stage)} pixels" in info
        np.testing.assert_array_equal(picture, render(app_progan_services, TINY_PROGAN_NAME, "3", stage, 1.0)[0])


def test_client_growth_strip_downloads_with_its_recipe(client):
    shown, download = client.predict(TINY_PROGAN_NAME, 4, api_name="/progan_strip")
    for path in (shown, download):
        assert png(path).shape == (DISPLAY_PX + 2 * PAD, 4 * (DISPLAY_PX + PAD) + PAD, 3)
        assert read_recipe(path)["kind"] == "growth-strip" and read_recipe(path)["seed"] == 4


def test_client_interpolation_ends(client):
    seed_a, _ = client.predict(TINY_PROGAN_NAME, "5", TRAINED_STAGE, 1.0, api_name="/progan_render")
    at0, _ = client.predict(TINY_PROGAN_NAME, 5, 9, 0.0, "spherical", api_name="/progan_interp")
    at1, info = client.predict(TINY_PROGAN_NAME, 5, 9, 1.0, "spherical", api_name="/progan_interp")
    np.testing.assert_array_equal(png(at0), png(seed_a))
    assert not np.array_equal(png(at1), png(seed_a)) and "t = 1.00" in info


def test_client_select_sets_the_stage_slider_to_the_trained_stage(client):
    stage, alpha, picture, info, *_ = client.predict(TINY_PROGAN_NAME, "0-3", 0, 0, 1, 0.5, "spherical",
                                                     api_name="/progan_select")
    # Updates come back as they were sent: the slider's new range and value.
    assert stage["maximum"] == stage["value"] == TRAINED_STAGE and alpha["value"] == 1.0
    assert "Stage 3: 32×32" in info and png(picture).shape == (2 * (LIVE_PX + PAD) + PAD,) * 2 + (3,)


def test_client_sees_the_error_sentence(client):
    with pytest.raises(Exception, match="is a DCGAN model, which does not grow"):
        client.predict(TINY_NAME, "0-3", 1, 1.0, api_name="/progan_render")


def test_client_generate_tab_still_renders_both_families(client):
    path, info = client.predict(TINY_PROGAN_NAME, "1-4", 1.0, api_name="/generate")
    assert png(path).shape == (2 * (32 + PAD) + PAD,) * 2 + (3,)  # the trained stage: 32x32
    assert "PROGAN" in info and "4 images" in info
    path, info = client.predict(TINY_NAME, "1-4", 1.0, api_name="/generate")
    assert png(path).shape == (2 * (16 + PAD) + PAD,) * 2 + (3,) and "DCGAN" in info
