"""A class-conditional model in every tab where a latent is chosen: Generate, StyleGAN A/B and the matrix, Edit
and Interpolate each show its named classes, draw the class picked (the engine's own image for it), refuse a
class it does not have with a sentence, and record the class in their recipes, which restore it bit for bit.
An unconditional model hides the pickers and ignores what a stale one still holds."""

from __future__ import annotations

import contextlib
import json

import gradio as gr
import numpy as np
import pytest
import torch
from gradio_client import Client
from helpers import (TINY_CLASSES, TINY_CONDITIONAL_NAME, TINY_STYLEGAN_NAME, launch_app, make_dirs,
                     make_tiny_stylegan_checkpoint)
from PIL import Image

from explorer import images
from explorer.images import read_recipe
from explorer.edit.latents import z_from_seed
from explorer.models.classes import map_z
from explorer.ui import class_ui
from explorer.ui import edit_tab as et
from explorer.ui import generate_tab as gt
from explorer.ui import interp_tab as it
from explorer.ui import stylegan_tab as st
from explorer.ui.edit_handlers import NONE, SLOTS
from explorer.ui.services import Services
from explorer.ui.stylegan_handlers import MAX_LAYERS, MAX_WS, Controls, matrix, render as style_render, select_model

NAME = TINY_CONDITIONAL_NAME


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    d = make_dirs(tmp_path_factory.mktemp("conditional"))
    make_tiny_stylegan_checkpoint(d.weights / NAME, classes=TINY_CLASSES, seed=3)
    make_tiny_stylegan_checkpoint(d.weights / TINY_STYLEGAN_NAME)
    return d


@pytest.fixture(scope="module")
def digits_run(dirs):
    """A conditional StyleGAN2 of our own, trained a few steps on the MNIST digits into runs/digits."""
    from explorer.models import stylegan
    from explorer.train.datasets import load_dataset
    from explorer.train.loop import Trainer
    from explorer.train.recipes import make_train_config
    from explorer.train.run import RunDir

    cfg = make_train_config("stylegan2", res=16, channels=1, model=dict(stylegan.TINY), data="mnist", data_size=200,
                            conditional=True, batch=8, kimg=0.032, tick_kimg=0.016, snapshot_ticks=1, sample_ticks=100,
                            num_samples=10)
    threads = torch.get_num_threads()
    try:
        assert Trainer(cfg, load_dataset("mnist", 16, size=200), run=RunDir(dirs.runs / "digits").create(cfg)
                       ).fit() == "done"
    finally:
        torch.set_num_threads(threads)
    return "run: digits"


@pytest.fixture(scope="module")
def services(dirs):
    return Services(dirs.weights, dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="module")
def tabs(services):
    with gr.Blocks():
        with gr.Tabs():
            return {"generate": gt.create_generate_tab(services), "stylegan": st.create_stylegan_tab(services),
                    "edit": et.create_edit_tab(services), "interpolate": it.create_interp_tab(services)}


def engine(services, seed: int, label: int) -> np.ndarray:
    """The picture the generator itself draws for this seed as this class."""
    G, _ = services.renderer.model(services.find_model(NAME).path)
    with torch.inference_mode():
        return images.to_uint8(G.synthesis(map_z(G, z_from_seed(seed, G.z_dim)[None], label)))[0]


