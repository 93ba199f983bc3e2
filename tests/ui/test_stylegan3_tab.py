"""StyleGAN3 models in the StyleGAN tab: the input's translate and rotate sliders (the equivariance the
paper is about), no noise controls but a sentence saying why, and the incremental render matching a full
synthesis with the same transform."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.images import to_uint8
from explorer.ui import stylegan_handlers as sh
from explorer.ui.services import Services
from explorer.ui.stylegan_handlers import MAX_LAYERS, MAX_WS, Controls, render, select_model
from explorer.weights import load_generator
from helpers import TINY_STYLEGAN3_NAME, make_dirs, make_tiny_stylegan3_checkpoint


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    dirs = make_dirs(tmp_path_factory.mktemp("sg3-tab"))
    make_tiny_stylegan3_checkpoint(dirs.weights / TINY_STYLEGAN3_NAME, "t", seed=2)
    make_tiny_stylegan3_checkpoint(dirs.weights / "tiny-stylegan3-r", "r", seed=3)
    return Services(dirs.weights, dirs.runs, torch.device("cpu"))


def controls(model=TINY_STYLEGAN3_NAME, **kw) -> Controls:
    return Controls(model, **{"seed_a": 3, "seed_b": 7, "mix": [0.0] * MAX_WS, "strengths": [1.0] * MAX_LAYERS, **kw})


def native(picture: np.ndarray, res: int = 16) -> np.ndarray:
    return picture[::picture.shape[0] // res, ::picture.shape[0] // res]


@pytest.mark.parametrize("name, title", [(TINY_STYLEGAN3_NAME, "StyleGAN3-T"), ("tiny-stylegan3-r", "StyleGAN3-R")])
def test_select_shows_the_transform_and_says_there_is_no_noise(services, name, title):
    ups = select_model(services, name)[:-2]  # the class pickers last (hidden: not conditional)
    noise = ups[MAX_WS:MAX_WS + MAX_LAYERS]
    assert not any(u["visible"] for u in noise)
    assert [u["visible"] for u in ups[-4:-1]] == [True] * 3
    assert ups[-1]["visible"] and "no per-pixel noise" in ups[-1]["value"]
    assert title in render(services, controls(name))[3]


def test_translate_and_rotate_match_a_full_synthesis_and_rerun_every_layer(services):
    entry = services.find_model(TINY_STYLEGAN3_NAME)
    G, _ = load_generator(entry.path)
    still = render(services, controls())
    moved = render(services, controls(translate_x=0.25, rotate=30.0))
    assert "input moved (0.25, 0), 30°" in moved[3] and f"all {G.num_layers} layers" in moved[3]
    assert not np.array_equal(native(still[0]), native(moved[0]))
    with torch.inference_mode():
        ws = G.mapping(torch.from_numpy(np.random.RandomState(3).randn(1, G.z_dim).astype(np.float32)))
        want = to_uint8(G.synthesis(ws, transform=G.input_transform(0.25, 0.0, 30.0)))[0]
    np.testing.assert_array_equal(native(moved[0]), want)
    # A mix slider after the move re-runs only from its layer: the transform is cached with layer 0.
    mixed = render(services, controls(translate_x=0.25, rotate=30.0, mix=[0.0] * 3 + [1.0] * (MAX_WS - 3)))
    assert "**mix**" in mixed[3] and "(layers 4–5 of 5)" in mixed[3] and "**A** (seed 3)" in mixed[3]
    assert mixed[3].count("(cached)") == 2  # A and B did not move
    # Back to no transform: the first picture again.
    np.testing.assert_array_equal(native(render(services, controls())[0]), native(still[0]))


def test_out_of_range_and_non_finite_transforms_are_sentences(services):
    import gradio as gr

    for kw in (dict(translate_x=float("nan")), dict(translate_y=5.0), dict(rotate=400.0)):
        with pytest.raises(gr.Error, match="Translate|Rotate"):
            render(services, controls(**kw))


def test_the_recipe_records_and_restores_the_transform(services):
    from explorer.edit import image_recipe as rc

    entry = services.find_model(TINY_STYLEGAN3_NAME)
    recipe, picture = sh.build_recipe(services, controls(translate_y=-0.1, rotate=-45.0))
    assert recipe.extra == {"translate": [0.0, -0.1], "rotate": -45.0}
    out = sh.restore_recipe(services, rc.parse(recipe.to_json()), entry)
    assert [u["value"] for u in out[-10:-7]] == [0.0, -0.1, -45.0]  # tx, ty, rotate; the note, 2 classes, 4 shown
    np.testing.assert_array_equal(out[-3], picture)
