"""The StyleGAN tab: its handlers called directly, short training runs of both recipes opened in
it, then the launched app over HTTP with gradio_client, including the coarse-vs-fine check on a
model really trained on the procedural faces (the browser layer is in test_browser.py).
Fixtures: conftest.py (app_stylegan_*, app_faces_*).

Live pictures are enlarged server-side with nearest neighbour to about 64 px (16 px -> 4x; the page
enlarges them further in CSS), the variation strip and heat map to 128 and 256 px, as in the ProGAN
tab, so a tile's pixels are read back with [::factor, ::factor]."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest
import torch
from helpers import (FACES_RUN, TINY_NAME, TINY_STYLEGAN1_NAME, TINY_STYLEGAN_NAME, make_tiny_checkpoint,
                      make_tiny_stylegan_checkpoint, train_tiny_stylegan)
from gradio_client import Client
from PIL import Image

from explorer.edit.mixing import PRESETS, preset_weights
from explorer.images import read_recipe
from explorer.ui.app import build_app
from explorer.ui.services import Services
from explorer.ui.stylegan_tab import (EMPTY_TEXT, MAX_LAYERS, MAX_WS, Controls, apply_preset, matrix, random_seed,
                                      refresh, render, select_model, stylegan_models, variation)
from explorer.weights import read_meta

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
PAD = 2
F16 = 16  # display factor of a 16 px model


def controls(model=TINY_STYLEGAN_NAME, **kw) -> Controls:
    """What the page sends: MAX_WS mix values and MAX_LAYERS strengths, whatever the model."""
    kw.setdefault("mix", [0.0] * MAX_WS)
    kw.setdefault("strengths", [1.0] * MAX_LAYERS)
    kw.setdefault("cutoff", MAX_WS)
    return Controls(model, **{"seed_a": 3, "seed_b": 7, **kw})


def small(picture: np.ndarray, factor: int = F16) -> np.ndarray:
    """The model's pixels behind a nearest-enlarged picture (checks the blocks are constant)."""
    s = picture[::factor, ::factor]
    np.testing.assert_array_equal(picture, s.repeat(factor, 0).repeat(factor, 1))
    return s