def native(picture: np.ndarray, res: int = 16) -> np.ndarray:
    """A picture enlarged (nearest) for the page, back at the model's resolution, as [r, r, C]."""
    small = picture[::picture.shape[0] // res, ::picture.shape[1] // res]
    return small if small.ndim == 3 else small[..., None]


def pixels(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def test_the_class_picker_lists_named_classes_only_for_a_conditional_model(services, tabs):
    ups = select_model(services, NAME, "seed", "seed", 2, 9)
    class_a, class_b = ups[-2:]
    assert class_a["visible"] and class_a["choices"] == [(f"{i} · {n}", i) for i, n in enumerate(TINY_CLASSES)]
    assert class_a["value"] == 2 and class_b["value"] == 0  # 9 is no class of this model: back to class 0
    plain = select_model(services, TINY_STYLEGAN_NAME, "seed", "seed", 2, 2)[-2:]
    assert not any(u["visible"] for u in plain) and all(u["choices"] == [] for u in plain)


def test_generate_draws_the_class_picked_and_refuses_others(services):
    grid1, info1 = gt.generate(services, NAME, "5", 1.0, 1)
    grid2, info2 = gt.generate(services, NAME, "5", 1.0, 2)
    np.testing.assert_array_equal(grid1, images.make_grid(engine(services, 5, 1)[None]))
    np.testing.assert_array_equal(grid2, images.make_grid(engine(services, 5, 2)[None]))
    assert not np.array_equal(grid1, grid2) and "class 1 (square)" in info1 and "class 2 (star)" in info2
    np.testing.assert_array_equal(gt.generate(services, NAME, "5", 1.0, "star")[0], grid2)  # by name too
    for bad, said in ((3, "out of range"), (-1, "out of range"), (1.5, "whole number"), ("emu", "not one of"),
                      (float("nan"), "whole number"), ([1], "whole number")):
        with pytest.raises(gr.Error, match=said):
            gt.generate(services, NAME, "5", 1.0, bad)
    # An unconditional model: the (hidden) picker's value is ignored, the grid is the same as without it.
    np.testing.assert_array_equal(gt.generate(services, TINY_STYLEGAN_NAME, "0-3", 1.0, 2)[0],
                                  gt.generate(services, TINY_STYLEGAN_NAME, "0-3", 1.0)[0])


def test_generate_recipe_records_the_class_and_restores_it(services, tabs, tmp_path):
    rec = tabs["generate"]["recipe"]
    (png, js), _ = rec["save_fn"](NAME, "4-5", 0.7, 2)
    assert json.loads(open(js).read())["classes"] == [2, 2]
    out = rec["load_fn"](png)
    model, seeds, psi, picker, grid, info, message = out
    assert picker["value"] == 2 and picker["visible"] and "class 2 (star)" in info
    np.testing.assert_array_equal(np.asarray(grid), gt.generate(services, NAME, "4-5", 0.7, 2)[0])
    np.testing.assert_array_equal(pixels(png)[..., :3], np.asarray(grid)[..., :3])
    bad = json.loads(open(js).read())
    for classes, said in (([7, 7], "out of range"), ([1], "one class per seed"), ([0.5, 1], "whole number")):
        (tmp_path / "bad.json").write_text(json.dumps(dict(bad, classes=classes)))
        with pytest.raises(gr.Error, match=said):
            rec["load_fn"](str(tmp_path / "bad.json"))


def controls(**kw) -> Controls:
    base = dict(model=NAME, seed_a=3, seed_b=8, mix=[0.0] * MAX_WS, psi=1.0, cutoff=None, noise_mode="const",
                noise_seed=0, strengths=[1.0] * MAX_LAYERS)
    return Controls(**{**base, **kw})


def test_stylegan_a_and_b_each_draw_their_class_and_the_matrix_too(services, tabs):
    a0, _, b2, info = style_render(services, controls(class_a=0, class_b=2))
    np.testing.assert_array_equal(native(a0), engine(services, 3, 0))
    np.testing.assert_array_equal(native(b2), engine(services, 8, 2))
    a1, *_ = style_render(services, controls(class_a=1, class_b=2))
    assert not np.array_equal(a0, a1)
    with pytest.raises(gr.Error, match="Class B: Class 5 is out of range"):
        style_render(services, controls(class_b=5))
    shown, _, _ = matrix(services, controls(class_a=1, class_b=2), "3", "8", "Coarse")
    assert read_recipe(shown)["class_b"] == 2
    (png, js), _ = tabs["stylegan"]["recipe"]["save_fn"](*st_args(class_a=1, class_b=2))
    assert json.loads(open(js).read())["classes"] == [1, 2]
    out = tabs["stylegan"]["recipe"]["load_fn"](js)
    *_, class_a, class_b, a, _, _, _, _, _ = out  # the class pickers, then A, mix, B, info, seen, message
    assert class_a["value"] == 1 and class_b["value"] == 2
    np.testing.assert_array_equal(np.asarray(a), a1)


def st_args(**kw) -> list:
    c = controls(**kw)
    return [c.model, c.seed_a, c.seed_b, *c.mix, c.psi, c.cutoff, c.noise_mode, c.noise_seed, *c.strengths,
            c.latent_a, c.latent_b, c.translate_x, c.translate_y, c.rotate, c.class_a, c.class_b]


def edit_args(seed, label) -> list:
    return [NAME, seed, 1.0, *[NONE, 0.0, None] * SLOTS, "seed", label]


def test_edit_draws_the_class_and_its_recipe_keeps_it(services, tabs):
    original, edited, info = et.render(services, *edit_args(6, 2))
    np.testing.assert_array_equal(native(original), engine(services, 6, 2))
    assert "seed 6 (class 2 (star))" in info
    with pytest.raises(gr.Error, match="whole number"):
        et.render(services, *edit_args(6, "1.5"))
    (png, js), _ = tabs["edit"]["recipe"]["save_fn"](*edit_args(6, 2))
    assert json.loads(open(js).read())["classes"] == [2]
    out = tabs["edit"]["recipe"]["load_fn"](png)
    *_, picker, original2, _, _, _, _ = out
    assert picker["value"] == 2
    np.testing.assert_array_equal(np.asarray(original2), original)


def test_interpolate_draws_the_path_in_the_class_and_its_recipe_keeps_it(services, tabs):
    args = [NAME, "Keyframes", "2, 9", "w", "linear", 4, 1.0, NONE, 0.0]
    first, info = it.preview(services, *args, 0, 1)
    np.testing.assert_array_equal(native(first), engine(services, 2, 1))
    assert "class 1 · square" in info
    last, _ = it.preview(services, *args, 3, 1)
    np.testing.assert_array_equal(native(last), engine(services, 9, 1))
    with pytest.raises(gr.Error, match="out of range"):
        it.preview(services, *args, 0, 4)
    (png, js), _ = tabs["interpolate"]["recipe"]["save_fn"](*args, 24, 0, 1)
    assert json.loads(open(js).read())["classes"] == [1, 1]
    out = tabs["interpolate"]["recipe"]["load_fn"](js)
    assert out[-4]["value"] == 1
    np.testing.assert_array_equal(np.asarray(out[-3]), first)
    *_, picker = it.choose(services, NAME, *args[1:], 0, 2, fresh=True)
    assert picker["value"] == 2 and picker["visible"]


def test_a_client_picks_a_class_over_http(dirs):
    with contextlib.contextmanager(launch_app)(dirs) as app:
        client = Client(app.url, verbose=False)
        one, info = client.predict(NAME, "5", 1.0, 1, api_name="/generate_class")
        two, _ = client.predict(NAME, "5", 1.0, 2, api_name="/generate")
        assert "class 1 (square)" in info and not np.array_equal(pixels(one), pixels(two))
        with pytest.raises(Exception, match="out of range"):
            client.predict(NAME, "5", 1.0, 3, api_name="/generate")


def test_our_own_conditional_run_opens_with_its_digits_as_classes(services, digits_run, tabs):
    entry = services.find_model(digits_run)
    assert entry is not None and "conditional: 10 classes" in entry.summary
    assert class_ui.choices(entry) == [(str(i), i) for i in range(10)]  # named by the digits themselves
    seven, info = gt.generate(services, digits_run, "0-3", 1.0, 7)
    one, _ = gt.generate(services, digits_run, "0-3", 1.0, 1)
    assert "class 7" in info and not np.array_equal(seven, one)
    ups = select_model(services, digits_run, "seed", "seed", 7, 1)
    assert [u["value"] for u in ups[-2:]] == [7, 1] and ups[-2]["visible"]


def test_inspect_looks_inside_the_class_picked(services):
    from explorer.ui import inspect_handlers as ih

    *_, picker = ih.select_model(services, NAME)
    assert picker["visible"] and picker["choices"][2] == ("2 · star", 2)
    args = [NAME, 5, 1.0, "b16.conv1", "All channels", 0, 1, 0.0, 1.0, 0, 1.0, ih.NO_PART, 8, "Switch off (zero)",
            0.0, 1.0, [0.5, 0.5]]
    star, view_star, *_ = ih.render(services, *args, 2)
    np.testing.assert_array_equal(native(star), engine(services, 5, 2))
    circle, view_circle, *_ = ih.render(services, *args, 0)
    assert not np.array_equal(view_star, view_circle)
    with pytest.raises(gr.Error, match="out of range"):
        ih.render(services, *args, 3)
