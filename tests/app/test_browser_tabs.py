"""Every tab in a real browser (Debian's Chromium driven by PyPI playwright), one app over tiny
models of each family: each tab opens; a direction found in the Edit tab is applied by dragging its
strength slider with the mouse, and the Interpolate tab's frame slider is dragged, each showing the
handler's own picture for the slider's final value; a PNG saved by "Save image + recipe" loads back
into the same image; a tiny training run starts, its live grid updates, and Stop stops it.
(The README's screenshots are taken by tests/docs/test_readme_assets.py, over the shipped models.)"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from helpers import require_chromium

require_chromium()  # skipped without Chromium on a developer's machine; a failure where CI is set

import torch  # noqa: E402
from helpers import (TINY_CLASSES, TINY_CONDITIONAL_NAME, TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN3_NAME, TINY_STYLEGAN_NAME, AppDirs,  # noqa: E402
                      launch_training_app, make_tiny_checkpoint, make_tiny_progan_checkpoint,
                      make_tiny_stylegan3_checkpoint, make_tiny_stylegan_checkpoint)
from PIL import Image  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from helpers.browser import drag, pick, picture, wait_for_grid, wait_for_picture  # noqa: E402

from explorer.edit.directions import MAX_STRENGTH  # noqa: E402
from explorer.ui import edit_tab, interp_tab  # noqa: E402
from explorer.ui.edit_tab import NONE, SLOTS  # noqa: E402
from explorer.ui.services import Services  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

DIRECTION = "browser-means"   # found in the Edit tab by difference of means, seeds 0-7 -> 8-15
TRAIN_TIMEOUT_MS = 60_000     # a job process starting (torch import) on a loaded machine


@pytest.fixture(scope="module")
def tabs_app(tmp_path_factory):
    """The app over its own folders: a DCGAN (first in the lists), a ProGAN and a StyleGAN2; live
    sample grids every 0.5 s. Yields (LaunchedApp, Services over the same folders)."""
    root = tmp_path_factory.mktemp("app-tabs")
    dirs = AppDirs(root / "weights", root / "runs")
    dirs.weights.mkdir()
    dirs.runs.mkdir()
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    make_tiny_progan_checkpoint(dirs.weights / TINY_PROGAN_NAME)
    make_tiny_stylegan_checkpoint(dirs.weights / TINY_STYLEGAN_NAME, "modulated")
    make_tiny_stylegan3_checkpoint(dirs.weights / TINY_STYLEGAN3_NAME, "t", seed=2)
    make_tiny_stylegan_checkpoint(dirs.weights / TINY_CONDITIONAL_NAME, classes=TINY_CLASSES, seed=3)
    app_gen = launch_training_app(dirs)
    yield next(app_gen), Services(dirs.weights, dirs.runs, torch.device("cpu"))
    app_gen.close()


TABS = {"Generate": "#gen-grid", "ProGAN": "#pg-stage", "StyleGAN": "#sg-mix", "Edit": "#ed-find",
        "Interpolate": "#ip-frame", "Project": "#pj-start", "Inspect": "#in-layer", "Playground": "#pl-play",
        "Train": "#tr-start", "Metrics": "#mt-button"}


def test_every_tab_opens_with_its_controls(page, tabs_app):
    app, _ = tabs_app
    page.goto(app.url)
    wait_for_grid(page)
    for name, known in TABS.items():
        page.get_by_role("tab", name=name).click()
        expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
        expect(page.locator(known)).to_be_visible()
        for other, elem in TABS.items():  # the other tabs' controls are hidden
            if other != name and other != "Generate":
                expect(page.locator(elem)).to_be_hidden()
    # The families' own tabs opened their models on page load.
    page.get_by_role("tab", name="ProGAN").click()
    expect(page.locator("#pg-info")).to_contain_text("Stage 3: 32×32 pixels")
    page.get_by_role("tab", name="StyleGAN").click()
    expect(page.locator("#sg-info")).to_contain_text("16×16 px")


def _first(services) -> str:
    """The model the Edit and Interpolate tabs open on page load: here, with no shipped faces StyleGAN2 and
    no directions saved yet, the first in the list."""
    return edit_tab.default_model(services.models())


def _edit_slots(services, strength: float) -> list:
    span = edit_tab.open_model(services, _first(services))[2]["value"]
    slots = [DIRECTION, strength, span]
    for _ in range(SLOTS - 1):
        slots += [NONE, 0.0, span]
    return slots


def test_edit_drag_a_direction_and_load_its_recipe(page, tabs_app, tmp_path):
    app, services = tabs_app
    model = _first(services)

    def expected(strength: float) -> np.ndarray:
        return edit_tab.render(services, model, 0, 1.0, *_edit_slots(services, strength))[1]

    edited = "#ed-edited img"
    page.goto(app.url)
    page.get_by_role("tab", name="Edit").click()
    src0 = wait_for_grid(page, None, edited)  # the page load opens the first model, no edit applied
    expect(page.locator("#ed-model input")).to_have_value(model)

    # Find a direction through the UI: difference of means from seeds 0-7 to 8-15, saved beside the model.
    page.locator("#ed-method").get_by_text("Difference of means").click()
    page.locator("#ed-name input, #ed-name textarea").fill(DIRECTION)
    page.locator("#ed-find").click()
    expect(page.locator("#ed-found")).to_contain_text(DIRECTION)
    assert (app.dirs.weights / f"{model}.directions").is_dir()
    # Slot 1 had no direction: the one just found is put there, so its strength is ready to drag.
    expect(page.locator("#ed-dir0 input")).to_have_value(DIRECTION)

    pick(page, "ed-dir0", DIRECTION)
    # Drag the strength from the middle (0) to three quarters of the track: the last render shows the final value.
    strength = drag(page, "ed-strength0", 0.5, 0.75)
    assert 0 < strength < MAX_STRENGTH
    src1 = wait_for_picture(page, expected(strength), src0, edited)
    assert not np.array_equal(picture(page, src1), picture(page, src0))
    expect(page.locator("#ed-info")).to_contain_text("1 direction applied")

    # Save image + recipe, then load the PNG on a fresh page: the same slider value and the same picture.
    page.locator("#ed-recipe-save").click()
    link = page.locator("#ed-recipe-files a[href*='.png']").first
    expect(link).to_be_attached()
    resp = page.request.get(link.get_attribute("href"))
    assert resp.ok
    png = tmp_path / "edit-recipe.png"
    png.write_bytes(resp.body())
    with Image.open(png) as im:
        saved = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(saved, picture(page, src1))

    page.reload()
    page.get_by_role("tab", name="Edit").click()
    src2 = wait_for_grid(page, None, edited)
    np.testing.assert_array_equal(picture(page, src2), expected(0.0))
    expect(page.locator("#ed-dir0 input")).to_have_value(DIRECTION)  # the model's saved direction, at 0
    with page.expect_file_chooser() as chooser:  # the Load recipe button opens the file dialog
        page.locator("#ed-recipe-load").click()
    chooser.value.set_files(str(png))
    expect(page.locator("#ed-recipe-message")).to_contain_text(f"Loaded the recipe for {model}")
    wait_for_picture(page, saved, src2, edited)
    expect(page.locator("#ed-strength0 input[type=range]")).to_have_value(f"{strength:g}")
    expect(page.locator("#ed-dir0 input")).to_have_value(DIRECTION)


def test_interpolate_drag_the_frame_slider(page, tabs_app):
    app, services = tabs_app
    model = _first(services)

    def expected(frame: int) -> np.ndarray:  # a direction chosen at strength 0 leaves the path as it is
        return interp_tab.preview(services, model, "Keyframes", "0, 1, 2", "w", "spherical", 48, 1.0, NONE, 0.0,
                                  frame)[0]

    shown = "#ip-picture img"
    page.goto(app.url)
    page.get_by_role("tab", name="Interpolate").click()
    src0 = wait_for_picture(page, expected(0), None, shown)
    expect(page.locator("#ip-info")).to_contain_text("Frame 1 of 48")

    frame = drag(page, "ip-frame", 0.02, 0.6)
    assert frame == int(frame) and 10 <= frame <= 40, frame
    src1 = wait_for_picture(page, expected(int(frame)), src0, shown)
    expect(page.locator("#ip-info")).to_contain_text(f"Frame {int(frame) + 1} of 48")
    assert not np.array_equal(picture(page, src1), picture(page, src0))


def test_stylegan3_drag_translate_and_rotate(page, tabs_app):
    """A StyleGAN3 in the StyleGAN tab: the transform sliders show (the noise ones do not, a sentence does), and
    dragging translate x, then rotate, shows the handler's own picture for the final values."""
    from explorer.ui.stylegan_handlers import MAX_LAYERS, MAX_WS, Controls, render

    app, services = tabs_app

    def expected(**kw) -> np.ndarray:
        c = Controls(TINY_STYLEGAN3_NAME, 0, 1, [0.0] * MAX_WS, 1.0, None, "const", 0, [1.0] * MAX_LAYERS, **kw)
        return render(services, c)[0]

    page.goto(app.url)
    page.get_by_role("tab", name="StyleGAN").click()
    src0 = wait_for_grid(page, None, "#sg-a img")
    pick(page, "sg-model", TINY_STYLEGAN3_NAME)
    expect(page.locator("#sg-info")).to_contain_text("StyleGAN3-T")
    src1 = wait_for_picture(page, expected(), src0, "#sg-a img")
    expect(page.locator("#sg-tx")).to_be_visible()
    expect(page.locator("#sg-noise0")).to_be_hidden()
    tx = drag(page, "sg-tx", 0.5, 0.7)
    assert tx != 0
    src2 = wait_for_picture(page, expected(translate_x=tx), src1, "#sg-a img")
    rot = drag(page, "sg-rotate", 0.5, 0.65)
    assert rot != 0
    wait_for_picture(page, expected(translate_x=tx, rotate=rot), src2, "#sg-a img")
    expect(page.locator("#sg-info")).to_contain_text(f"input moved ({tx:g}, 0), {rot:g}°")


