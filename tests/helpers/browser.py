"""Driving Debian's Chromium (PyPI playwright) in the browser tests: its flags, waiting for a picture,
reading its pixels, dragging a slider and picking from a dropdown as a user does."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect


CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic"]


TIMEOUT_MS = 15_000


# An <img> (the grid's by default) once its bytes have loaded, and different from `old` (src changes first).
GRID_LOADED = """([old, selector]) => {
    const img = document.querySelector(selector);
    return img && img.src !== old && img.complete && img.naturalWidth > 0 ? img.src : false;
}"""


GRID = "#gen-grid img"


def wait_for_grid(page, old_src: str | None = None, selector: str = GRID) -> str:
    """The src of the grid image (or `selector`'s), once a new one (not `old_src`) has loaded."""
    return page.wait_for_function(GRID_LOADED, arg=[old_src, selector]).json_value()


def picture(page, src: str) -> np.ndarray:
    """The pixels the browser was sent for `src`."""
    resp = page.request.get(src)
    body = resp.body()
    assert resp.ok and body.startswith(b"\x89PNG"), f"{src}: HTTP {resp.status}, {body[:80]!r}"
    with Image.open(io.BytesIO(body)) as im:
        return np.asarray(im.convert("RGB"))


def wait_for_picture(page, expected: np.ndarray, old_src: str, selector: str = GRID) -> str:
    """Wait until the grid (or `selector`) shows `expected`: intermediate renders may come first
    (a slider fires one event per step), but the last one must be the final value's picture."""
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    src = wait_for_grid(page, old_src, selector)
    while not np.array_equal(picture(page, src), expected):
        if time.monotonic() > deadline:
            pytest.fail(f"after {TIMEOUT_MS} ms {selector} still did not show the picture for the last inputs")
        page.wait_for_timeout(100)
        src = wait_for_grid(page, None, selector)
    return src


def drag(page, elem_id: str, start: float, end: float, steps: int = 12) -> float:
    """Drag the range input of slider `elem_id` with the mouse from `start` to `end` (fractions of
    its width), one move event per step; returns the value the slider ends on."""
    slider = page.locator(f"#{elem_id} input[type=range]")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + start * box["width"], y)
    page.mouse.down()
    for i in range(1, steps + 1):
        page.mouse.move(box["x"] + (start + (end - start) * i / steps) * box["width"], y)
    page.mouse.up()
    return float(slider.input_value())


def pick(page, elem_id: str, option: str) -> None:
    """Choose `option` in the dropdown `elem_id` as a user does: open the list, click the option."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option, exact=True).click()
    expect(page.locator(f"#{elem_id} input")).to_have_value(option)
