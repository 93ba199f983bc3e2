"""The Interpolate tab: frame previews for every family in z and w, a direction walk, GIF and MP4
export through the handler (frame count and size read back), recipe round trips to identical
pixels, and bad controls as sentences."""

import gradio as gr
import imageio.v2 as iio
import numpy as np
import pytest
import torch
from helpers import (TINY_PROGAN_NAME, TINY_STYLEGAN_NAME, AppDirs, make_tiny_checkpoint, make_tiny_progan_checkpoint,
                      make_tiny_stylegan_checkpoint)
from PIL import Image

from explorer.ui import edit_tab as et
from explorer.ui import interp_tab as it
from explorer.ui.services import Services


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    root = tmp_path_factory.mktemp("interp")
    d = AppDirs(root / "weights", root / "runs")
    d.weights.mkdir()
    d.runs.mkdir()
    make_tiny_checkpoint(d.weights / "tiny")
    make_tiny_progan_checkpoint(d.weights / TINY_PROGAN_NAME)
    make_tiny_stylegan_checkpoint(d.weights / TINY_STYLEGAN_NAME, "modulated")
    s = Services(d.weights, d.runs, torch.device("cpu"))
    et.find(s, TINY_STYLEGAN_NAME, "PCA (GANSpace)", 1, None, None, [], "", "", "")
    return s


@pytest.fixture(scope="module")
def tab(services):
    with gr.Blocks():
        return it.create_interp_tab(services)


def _controls(model=TINY_STYLEGAN_NAME, kind="Keyframes", keys="0, 1, 2", space="w", mode="spherical", frames=9,
              psi=1.0, direction=it.NONE, strength=0.0):
    return [model, kind, keys, space, mode, frames, psi, direction, strength]


def test_a_path_back_to_its_first_keyframe_loops(services):
    """"0, 1, 0": repeated keyframes are kept, so an exported GIF ends where it began."""
    controls = _controls(keys="0, 1, 0", frames=9)
    first, _ = it.preview(services, *controls, 0)
    middle, info = it.preview(services, *controls, 4)
    last, _ = it.preview(services, *controls, 8)
    np.testing.assert_array_equal(first, last)
    assert not np.array_equal(first, middle) and "Frame 5 of 9" in info


@pytest.mark.parametrize("model", ["tiny", TINY_PROGAN_NAME, TINY_STYLEGAN_NAME])
@pytest.mark.parametrize("space", ["z", "w"])
def test_preview_hits_the_keyframes(services, model, space):
    from explorer.ui import edit_tab

    key0, _, _ = edit_tab.render(services, model, 0, 1.0, *[it.NONE, 0.0, None] * edit_tab.SLOTS)
    first, info = it.preview(services, *_controls(model, space=space), 0)
    key1, _ = it.preview(services, *_controls(model, space=space), 4)
    last, _ = it.preview(services, *_controls(model, space=space, keys="2, 1"), 0)
    mid, _ = it.preview(services, *_controls(model, space=space), 2)
    assert np.array_equal(first, key0) and "Frame 1 of 9" in info
    assert np.array_equal(key1, it.preview(services, *_controls(model, keys="1, 2", space=space), 0)[0])
    assert not np.array_equal(mid, first) and not np.array_equal(last, first)


def test_walk_goes_through_the_unedited_image(services):
    walk = _controls(kind="Direction walk", keys="3", direction="pca #0", strength=2.0, frames=5)
    centre, _ = it.preview(services, *walk, 2)      # strengths -2, -1, 0, 1, 2
    plain, _ = it.preview(services, *_controls(keys="3, 4"), 0)
    assert np.array_equal(centre, plain)
    assert not np.array_equal(it.preview(services, *walk, 0)[0], centre)
    with pytest.raises(gr.Error, match="needs a direction"):
        it.preview(services, *_controls(kind="Direction walk"), 0)


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_export_writes_every_frame(services, fmt):
    seen = []
    path, info = it.export(services, fmt, *_controls(frames=7), 10, progress=lambda f, desc="": seen.append(desc))
    assert path.endswith(f".{fmt}") and "7 frames" in info
    with iio.get_reader(path, format="GIF" if fmt == "gif" else "FFMPEG") as r:
        frames = [f for f in r]
    assert len(frames) == 7 and frames[0].shape[:2] == (256, 256)  # 16 px enlarged 16x
    assert any("rendering" in d for d in seen) and any("encoding 7/7" in d for d in seen)
    assert "gan-explorer-exports" in path


def test_recipe_round_trip_to_identical_pixels(services, tab):
    args = [*_controls(frames=11, mode="linear", direction="pca #0", strength=1.3, psi=0.7), 24, 6]
    (png, js), _ = tab["recipe"]["save_fn"](*args)
    with Image.open(png) as im:
        saved = np.asarray(im.convert("RGB"))
    for f in (png, js):
        out = tab["recipe"]["load_fn"](f)
        assert out[1:6] == ("Keyframes", "0, 1, 2", "w", "linear", 11) and out[6]["value"] == 0.7 and out[6]["visible"]
        assert out[7]["value"] == "pca #0" and out[8] == 1.3 and out[10]["value"] == 6
        assert np.array_equal(out[-3], saved)


def test_bad_controls(services):
    with pytest.raises(gr.Error, match="at least two"):
        it.preview(services, *_controls(keys="5"), 0)
    with pytest.raises(gr.Error, match="Frames"):
        it.preview(services, *_controls(frames=1), 0)
    with pytest.raises(gr.Error, match="not saved"):
        it.preview(services, *_controls(direction="missing", strength=1.0), 0)


def test_picking_a_walk_fills_its_direction_and_strength(services):
    """A walk picked with "(none)" and strength 0 gets the model's first direction and WALK_STRENGTH; a model
    picked gets its own first direction at strength 0, a keyframe path keeps the user's choice."""
    rest = ["3", "w", "spherical", 5, 1.0]
    d, s, picture, info, _ = it.choose(services, TINY_STYLEGAN_NAME, "Direction walk", *rest, it.NONE, 0.0, 0, fresh=False)
    assert d["value"] == "pca #0" and s == it.WALK_STRENGTH and "walk" in info
    assert np.array_equal(picture, it.preview(services, *_controls(kind="Direction walk", keys="3", frames=5,
                                                                  direction="pca #0", strength=2.0), 0)[0])
    d, s, *_ = it.choose(services, TINY_STYLEGAN_NAME, "Keyframes", "0, 1", *rest[1:], it.NONE, 1.0, 0, fresh=False)
    assert d["value"] == it.NONE and s == 1.0
    d, s, *_ = it.choose(services, TINY_STYLEGAN_NAME, "Keyframes", "0, 1", *rest[1:], it.NONE, 1.0, 0, fresh=True)
    assert d["value"] == "pca #0" and s == 0.0
    d, s, *_ = it.choose(services, "tiny", "Keyframes", "0, 1", *rest[1:], "pca #0", 1.0, 0, fresh=True)
    assert d["value"] == it.NONE and s == 0.0  # no directions beside it
