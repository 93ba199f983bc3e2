"""The Generate tab in a real browser: Debian's Chromium driven by PyPI playwright
(GRADIO.md, "Testing in three layers"). Never `playwright install`: it downloads a browser.
CI: apt-get install -y --no-install-recommends chromium fonts-liberation (`.ci/run` does), with CI set:
there a missing Chromium fails these tests instead of skipping them.

The README's screenshots are taken by tests/docs/test_readme_assets.py."""

from __future__ import annotations


import numpy as np
import pytest
from helpers import require_chromium

require_chromium()  # skipped without Chromium on a developer's machine; a failure where CI is set

from helpers import TINY_NAME, TINY_PROGAN_NAME, TINY_STYLEGAN1_NAME  # noqa: E402
from helpers.browser import picture, wait_for_grid, wait_for_picture  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from explorer.ui.generate_tab import generate  # noqa: E402
from explorer.ui.progan_tab import render as progan_render  # noqa: E402
from explorer.ui.stylegan_tab import MAX_LAYERS, MAX_WS, Controls  # noqa: E402
from explorer.ui.stylegan_tab import render as style_render  # noqa: E402

# Gradio 6.31's queue calls pandas APIs that pandas 3 deprecates: noise from inside gradio.
pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def test_seeds_and_truncation_rerender_the_grid(page, app_tiny_server, app_tiny_services):
    def expected(seeds: str, psi: float) -> np.ndarray:
        return generate(app_tiny_services, TINY_NAME, seeds, psi)[0]

    page.goto(app_tiny_server.url)
    # The page renders the default seeds as soon as it opens.
    src0 = wait_for_grid(page)
    np.testing.assert_array_equal(picture(page, src0), expected("0-15", 1.0))
    expect(page.locator("#gen-info")).to_contain_text("16 images")

    # New seeds + Enter: a 2x2 grid of seeds 3, 5, 7. (A max_lines=1 Textbox is an <input>.)
    seeds = page.locator("#gen-seeds input, #gen-seeds textarea")
    seeds.fill("3, 5, 7")
    seeds.press("Enter")
    src1 = wait_for_picture(page, expected("3, 5, 7", 1.0), src0)
    expect(page.locator("#gen-info")).to_contain_text("3 images")

    # Ten left-arrow steps on the slider: 1.0 -> 0.5, one input event per step.
    slider = page.locator("#gen-psi input[type=range]")
    slider.focus()
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("0.5")
    src2 = wait_for_picture(page, expected("3, 5, 7", 0.5), src1)
    assert len({src0, src1, src2}) == 3

    # A bad seed shows the handler's sentence and leaves the last picture in place.
    seeds.fill("abc")
    seeds.press("Enter")
    expect(page.locator(".toast-body.error [data-testid=toast-text]")).to_contain_text(
        "type whole numbers like 1-8, 42")
    assert page.locator("#gen-grid img").get_attribute("src") == src2


def test_progan_stage_slider_redraws_the_picture(page, app_progan_server, app_progan_services):
    """Arrow keys on the stage slider re-render; even 4x4 arrives as big nearest-neighbour blocks."""
    def expected(stage: int) -> np.ndarray:
        return progan_render(app_progan_services, TINY_PROGAN_NAME, "0-3", stage, 1.0)[0]

    image, info = "#pg-image img", page.locator("#pg-info")
    page.goto(app_progan_server.url)
    page.get_by_role("tab", name="ProGAN").click()
    # The page load opens the first ProGAN model at its trained stage.
    src0 = wait_for_picture(page, expected(3), None, image)
    expect(info).to_contain_text("Stage 3: 32×32 pixels")
    slider = page.locator("#pg-stage input[type=range]")
    expect(slider).to_have_attribute("max", "3")

    slider.focus()
    page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("2")
    src1 = wait_for_picture(page, expected(2), src0, image)
    expect(info).to_contain_text("Stage 2: 16×16 pixels")

    for _ in range(2):
        page.keyboard.press("ArrowLeft")
    expect(slider).to_have_value("0")
    src2 = wait_for_picture(page, expected(0), src1, image)
    expect(info).to_contain_text("Stage 0: 4×4 pixels")
    assert len({src0, src1, src2}) == 3
    # Four 4x4 images, each pixel a 64 px block, drawn on the page at a readable size.
    box = page.locator(image).bounding_box()
    assert box["width"] >= 300 and box["height"] >= 300, box


def test_stylegan_coarse_preset_redraws_the_mix(page, app_stylegan_server, app_stylegan_services):
    """The page load opens the first StyleGAN model with every mix slider at 0 (the mix is seed A);
    pressing Coarse moves the 4-8 px sliders to 1 and the mix takes seed B's coarse styles."""
    def expected(mix: list[float]) -> np.ndarray:
        c = Controls(TINY_STYLEGAN1_NAME, 0, 1, mix + [0.0] * (MAX_WS - len(mix)), 1.0, None, "const", 0,
                     [1.0] * MAX_LAYERS)
        return style_render(app_stylegan_services, c)[1]

    image = "#sg-mix img"
    page.goto(app_stylegan_server.url)
    page.get_by_role("tab", name="StyleGAN").click()
    src0 = wait_for_picture(page, expected([0.0] * 6), None, image)
    expect(page.locator("#sg-info")).to_contain_text("StyleGAN, 16×16 px")
    expect(page.locator("#sg-w5")).to_be_visible()
    expect(page.locator("#sg-w6")).to_be_hidden()
    expect(page.locator("#sg-preset-fine")).to_be_disabled()  # no 64 px layers in a 16 px model

    page.locator("#sg-preset-coarse").click()
    src1 = wait_for_picture(page, expected([1.0] * 4 + [0.0] * 2), src0, image)
    assert src1 != src0
    expect(page.locator("#sg-w0 input[type=range]")).to_have_value("1")
    expect(page.locator("#sg-w4 input[type=range]")).to_have_value("0")
    assert not np.array_equal(picture(page, src1), picture(page, src0))


def test_full_page_screenshot_of_the_generate_tab(page, app_tiny_server, tmp_path):
    page.goto(app_tiny_server.url)
    wait_for_grid(page)
    expect(page.locator("#gen-info")).to_contain_text("images in")
    assert page.locator("#gen-empty").is_hidden()
    out = tmp_path / "screenshot-generate.png"
    page.screenshot(path=str(out), full_page=True)
    with Image.open(out) as im:
        assert im.width == 1280 and im.height >= 600