def mad(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


@pytest.fixture
def own_services(tmp_path):
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    runs.mkdir(parents=True)
    make_tiny_checkpoint(weights / TINY_NAME)
    return Services(weights, runs, torch.device("cpu"))


# --- handlers -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [TINY_STYLEGAN_NAME, TINY_STYLEGAN1_NAME])
def test_render_shows_a_mix_and_b_with_their_times(app_stylegan_services, name):
    a, mix, b, info = render(app_stylegan_services, controls(name))
    for p in (a, mix, b):
        assert p.dtype == np.uint8 and p.shape == (64, 64, 3)
    np.testing.assert_array_equal(a, mix)  # every slider at 0: A's styles
    assert not np.array_equal(a, b)
    assert "16×16 px, shown enlarged" in info and info.count(" ms (") == 3 and "**A** (seed 3)" in info
    again = render(app_stylegan_services, controls(name, mix=[1.0] * MAX_WS))
    np.testing.assert_array_equal(again[1], b)  # every slider at 1: B's
    assert "**mix**" in again[3] and "**A** (seed 3): " in again[3] and "(cached)" in again[3]


def test_each_control_changes_the_picture(app_stylegan_services):
    base = render(app_stylegan_services, controls())[1]
    changes = [dict(seed_a=4), dict(mix=[0.0] * 4 + [1.0] + [0.0] * (MAX_WS - 5)), dict(psi=0.5),
               dict(psi=0.5, cutoff=2), dict(noise_mode="none"), dict(noise_mode="random", noise_seed=1),
               dict(strengths=[1.0] * 4 + [0.0] + [1.0] * (MAX_LAYERS - 5))]
    seen = {base.tobytes()}
    for kw in changes:
        seen.add(render(app_stylegan_services, controls(**kw))[1].tobytes())
    assert len(seen) == len(changes) + 1
    # Hidden sliders (beyond this model's 6 style inputs and 5 layers) change nothing.
    hidden = render(app_stylegan_services, controls(mix=[0.0] * 6 + [1.0] * 12, strengths=[1.0] * 5 + [0.0] * 13))
    np.testing.assert_array_equal(hidden[1], base)


def test_the_info_says_which_layers_were_run_again(app_stylegan_services):
    render(app_stylegan_services, controls(seed_a=30))
    info = render(app_stylegan_services, controls(seed_a=30, strengths=[1.0] * 4 + [0.5] + [1.0] * 13))[3]
    assert info.count("layers 5–5 of 5") == 3  # A, mix and B each re-ran only the last layer


@pytest.mark.parametrize("name, ws_res, noise_res", [
    (TINY_STYLEGAN_NAME, [4, 8, 8, 16, 16, 16], [4, 8, 8, 16, 16]),
    (TINY_STYLEGAN1_NAME, [4, 4, 8, 8, 16, 16], [4, 4, 8, 8, 16, 16]),
])
def test_select_shows_one_slider_per_style_input_and_layer(app_stylegan_services, name, ws_res, noise_res):
    updates = select_model(app_stylegan_services, name)
    *updates, class_a, class_b = updates  # an unconditional model: both class pickers hidden, with no classes
    assert [(u["visible"], u["choices"]) for u in (class_a, class_b)] == [(False, [])] * 2
    mix, noise, cutoff, presets = updates[:MAX_WS], updates[MAX_WS:MAX_WS + MAX_LAYERS], updates[-12], updates[-11:-6]
    assert [u["visible"] for u in mix] == [True] * len(ws_res) + [False] * (MAX_WS - len(ws_res))
    assert [u["label"] for u in mix[:len(ws_res)]] == [f"w{i} · {r}×{r}" for i, r in enumerate(ws_res)]
    assert [u["visible"] for u in noise] == [True] * len(noise_res) + [False] * (MAX_LAYERS - len(noise_res))
    labels = [f"layer {i + 1} · {r}×{r}" for i, r in enumerate(noise_res)]
    assert [u["label"] for u in noise[:len(noise_res)]] == labels
    assert cutoff["value"] == 6 and "maximum" not in cutoff and "6 style inputs" in cutoff["info"]
    # A 16 px model has no 64 px layers: Fine is greyed out, the others are live.
    assert [p["interactive"] for p in presets] == [p != "Fine" for p in PRESETS]
    # The A and B pickers: nothing projected into this model yet, so the seed alone.
    assert [u["value"] for u in updates[-6:-4]] == ["seed", "seed"]
    assert [u["choices"] for u in updates[-6:-4]] == [[("the seed", "seed")]] * 2
    # No input transform (StyleGAN3's) and noise inputs: the transform sliders and the no-noise note hidden.
    assert [u["visible"] for u in updates[-4:]] == [False] * 4


@pytest.mark.parametrize("preset", ["None", "Coarse", "Middle", "All"])
def test_presets_set_the_sliders_from_the_models_own_layers(app_stylegan_services, preset):
    out = apply_preset(app_stylegan_services, preset, controls(TINY_STYLEGAN1_NAME, mix=[0.3] * MAX_WS))
    values = [u["value"] for u in out[:MAX_WS]]
    expected = preset_weights(preset, [4, 4, 8, 8, 16, 16])
    assert values == expected + [0.0] * (MAX_WS - 6)
    a, mix, b, _ = out[MAX_WS:]
    np.testing.assert_array_equal(mix, render(app_stylegan_services, controls(TINY_STYLEGAN1_NAME, mix=values))[1])
    if preset == "None":
        np.testing.assert_array_equal(mix, a)
    elif preset == "All":
        np.testing.assert_array_equal(mix, b)
    else:
        assert not np.array_equal(mix, a) and not np.array_equal(mix, b)


def test_random_seed_buttons(app_stylegan_services):
    seed, picker, a, mix, b, info = random_seed(app_stylegan_services, "a", controls())
    assert picker == "seed"  # a random seed puts A back on the seed
    assert 0 <= seed < 100_000 and f"**A** (seed {seed})" in info
    np.testing.assert_array_equal(a, render(app_stylegan_services, controls(seed_a=seed))[0])
    seed_b, *_, info = random_seed(app_stylegan_services, "b", controls())
    assert f"**B** (seed {seed_b})" in info


def test_variation_handler(app_stylegan_services):
    strip, heat, info = variation(app_stylegan_services, controls(noise_seed=4), 6)
    # Six 16 px renders enlarged 8x (to 128 px), four to a row; the heat map at 256 px.
    assert strip.shape == (2 * 130 + PAD, 4 * 130 + PAD, 3) and heat.shape == (256, 256, 3)
    assert "6 renders in" in info and "ms each" in info and "seeds 4–9" in info
    assert small(heat).std() > 0  # a map, not one flat colour
    _, heat, info = variation(app_stylegan_services, controls(noise_mode="none"), 3)
    assert "Noise is off" in info and len(np.unique(heat.reshape(-1, 3), axis=0)) == 1


def test_matrix_png_carries_its_recipe(app_stylegan_services):
    shown, download, info = matrix(app_stylegan_services, controls(), "1-3", "5, 9", "Coarse")
    assert shown == download and shown.endswith(".png") and "style-matrix-tiny-stylegan2-coarse" in shown
    with Image.open(shown) as im:
        picture = np.asarray(im.convert("RGB"))
    assert picture.shape == (4 * 130 + PAD, 3 * 130 + PAD, 3)
    recipe = read_recipe(shown)
    assert recipe["kind"] == "style-mixing-matrix" and recipe["rows_seed_a"] == [1, 2, 3]
    assert recipe["cols_seed_b"] == [5, 9] and recipe["preset"] == "Coarse"
    assert recipe["mix"] == preset_weights("Coarse", [4, 8, 8, 16, 16, 16])
    assert "11 renders in" in info
    # Row 2 (A seed 2), column 2 (B seed 9) is that pair's Coarse mix, as the sliders would render it.
    cell = picture[PAD + 2 * 130:PAD + 2 * 130 + 128:8, PAD + 2 * 130:PAD + 2 * 130 + 128:8]
    mix = render(app_stylegan_services, controls(seed_a=2, seed_b=9, mix=recipe["mix"] + [0.0] * 12))[1]
    assert np.abs(cell.astype(int) - small(mix, 4)).max() <= 1  # live renders: 16 px shown 4x


@pytest.mark.parametrize("call, hint", [
    (lambda s: render(s, controls(None)), "No StyleGAN model is selected"),
    (lambda s: render(s, controls("no-such-model")), "no longer there; press Refresh list"),
    (lambda s: render(s, controls(TINY_NAME)), "is a DCGAN model, which has no per-layer styles"),
    (lambda s: render(s, controls(seed_a=None)), "Seed A must be a whole number"),
    (lambda s: render(s, controls(seed_b=1.5)), "Seed B must be a whole number"),
    (lambda s: render(s, controls(noise_mode="loud")), "Noise mode must be one of const, random, none"),
    (lambda s: render(s, controls(noise_seed=-3)), "Noise seed must be a whole number"),
    (lambda s: apply_preset(s, "Fine", controls()), "no fine style inputs (64 px and up); pick another preset"),
    (lambda s: apply_preset(s, "Wild", controls()), "Preset must be one of None, Coarse"),
    (lambda s: variation(s, controls(), 40), "Number of renders must be a whole number from 2 to 16"),
    (lambda s: matrix(s, controls(), "abc", "1", "Coarse"), "type whole numbers like 1-8, 42"),
    (lambda s: matrix(s, controls(), "1-20", "1", "Coarse"), "at most 8 at once"),
    (lambda s: select_model(s, TINY_NAME), "pick a StyleGAN model from the list"),
])
def test_bad_input_raises_an_error_that_says_what_to_do(app_stylegan_services, call, hint):
    with pytest.raises(gr.Error) as e:
        call(app_stylegan_services)
    assert hint in e.value.message


def test_refresh_lists_only_style_models(own_services):
    model_upd, empty_upd = refresh(own_services, None)
    assert model_upd["choices"] == [] and empty_upd["visible"] is True
    make_tiny_stylegan_checkpoint(own_services.runs_dir / "sg" / "snapshots" / "snapshot-000001")
    model_upd, empty_upd = refresh(own_services, None)
    assert model_upd["choices"] == ["run: sg"] and model_upd["value"] == "run: sg" and empty_upd["visible"] is False


def test_without_a_stylegan_model_the_tab_says_how_to_train_one_and_loads(own_services):
    demo = build_app(own_services)  # only a DCGAN in it
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["sg-empty"].visible is True and by_id["sg-empty"].value == EMPTY_TEXT
    assert ("python -m explorer.train --recipe stylegan2 --data faces --res 32 --kimg 200 --out runs/stylegan2-faces"
            in EMPTY_TEXT)
    assert by_id["sg-model"].choices == [] and by_id["sg-model"].value is None
    load = next(fn for fn in demo.fns.values() if getattr(fn.fn, "__qualname__", "").endswith("_refresh_open")
                and "stylegan" in fn.fn.__module__)
    model_upd, empty_upd, *rest = load.fn(None, 0, 1, *[0.0] * MAX_WS, 1.0, MAX_WS, "const", 0, *[1.0] * MAX_LAYERS)
    assert model_upd["choices"] == [] and empty_upd["visible"] is True
    assert all(isinstance(r, dict) and r.get("__type__") == "update" and len(r) == 1 for r in rest)  # gr.skip()


@pytest.mark.parametrize("recipe", ["stylegan", "stylegan2"])
def test_a_short_run_of_each_recipe_opens_in_the_tab(tmp_path, recipe):
    """Three ticks of a tiny run on the procedural faces; its newest snapshot is listed and opens."""
    run = train_tiny_stylegan(tmp_path / "runs" / f"{recipe}-faces", recipe, res=16, kimg=0.048, tick_kimg=0.016,
                              data_size=64)
    assert [r["tick"] for r in run.read_log()] == [1, 2, 3]
    snapshot = sorted(run.snapshots.glob("*.json"))[-1]
    assert read_meta(snapshot)["train"]["kimg"] == 0.048 and read_meta(snapshot)["train"]["recipe"] == recipe
    services = Services(tmp_path / "no-weights", tmp_path / "runs", torch.device("cpu"))
    name = f"run: {recipe}-faces"
    assert [m.name for m in stylegan_models(services)] == [name]
    updates = select_model(services, name)
    assert sum(u["visible"] for u in updates[:MAX_WS]) == 6
    a, mix, b, info = render(services, controls(name, mix=[1.0] * 2 + [0.0] * 16))
    assert ("StyleGAN2" if recipe == "stylegan2" else "StyleGAN,") in info and a.shape == (64, 64, 3)
    strip, heat, _ = variation(services, controls(name, noise_mode="random"), 4)
    shown, _, _ = matrix(services, controls(name), "0-1", "2-3", "Coarse")
    assert read_recipe(shown)["model"] == name


# --- the launched app over HTTP -------------------------------------------------------------


def png(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def args(model=TINY_STYLEGAN_NAME, seed_a=3, seed_b=7, mix=None, psi=1.0, cutoff=6, mode="const", noise_seed=0,
         strengths=None, latent_a="seed", latent_b="seed", tx=0.0, ty=0.0, rotate=0.0, class_a=0, class_b=0) -> list:
    """The style_render inputs in order, as the page sends them. The cutoff defaults to the tiny models'
    6 style inputs, which style_select sets."""
    return [model, seed_a, seed_b, *(list(mix or []) + [0.0] * MAX_WS)[:MAX_WS], psi, cutoff, mode, noise_seed,
            *(list(strengths or []) + [1.0] * MAX_LAYERS)[:MAX_LAYERS], latent_a, latent_b, tx, ty, rotate, class_a,
            class_b]


@pytest.fixture(scope="module")
def client(app_stylegan_server, tmp_path_factory):
    return Client(app_stylegan_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("client")))


def test_client_render_matches_the_handler(client, app_stylegan_services):
    a, mix, b, info = client.predict(*args(mix=[1.0] * 2), api_name="/style_render")
    expected = render(app_stylegan_services, controls(mix=[1.0] * 2 + [0.0] * 16))
    for path, picture in zip((a, mix, b), expected[:3]):
        np.testing.assert_array_equal(png(path), picture)
    assert "StyleGAN2, 16×16 px" in info


def test_a_smaller_model_opened_still_takes_the_last_model_s_cutoff(app_stylegan_server, app_stylegan_services,
                                                                     tmp_path):
    """The page may send a larger model's cutoff after a smaller one opened (the picker fires its input twice,
    or a drag starts while it opens): it means every style input, and is drawn, not refused."""
    fresh = Client(app_stylegan_server.url, verbose=False, download_files=str(tmp_path))  # its own Shown record
    fresh.predict(*args(cutoff=18), api_name="/style_select")
    a, mix, b, info = fresh.predict(*args(psi=0.5, cutoff=18), api_name="/style_render")
    expected = render(app_stylegan_services, controls(psi=0.5, cutoff=None))
    for path, picture in zip((a, mix, b), expected[:3]):
        np.testing.assert_array_equal(png(path), picture)


def test_client_preset_select_variation_and_matrix(client):
    *sliders, a, mix, b, info = client.predict("Coarse", *args(), api_name="/style_preset")
    assert [s["value"] for s in sliders[:6]] == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    assert not np.array_equal(png(mix), png(a))
    out = client.predict(*args(TINY_STYLEGAN1_NAME), api_name="/style_select")
    assert out[5]["visible"] is True and out[6]["visible"] is False and "16×16 px" in out[-1]
    strip, heat, info = client.predict(*args(mode="random"), 5, api_name="/style_variation")
    assert png(heat).shape == (256, 256, 3) and "5 renders in" in info
    shown, download, info = client.predict(*args(), "1-2", "3-5", "Middle", api_name="/style_matrix")
    assert png(shown).shape == (3 * 130 + PAD, 4 * 130 + PAD, 3) and read_recipe(download)["preset"] == "Middle"
    seed, *_ = client.predict(*args(), api_name="/style_random_b")
    assert 0 <= seed < 100_000


def test_a_drag_sends_only_the_pictures_that_changed(app_stylegan_server, tmp_path):
    """Dragging a mix slider changes the mix, not A or B: the session already shows those, so they
    come back as updates without a value (the page keeps them) and only the mix is sent. Whatever
    else draws A or B (a random seed here) is recorded too, so nothing stale is ever kept."""
    c = Client(app_stylegan_server.url, verbose=False, download_files=str(tmp_path))
    kept = {"__type__": "update"}
    a, mix1, b, _ = c.predict(*args(mix=[0.5]), api_name="/style_render")
    a, b = png(a), png(b)
    skipped_a, mix2, skipped_b, info = c.predict(*args(mix=[0.9]), api_name="/style_render")
    assert skipped_a == kept and skipped_b == kept and "StyleGAN2" in info
    assert not np.array_equal(png(mix2), png(mix1))
    a_psi, _, b_psi, _ = c.predict(*args(mix=[0.9], psi=0.5), api_name="/style_render")  # ψ changes all three
    assert not np.array_equal(png(a_psi), a) and not np.array_equal(png(b_psi), b)
    seed, _, new_a, _, _, _ = c.predict(*args(mix=[0.9], psi=0.5), api_name="/style_random_a")
    assert seed != 3 and not np.array_equal(png(new_a), png(a_psi))
    # Back to seed 3: the page shows the random seed's picture now, so seed 3's is sent again.
    back_a, _, kept_b, _ = c.predict(*args(mix=[0.9], psi=0.5), api_name="/style_render")
    np.testing.assert_array_equal(png(back_a), png(a_psi))
    assert kept_b == kept


def test_client_sees_the_error_sentence(client):
    with pytest.raises(Exception, match="is a DCGAN model, which has no per-layer styles"):
        client.predict(*args(TINY_NAME), api_name="/style_render")
    with pytest.raises(Exception, match="greater than maximum value 2"):
        client.predict(*args(strengths=[2.5]), api_name="/style_render")


def test_client_fine_preset_changes_a_trained_faces_model_less_than_coarse(app_faces_server, tmp_path):
    """On a 64 px StyleGAN2 trained 1 kimg on the procedural faces, taking B's fine styles (64 px)
    moves the picture less from A's than taking B's coarse ones (4-8 px), for every pair tried.
    Measured over 20 pairs and 3 training seeds, the coarse/fine ratio was 2.2-4.9 per pair (and
    already 1.1-2.2 for the untrained StyleGAN2; the AdaIN StyleGAN at 1 kimg did *not* show it)."""
    c = Client(app_faces_server.url, verbose=False, download_files=str(tmp_path))
    name = f"run: {FACES_RUN}"
    for seed_a, seed_b in ((0, 100), (1, 101), (2, 102)):
        base = args(name, seed_a, seed_b, cutoff=10)
        *_, a, coarse, b, info = c.predict("Coarse", *base, api_name="/style_preset")
        *_, a2, fine, _, _ = c.predict("Fine", *base, api_name="/style_preset")
        assert "StyleGAN2, 64×64 px" in info
        a, coarse, fine = png(a), png(coarse), png(fine)
        np.testing.assert_array_equal(png(a2), a)
        d_coarse, d_fine = mad(coarse, a), mad(fine, a)
        assert 0 < d_fine < d_coarse, (seed_a, seed_b, d_fine, d_coarse)
