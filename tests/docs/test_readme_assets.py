"""The README's pictures, taken by a real browser (Debian's Chromium driven by PyPI playwright) from
the app launched as `python app.py` launches it, over a copy of the repo's shipped demo models.

Each tab is left in a state that shows what it does, with a model of the right family picked from
the copy of weights/ (faces first, then the largest, then by name, so models may come and go):
Generate: 16 seeds of a faces model; ProGAN: an intermediate stage half faded in; StyleGAN: two
seeds with the Coarse preset; Edit: the model and direction it opens on, that direction's strength moved;
Interpolate: a keyframe path, exported as a GIF with the page's own button and downloaded;
Train: the form; Metrics: the model's card history. Every picture is checked to be a real image
(the handler's own pixels for the final controls), the GIF to be animated with the path's frames.

The files go to a temporary folder, or to assets/ (what the README shows) with UPDATE_SCREENSHOTS=1:
    UPDATE_SCREENSHOTS=1 python -m pytest tests/docs/test_readme_assets.py
This module is the one place that writes assets/."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import require_chromium

require_chromium()  # skipped without Chromium on a developer's machine; a failure where CI is set

import torch  # noqa: E402
from helpers import CHROMIUM, REPO, AppDirs, launch_app  # noqa: E402
from PIL import Image, ImageSequence  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402
from helpers.browser import CHROMIUM_ARGS, GRID_LOADED, pick, picture  # noqa: E402

from explorer.edit.mixing import preset_weights  # noqa: E402
from explorer.models import ARCHITECTURES  # noqa: E402
from explorer.ui import edit_tab, generate_tab, interp_tab, progan_tab, stylegan_tab  # noqa: E402
from explorer.ui.edit_tab import NONE, SLOTS  # noqa: E402
from explorer.ui.services import Services  # noqa: E402
from explorer.ui.stylegan_tab import MAX_LAYERS, MAX_WS, Controls  # noqa: E402
from explorer.ui.stylegan_tab import render as style_render  # noqa: E402
from explorer.weights import ModelEntry, list_checkpoints, read_meta  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]

UPDATE_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
ASSETS = REPO / "assets"
TIMEOUT_MS = 90_000        # real models on a loaded 2-core machine: a SeFa search or an export can take a while
VIEWPORT = {"width": 1280, "height": 900}
GRID_SEEDS = "0-15"        # Generate: a 4x4 grid
EDIT_STRENGTH = "3"        # Edit: standard deviations along the direction slot 1 opens on (a changed face, still a face)
GIF_KEYS = "0, 1, 2, 3, 0"  # Interpolate: four keyframe seeds and back to the first, so the GIF loops
GIF_FRAMES = 33            # 8 frames per segment, and the last keyframe
GIF_FPS = 10
GIF_MAX_BYTES = 2 * 2**20  # the README loads it on every visit


# --- the models ------------------------------------------------------------------------------------


def _best(entries: list[ModelEntry], capability: str | None = None) -> ModelEntry | None:
    """The model a tab shows: a faces model first, then the highest resolution, then by name."""
    def key(e: ModelEntry):
        return read_meta(e.path).get("train", {}).get("data") != "faces", -e.res, e.name

    fit = [e for e in entries if capability is None or getattr(ARCHITECTURES[e.arch].capabilities, capability)]
    return min(fit, key=key) if fit else None


def _with_history(entries: list[ModelEntry]) -> ModelEntry | None:
    """The best model whose card holds measured metrics (the Metrics tab's history table), if any."""
    return _best([e for e in entries if read_meta(e.path).get("metrics")])


class Shipped:
    """The copied models, and which one each tab shows."""

    def __init__(self, weights: Path):
        self.entries = list_checkpoints(weights)
        self.style = _best(self.entries, "mixing")
        self.progan = _best(self.entries, "progressive")
        self.generate = _best(self.entries)
        self.edit = next(e for e in self.entries if e.name == edit_tab.default_model(self.entries))  # what it opens on
        self.interp = self.style or self.progan or self.generate
        self.metrics = _with_history(self.entries) or self.generate


@pytest.fixture(scope="module")
def shipped_app(tmp_path_factory):
    """The app over a copy of weights/ (finding directions writes beside the models) and an empty
    runs/; yields (LaunchedApp, Services over the same folders, Shipped)."""
    if not list_checkpoints(REPO / "weights"):
        pytest.skip("weights/ holds no shipped model: nothing to take the README's pictures of")
    root = tmp_path_factory.mktemp("readme")
    dirs = AppDirs(root / "weights", root / "runs")
    shutil.copytree(REPO / "weights", dirs.weights)
    dirs.runs.mkdir()
    app_gen = launch_app(dirs)
    yield next(app_gen), Services(dirs.weights, dirs.runs, torch.device("cpu")), Shipped(dirs.weights)
    app_gen.close()


@pytest.fixture(scope="module")
def page(shipped_app):
    """One page for the whole module, opened once: each test visits its tab on it."""
    app = shipped_app[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        expect.set_options(timeout=TIMEOUT_MS)
        page.goto(app.url)
        yield page
        expect.set_options(timeout=5_000)
        context.close()
        browser.close()


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    if UPDATE_SCREENSHOTS:
        ASSETS.mkdir(exist_ok=True)
        return ASSETS
    return tmp_path_factory.mktemp("readme-assets")


# --- helpers ---------------------------------------------------------------------------------------


# The picture each tab's page-load event draws: once it is there, that event has finished and cannot
# overwrite a model picked after it.
OPENED = {"Generate": "#gen-grid img", "ProGAN": "#pg-image img", "StyleGAN": "#sg-mix img",
          "Edit": "#ed-edited img", "Interpolate": "#ip-picture img"}


def open_tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
    if name in OPENED:
        page.wait_for_function(GRID_LOADED, arg=[None, OPENED[name]])


def choose(page, elem_id: str, model: str) -> None:
    """Open `model` in the dropdown `elem_id`, unless the page load already did."""
    box = page.locator(f"#{elem_id} input")
    expect(box).not_to_have_value("")
    if box.input_value() != model:
        pick(page, elem_id, model)


def set_slider(page, elem_id: str, value) -> None:
    """Type a value into a slider's number box: one input event, as a drag's last step sends."""
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    expect(page.locator(f"#{elem_id} input[type=range]")).to_have_value(str(value))


def shows(page, selector: str, expected: np.ndarray) -> np.ndarray:
    """Wait until the image `selector` shows exactly `expected` (earlier renders may come first);
    returns its pixels (RGB, as the page decodes grayscale ones)."""
    if expected.ndim == 2:
        expected = expected[:, :, None]
    expected = np.repeat(expected, 3, axis=2) if expected.shape[2] == 1 else expected
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        src = page.wait_for_function(GRID_LOADED, arg=[None, selector]).json_value()
        got = picture(page, src)
        if np.array_equal(got, expected):
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT_MS} ms {selector} still did not show the picture for the last inputs")
        page.wait_for_timeout(200)


def assert_real(pixels: np.ndarray, what: str) -> None:
    """A picture, not a blank or flat one: big enough and with contrast."""
    assert min(pixels.shape[:2]) >= 64, f"{what}: only {pixels.shape[:2]} pixels"
    assert float(pixels.std()) > 20 and len(np.unique(pixels)) > 32, f"{what} looks blank"


def differ(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two uint8 pictures, in pixel levels."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def screenshot(page, out_dir: Path, name: str) -> Path:
    out = out_dir / name
    page.screenshot(path=str(out), full_page=True)
    with Image.open(out) as im:
        assert im.width == VIEWPORT["width"] and im.height >= 600, im.size
    return out


# --- the tabs, in the page's order ------------------------------------------------------------------


def test_generate(page, shipped_app, out_dir):
    _, services, models = shipped_app
    name = models.generate.name
    open_tab(page, "Generate")
    choose(page, "gen-model", name)
    seeds = page.locator("#gen-seeds input, #gen-seeds textarea")
    if seeds.input_value() != GRID_SEEDS:
        seeds.fill(GRID_SEEDS)
        seeds.press("Enter")
    grid = shows(page, "#gen-grid img", generate_tab.generate(services, name, GRID_SEEDS, 1.0)[0])
    assert_real(grid, "the Generate grid")
    expect(page.locator("#gen-info")).to_contain_text("16 images")
    screenshot(page, out_dir, "screenshot-generate.png")


def test_progan(page, shipped_app, out_dir):
    _, services, models = shipped_app
    if models.progan is None:
        pytest.skip("no shipped ProGAN model")
    name = models.progan.name
    open_tab(page, "ProGAN")
    choose(page, "pg-model", name)
    trained = services.renderer.growth(models.progan.path).stage
    assert trained >= 1, f"{name} never grew past 4x4: it has no fade-in to show"
    # The page opens a model at its trained end; show the stage before it, half faded in.
    expect(page.locator("#pg-stage input[type=range]")).to_have_value(str(trained))
    stage = trained - 1 if trained >= 2 else trained
    set_slider(page, "pg-stage", stage)
    set_slider(page, "pg-alpha", 0.5)
    seeds = page.locator("#pg-seeds input, #pg-seeds textarea").input_value()
    shown = shows(page, "#pg-image img", progan_tab.render(services, name, seeds, stage, 0.5)[0])
    assert_real(shown, "the ProGAN picture")
    res = 4 * 2**stage
    expect(page.locator("#pg-info")).to_contain_text(f"Stage {stage}: {res}×{res} pixels")
    expect(page.locator("#pg-info")).to_contain_text("alpha 0.50")
    # Half faded in is neither end of the fade.
    for end in (0.0, 1.0):
        assert differ(shown, progan_tab.render(services, name, seeds, stage, end)[0]) > 1.0, end
    screenshot(page, out_dir, "screenshot-progan.png")


def test_stylegan(page, shipped_app, out_dir):
    _, services, models = shipped_app
    if models.style is None:
        pytest.skip("no shipped StyleGAN model")
    name = models.style.name
    open_tab(page, "StyleGAN")
    choose(page, "sg-model", name)
    a = int(page.locator("#sg-seed-a input").input_value())
    b = int(page.locator("#sg-seed-b input").input_value())
    sm = services.style.describe(models.style.path)
    coarse = preset_weights("Coarse", list(sm.ws_resolutions))
    assert any(coarse) and not all(coarse), f"{name} has no coarse-only style inputs: {sm.ws_resolutions}"

    def expected(mix: list[float]):
        c = Controls(name, a, b, mix + [0.0] * (MAX_WS - len(mix)), 1.0, None, "const", 0, [1.0] * MAX_LAYERS)
        return style_render(services, c)

    shows(page, "#sg-mix img", expected([0.0] * sm.num_ws)[1])  # the model opened: the mix is seed A
    page.locator("#sg-preset-coarse").click()
    pic_a, pic_mix, pic_b, _ = expected(coarse)
    mix = shows(page, "#sg-mix img", pic_mix)
    for i, w in enumerate(coarse):
        expect(page.locator(f"#sg-w{i} input[type=range]")).to_have_value(f"{w:g}")
    for what, pixels in (("seed A", pic_a), ("the mix", mix), ("seed B", pic_b)):
        assert_real(pixels, what)
    # The mix is a third face: B's coarse styles on A's others.
    assert differ(mix, pic_a) > 2.0 and differ(mix, pic_b) > 2.0
    shows(page, "#sg-a img", pic_a)
    shows(page, "#sg-b img", pic_b)

    # The rest of the tab, filled in: the mix's stochastic variation and the Coarse style-mixing matrix.
    c = Controls(name, a, b, coarse + [0.0] * (MAX_WS - len(coarse)), 1.0, None, "const", 0, [1.0] * MAX_LAYERS)
    k = page.locator("#sg-k input[type=number]").input_value()
    renders, heat, _ = stylegan_tab.variation(services, c, int(k))
    page.locator("#sg-var-button").click()
    assert_real(shows(page, "#sg-var img", renders), "the variation renders")
    shows(page, "#sg-heat img", heat)
    rows, cols = (page.locator(f"#{e} input, #{e} textarea").input_value() for e in ("sg-rows", "sg-cols"))
    expect(page.locator("#sg-matrix-preset input")).to_have_value("Coarse")
    with Image.open(stylegan_tab.matrix(services, c, rows, cols, "Coarse")[0]) as im:
        grid = np.asarray(im.convert("RGB"))
    page.locator("#sg-matrix-button").click()
    assert_real(shows(page, "#sg-matrix img", grid), "the style-mixing matrix")
    screenshot(page, out_dir, "screenshot-stylegan.png")


def test_edit(page, shipped_app, out_dir):
    """What a newcomer sees: the tab opens with a shipped direction in slot 1, and moving its strength alone
    edits the picture (nothing to find first)."""
    app, services, models = shipped_app
    name = models.edit.name
    open_tab(page, "Edit")
    expect(page.locator("#ed-model input")).to_have_value(name)
    seed = int(page.locator("#ed-seed input").input_value())
    opened = edit_tab.open_model(services, name)
    first, span = opened[0]["value"], opened[2]["value"]
    assert first != NONE, f"no direction saved beside {name}: python scripts/make_directions.py"
    expect(page.locator("#ed-dir0 input")).to_have_value(first)
    none = [NONE, 0.0, span] * SLOTS
    original = shows(page, "#ed-original img", edit_tab.render(services, name, seed, 1.0, *none)[0])
    expect(page.locator("#ed-info")).to_contain_text("0 directions applied")
    set_slider(page, "ed-strength0", EDIT_STRENGTH)

    slots = [first, float(EDIT_STRENGTH), span] + [NONE, 0.0, span] * (SLOTS - 1)
    shown = shows(page, "#ed-edited img", edit_tab.render(services, name, seed, 1.0, *slots)[1])
    shows(page, "#ed-original img", original)
    assert_real(shown, "the edited picture")
    assert differ(shown, original) > 5.0, "the direction barely changed the picture"
    expect(page.locator("#ed-info")).to_contain_text("1 direction applied")
    screenshot(page, out_dir, "screenshot-edit.png")


def test_interpolate_and_its_gif(page, shipped_app, out_dir):
    _, services, models = shipped_app
    name = models.interp.name
    open_tab(page, "Interpolate")
    choose(page, "ip-model", name)
    keys = page.locator("#ip-keys input, #ip-keys textarea")
    frames = int(page.locator("#ip-frames input[type=number]").input_value())
    shows(page, "#ip-picture img",  # the model opened (its event and the next ones may finish in any order)
          interp_tab.preview(services, name, "Keyframes", keys.input_value(), "w", "spherical", frames, 1.0, NONE,
                             0.0, 0)[0])
    set_slider(page, "ip-fps", GIF_FPS)
    set_slider(page, "ip-frames", GIF_FRAMES)  # the frame slider then spans the path, and the preview follows
    expect(page.locator("#ip-frame input[type=range]")).to_have_attribute("max", str(GIF_FRAMES - 1))
    expect(page.locator("#ip-info")).to_contain_text(f"of {GIF_FRAMES} ")
    # The keyframes and the preview frame: one event listener, so their renders come in order.
    keys.fill(GIF_KEYS)
    keys.press("Enter")
    frame = GIF_FRAMES // 8  # between the first two keyframes
    set_slider(page, "ip-frame", frame)
    controls = [name, "Keyframes", GIF_KEYS, "w", "spherical", GIF_FRAMES, 1.0, NONE, 0.0]
    shown = shows(page, "#ip-picture img", interp_tab.preview(services, *controls, frame)[0])
    assert_real(shown, "the Interpolate preview")
    expect(page.locator("#ip-info")).to_contain_text(f"Frame {frame + 1} of {GIF_FRAMES}")

    # Export GIF in the page, then download the file as a user does: a click on its link.
    page.locator("#ip-gif").click()
    expect(page.locator("#ip-export-info")).to_contain_text(f"{GIF_FRAMES} frames")
    link = page.locator("#ip-file a[href*='.gif']").first
    with page.expect_download() as download:
        link.click()
    gif = out_dir / "interpolation.gif"
    download.value.save_as(gif)

    assert gif.stat().st_size < GIF_MAX_BYTES, f"{gif.stat().st_size} bytes"
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.is_animated and im.n_frames == GIF_FRAMES, (im.format, im.n_frames)
        assert im.info.get("loop") == 0  # loops forever
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
    assert_real(frames[0], "the GIF's first frame")
    assert all(differ(f, g) > 1.0 for f, g in zip(frames, frames[1:])), "consecutive GIF frames are the same"
    assert differ(frames[0], frames[-1]) < 1.0, "the path comes back to its first keyframe: the GIF loops"
    # Each frame is the preview's picture for it, enlarged (nearest) and reduced to a GIF palette.
    for i in (0, frame, GIF_FRAMES - 1):
        want = interp_tab.preview(services, *controls, i)[0]
        want = want if want.ndim == 3 else np.repeat(want[:, :, None], 3, axis=2)  # a grayscale model
        k = frames[i].shape[0] // want.shape[0]
        assert frames[i].shape == (want.shape[0] * k, want.shape[1] * k, 3), (frames[i].shape, want.shape)
        assert differ(frames[i][::k, ::k], want) < 6.0, f"GIF frame {i} is not the path's frame {i}"
    screenshot(page, out_dir, "screenshot-interpolate.png")


def test_train_form(page, out_dir):
    open_tab(page, "Train")
    for elem in ("tr-recipe", "tr-data", "tr-res", "tr-start"):
        expect(page.locator(f"#{elem}")).to_be_visible()
    expect(page.locator("#tr-recipe input")).not_to_have_value("")
    screenshot(page, out_dir, "screenshot-train.png")


def test_metrics_history(page, shipped_app, out_dir):
    _, _, models = shipped_app
    name = models.metrics.name
    open_tab(page, "Metrics")
    choose(page, "mt-model", name)
    expect(page.locator("#mt-button")).to_be_visible()
    rows = read_meta(models.metrics.path).get("metrics", [])
    history = page.locator("#mt-history")
    for metric in {str(r["metric"]) for r in rows}:  # the card's measurements, in its history table
        expect(history).to_contain_text(metric)
    if rows:
        expect(history).to_contain_text(name)  # the snapshot column: the card's own name
    screenshot(page, out_dir, "screenshot-metrics.png")