def test_project_upload_watch_and_open_in_edit(page, tabs_app, tmp_path):
    """A person's picture: uploaded, projected while the page watches, then opened in the Edit tab, whose
    original is the projection's reconstruction, as the handler renders it."""
    app, services = tabs_app
    photo = tmp_path / "My Photo.png"
    rng = np.random.RandomState(7)
    Image.fromarray(np.kron(rng.randint(0, 255, (4, 6, 3)), np.ones((8, 8, 1))).astype(np.uint8)).save(photo)
    page.goto(app.url)
    page.get_by_role("tab", name="Project").click()
    pick(page, "pj-model", TINY_STYLEGAN_NAME)
    expect(page.locator("#pj-model-info")).to_contain_text("w+ or w")
    page.locator("#pj-upload input[type=file]").set_input_files(str(photo))
    expect(page.locator("#pj-notes")).to_contain_text("centre 32 × 32")
    expect(page.locator("#pj-name input, #pj-name textarea")).to_have_value("my-photo")
    steps = page.locator("#pj-steps input[type=number]")
    steps.fill("60")
    steps.press("Enter")
    page.locator("#pj-start").click()
    expect(page.locator("#pj-status")).to_contain_text("Done", timeout=60_000)
    expect(page.locator("#pj-status")).to_contain_text("@my-photo")
    expect(page.locator("#pj-recon img")).to_be_visible()
    expect(page.locator("#pj-saved input")).to_have_value("@my-photo (w+)")
    page.locator("#pj-open-edit").click()
    expect(page.get_by_role("tab", name="Edit")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#ed-model input")).to_have_value(TINY_STYLEGAN_NAME)
    expect(page.locator("#ed-info")).to_contain_text("@my-photo")
    from explorer.ui import edit_handlers
    span = edit_tab.open_model(services, TINY_STYLEGAN_NAME)[2]["value"]
    slots = [NONE, 0.0, span] * SLOTS
    expected = edit_handlers.render(services, TINY_STYLEGAN_NAME, 0, 1.0, *slots, "@my-photo")[0]
    src = page.locator("#ed-original img").get_attribute("src")
    np.testing.assert_array_equal(picture(page, src), expected)


def test_train_start_watch_the_grid_and_stop(page, tabs_app):
    app, _ = tabs_app
    page.goto(app.url)
    page.get_by_role("tab", name="Train").click()
    # A tiny DCGAN on MNIST at 16 px, a tick every 0.5 kimg, long enough to be stopped.
    expect(page.locator("#tr-recipe input")).to_have_value("dcgan")
    page.locator("#tr-data").get_by_text("mnist", exact=True).click()
    for elem, value in (("tr-res", "16"), ("tr-kimg", "500"), ("tr-batch", "16")):
        page.locator(f"#{elem} input").fill(value)
    page.locator("#tr-device").get_by_text("cpu", exact=True).click()
    page.locator("#tr-name input, #tr-name textarea").fill("browser")
    page.get_by_text("Advanced: the recipe's own options").click()
    page.locator("#tr-arch textarea, #tr-arch input").fill("ngf=8, ndf=8, z_dim=16")
    for opt, value in (("tick_kimg", "0.5"), ("snapshot_ticks", "2"), ("sample_ticks", "100"),
                       ("num_samples", "16")):
        page.locator(f"#tr-opt-{opt} input, #tr-opt-{opt} textarea").fill(value)
    # Before any job: neither Stop, Resume nor Open in explorer can act, so none can be pressed.
    for button in ("#tr-stop", "#tr-resume", "#tr-open"):
        expect(page.locator(button)).to_be_disabled()
    page.locator("#tr-start").click()
    expect(page.locator("#tr-notice")).to_contain_text("Started browser")
    expect(page.locator("#tr-run input")).to_have_value("browser")

    status = page.locator("#tr-status")
    expect(status).to_contain_text("browser: running", timeout=TRAIN_TIMEOUT_MS)
    src0 = page.wait_for_function(
        "s => { const i = document.querySelector(s); return i && i.complete && i.naturalWidth > 0 ? i.src : false; }",
        arg="#tr-grid img", timeout=TRAIN_TIMEOUT_MS).json_value()
    expect(page.locator("#tr-grid-info")).to_contain_text("kimg")
    first = picture(page, src0)
    assert first.shape[0] == first.shape[1] and first.shape[0] >= 4 * 16  # 16 samples, 4x4 of 16 px
    # The grid updates while it trains (a new grid every 0.5 s): new pixels, not only a new URL.
    deadline = time.monotonic() + TRAIN_TIMEOUT_MS / 1000
    src1 = wait_for_grid(page, src0, "#tr-grid img")
    while np.array_equal(picture(page, src1), first):
        assert time.monotonic() < deadline, "the live grid never showed new samples"
        src1 = wait_for_grid(page, src1, "#tr-grid img")
    expect(page.locator("#tr-progress")).to_contain_text("/ 500 kimg")
    expect(page.locator("#tr-stop")).to_be_enabled()
    expect(page.locator("#tr-resume")).to_be_disabled()

    page.locator("#tr-stop").click()
    expect(page.locator("#tr-notice")).to_contain_text("Stopping browser")
    expect(status).to_contain_text("browser: stopped", timeout=TRAIN_TIMEOUT_MS)
    assert json.loads((app.dirs.runs / "browser" / "status.json").read_text())["state"] == "stopped"
    expect(page.locator("#tr-resume")).to_be_enabled()
    expect(page.locator("#tr-open")).to_be_enabled()  # it saved a snapshot when it stopped
    expect(page.locator("#tr-stop")).to_be_disabled()


def test_a_psi_slider_is_shown_only_for_models_it_changes(page, tabs_app):
    """ProGAN normalises z, so ψ would change nothing: picking it hides the Generate, Edit and Interpolate
    tabs' ψ sliders, and picking the DCGAN shows them again."""
    app, _ = tabs_app
    page.goto(app.url)
    wait_for_grid(page)
    for tab, prefix in (("Generate", "gen"), ("Edit", "ed"), ("Interpolate", "ip")):
        page.get_by_role("tab", name=tab).click()
        pick(page, f"{prefix}-model", TINY_PROGAN_NAME)
        expect(page.locator(f"#{prefix}-psi")).to_be_hidden()
        pick(page, f"{prefix}-model", TINY_NAME)
        expect(page.locator(f"#{prefix}-psi")).to_be_visible()


def test_a_class_picked_in_generate_and_stylegan_draws_that_class(page, tabs_app):
    """A conditional model: its named classes appear in the Generate tab's picker (hidden for the others), and
    picking one shows the handler's own grid for that class; the StyleGAN tab's Class A likewise."""
    from explorer.ui import generate_tab
    from explorer.ui.stylegan_handlers import MAX_LAYERS, MAX_WS, Controls, render

    app, services = tabs_app
    page.goto(app.url)
    src = wait_for_grid(page)
    expect(page.locator("#gen-class")).to_be_hidden()
    pick(page, "gen-model", TINY_CONDITIONAL_NAME)
    expect(page.locator("#gen-class input")).to_have_value(f"0 · {TINY_CLASSES[0]}")
    src = wait_for_picture(page, generate_tab.generate(services, TINY_CONDITIONAL_NAME, "0-15", 1.0, 0)[0], src)
    pick(page, "gen-class", f"2 · {TINY_CLASSES[2]}")
    star = generate_tab.generate(services, TINY_CONDITIONAL_NAME, "0-15", 1.0, 2)[0]
    wait_for_picture(page, star, src)
    expect(page.locator("#gen-info")).to_contain_text(f"class 2 ({TINY_CLASSES[2]})")
    pick(page, "gen-model", TINY_NAME)
    expect(page.locator("#gen-class")).to_be_hidden()

    page.get_by_role("tab", name="StyleGAN").click()
    expect(page.locator("#sg-info")).to_contain_text("16×16 px")
    expect(page.locator("#sg-class-a")).to_be_hidden()
    pick(page, "sg-model", TINY_CONDITIONAL_NAME)
    expect(page.locator("#sg-class-a input")).to_have_value(f"0 · {TINY_CLASSES[0]}")
    old = wait_for_grid(page, None, "#sg-a img")
    pick(page, "sg-class-a", f"1 · {TINY_CLASSES[1]}")
    c = Controls(TINY_CONDITIONAL_NAME, 0, 1, [0.0] * MAX_WS, 1.0, None, "const", 0, [1.0] * MAX_LAYERS, class_a=1)
    wait_for_picture(page, render(services, c)[0], old, "#sg-a img")


@pytest.fixture(scope="module")
def faces_app(tmp_path_factory):
    """The app over a copy of the shipped faces StyleGAN2 and its shipped dissections."""
    import shutil

    from helpers import launch_app

    from explorer import paths

    root = tmp_path_factory.mktemp("app-inspect")
    dirs = AppDirs(root / "weights", root / "runs")
    dirs.weights.mkdir()
    dirs.runs.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(paths.WEIGHTS / f"stylegan2-faces{suffix}", dirs.weights)
    shutil.copytree(paths.WEIGHTS / "stylegan2-faces.dissect", dirs.weights / "stylegan2-faces.dissect")
    app_gen = launch_app(dirs)
    yield next(app_gen), Services(dirs.weights, dirs.runs, torch.device("cpu"))
    app_gen.close()


def test_inspect_drag_a_parts_strength_and_a_channel(page, faces_app):
    """The Inspect tab opens on the faces model's middle layer with the mouth's units; dragging the strength
    shows the handler's picture for the final value, with the segmenter's report; the One channel view
    follows the channel slider."""
    from explorer.ui import inspect_handlers as h

    app, services = faces_app
    base = dict(model="stylegan2-faces", seed=0, psi=1.0, layer=h.DEFAULT_LAYER, view="All channels", channel=0,
                style_seed=1, style_mix=0.0, noise=1.0, stage=0, alpha=1.0, part="mouth", units=8,
                mode="Switch off (zero)", strength=0.0, size=1.0, centre=[0.5, 0.5])

    def expected(**changes):
        return h.render(services, *dict(base, **changes).values())

    page.goto(app.url)
    page.get_by_role("tab", name="Inspect").click()
    src0 = wait_for_grid(page, None, "#in-picture img")
    expect(page.locator("#in-layer input")).to_have_value("b16.conv1 · 16×16 · 64 ch")
    expect(page.locator("#in-part input")).to_have_value("mouth")
    np.testing.assert_array_equal(picture(page, src0), expected()[0])

    strength = drag(page, "in-strength", 0.0, 0.9)
    assert 0.5 < strength <= 1.0
    src1 = wait_for_picture(page, expected(strength=strength)[0], src0, "#in-picture img")
    assert not np.array_equal(picture(page, src1), picture(page, src0))
    expect(page.locator("#in-report")).to_contain_text("the segmenter sees mouth")

    page.locator("#in-view").get_by_text("One channel").click()
    view0 = wait_for_grid(page, None, "#in-view-picture img")
    channel = int(drag(page, "in-channel", 0.0, 0.5))
    assert channel > 0
    wait_for_picture(page, expected(strength=strength, view="One channel", channel=channel)[1], view0,
                     "#in-view-picture img")


def test_playground_plays_and_a_dragged_setting_reaches_the_training(page, tabs_app):
    """Play trains in the background and the picture moves with it; dragging D steps per G step while it
    plays changes the training in progress (the page's counters then grow in that ratio); Pause stops it,
    and a slow step shows its halves."""
    app, _ = tabs_app
    page.goto(app.url)
    page.get_by_role("tab", name="Playground").click()
    src0 = wait_for_grid(page, None, "#pl-picture img")
    expect(page.locator("#pl-info")).to_contain_text("0 G steps, 0 D steps")
    page.locator("#pl-play").click()
    src1 = wait_for_grid(page, src0, "#pl-picture img")
    assert not np.array_equal(picture(page, src1), picture(page, src0))
    steps = int(drag(page, "pl-d-steps", 0.0, 0.25))
    assert steps > 1

    def counts() -> tuple[int, int]:  # (G steps, D steps) the page shows
        import re

        g, d = re.search(r"(\d+) G steps, (\d+) D steps", page.locator("#pl-info").inner_text()).groups()
        return int(g), int(d)

    page.wait_for_timeout(1500)                      # the setting has reached the training
    g0, d0 = counts()
    deadline = time.monotonic() + 30
    while counts()[0] < g0 + 20 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    g1, d1 = counts()
    assert g1 >= g0 + 20 and (d1 - d0) == steps * (g1 - g0), (g0, d0, g1, d1, steps)
    page.locator("#pl-pause").click()
    expect(page.locator("#pl-info")).to_contain_text("paused", timeout=10_000)
    page.locator("#pl-slow").click()
    expect(page.locator("#pl-info")).to_contain_text("Slow step: after G", timeout=15_000)
