"""The Inspect tab over the shipped models: it opens on a faces StyleGAN2 at a middle layer whose dissection
ships with it, every view draws, the layer's own controls change the picture, a part's units switched off
shrink that part in the segmenter's eyes, a dissection runs from the button and is listed, and bad input is
refused with a sentence."""

from __future__ import annotations

import shutil

import gradio as gr
import numpy as np
import pytest
import torch

from explorer import paths
from explorer.render.inspect import VIEWS
from explorer.ui import inspect_handlers as h
from explorer.ui.inspect_tab import create_inspect_tab
from explorer.ui.services import Services

FACES = "stylegan2-faces"


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    # A copy of the shipped weights, so a dissection run here never writes into the checkout.
    root = tmp_path_factory.mktemp("inspect")
    shutil.copytree(paths.WEIGHTS, root / "weights")
    return Services(root / "weights", root / "runs", torch.device("cpu"))


def _args(model=FACES, seed=0, psi=1.0, layer=h.DEFAULT_LAYER, view=VIEWS[0], channel=0, style_seed=1, style_mix=0.0,
          noise=1.0, stage=0, alpha=1.0, part=h.NO_PART, units=8, mode="Switch off (zero)", strength=0.0, size=1.0,
          centre=(0.5, 0.5)):
    return [model, seed, psi, layer, view, channel, style_seed, style_mix, noise, stage, alpha, part, units, mode,
            strength, size, list(centre)]


def test_the_tab_opens_on_a_faces_stylegan2_at_a_dissected_middle_layer(services):
    assert h.default_model(services) == FACES
    with gr.Blocks():
        tab = create_inspect_tab(services)
    assert tab.id == "inspect" and tab["model"].value == FACES
    layers, channel, psi, style_row, stage, alpha, part, table, about, label = h.select_model(services, FACES)
    assert not label["visible"]  # the faces StyleGAN2 is not conditional: no class picker
    assert layers["value"] == h.DEFAULT_LAYER and ("b16.conv1 · 16×16 · 64 ch", "b16.conv1") in layers["choices"]
    assert channel["maximum"] == 63 and style_row["visible"] and not stage["visible"]
    assert part["value"] == "mouth" and len(table["value"]) == 7 and "Dissected over" in about


@pytest.mark.parametrize("view", VIEWS)
def test_every_view_draws_and_says_its_scale(services, view):
    pic, shown, scale, report = h.render(services, *_args(view=view))
    assert pic.shape == (64, 64, 3) and shown.ndim == 3 and shown.shape[0] >= 256 and scale and report == ""


def test_the_layers_own_controls_change_what_they_should(services):
    base, view0, *_ = h.render(services, *_args(view="One channel"))
    _, view5, *_ = h.render(services, *_args(view="One channel", channel=5))
    assert not np.array_equal(view0, view5)
    mixed, *_ = h.render(services, *_args(style_mix=1.0, style_seed=7))
    quiet, *_ = h.render(services, *_args(noise=0.0))
    assert np.abs(mixed.astype(int) - base).mean() > 0.5
    assert np.abs(quiet.astype(int) - base).mean() > 0.05
    assert np.array_equal(h.render(services, *_args())[0], base)          # the same request, the same pixels


def test_switching_off_the_hair_units_shrinks_the_hair_the_segmenter_sees(services):
    base, *_ = h.render(services, *_args())
    edited, _, _, report = h.render(services, *_args(part="hair", units=16, strength=1.0))
    assert np.abs(edited.astype(int) - base).mean() > 1.0
    before, after = [float(x.rstrip("%")) for x in report.split("picture before, ")[0].split()[-3:-2] +
                     report.split("before, ")[1].split()[:1]]
    assert after < before, report
    # Half the strength changes the picture less than the whole.
    half, *_ = h.render(services, *_args(part="hair", units=16, strength=0.5))
    assert 0 < np.abs(half.astype(int) - base).mean() < np.abs(edited.astype(int) - base).mean()


def test_an_edit_inside_a_region_leaves_the_far_corner_alone(services):
    base, *_ = h.render(services, *_args(layer="b32.conv1"))
    edited, *_ = h.render(services, *_args(layer="b32.conv1", part="hair", units=16, strength=1.0, size=0.3,
                                           centre=(0.25, 0.25)))
    diff = np.abs(edited.astype(int) - base).sum(-1)
    assert diff[:24, :24].sum() > 0 and diff[44:, 44:].sum() < diff[:24, :24].sum() / 10


def test_dissect_from_the_button_saves_and_lists_the_layer(services):
    layer = "b8.conv0"
    part, table, about = h.dissect(services, FACES, layer, 16)
    assert part["value"] == "mouth" and len(table["value"]) == 7 and "16 samples" in about
    assert (services.weights_dir / f"{FACES}.dissect" / f"{layer}.json").is_file()
    assert h.select_layer(services, FACES, layer)[3] == about


def test_a_model_without_part_masks_says_so_and_still_shows_its_layers(services):
    layers, *_, part, table, about, _ = h.select_model(services, "dcgan-mnist")
    assert [c[1] for c in layers["choices"]] == ["b4.act", "b8.act", "b16.act"]
    assert "no part masks" in about and part["choices"] == [h.NO_PART]
    with pytest.raises(gr.Error, match="no part masks"):
        h.dissect(services, "dcgan-mnist", "b4.act", 16)
    pic, *_ = h.render(services, *_args(model="dcgan-mnist", layer="b8.act"))
    assert pic.shape == (32, 32)


def test_progan_stage_lists_the_layers_it_runs(services):
    layers, _, _, style_row, stage, alpha, *_ = h.select_model(services, "progan-faces", 1)
    assert stage["visible"] and not style_row["visible"]
    small, *_ = h.render(services, *_args(model="progan-faces", layer="b8.conv1", stage=1))
    assert small.shape == (8, 8, 3)
    with pytest.raises(gr.Error, match="does not run at this stage; the layers that do are b4.conv, b8.conv0"):
        h.render(services, *_args(model="progan-faces", layer="b32.conv1", stage=1))
    with pytest.raises(gr.Error, match="trained up to stage 4"):
        h.render(services, *_args(model="progan-faces", layer="b8.conv1", stage=9))


@pytest.mark.parametrize("bad,match", [
    (dict(layer="b99.conv"), "not a layer"), (dict(view="X-ray"), "View"), (dict(units=0), "Units"),
    (dict(strength=2.0), "strength"), (dict(seed=-1), "Seed"), (dict(size=0.0), "Region size"),
    (dict(model="../../etc/passwd"), "no longer there"),
])
def test_bad_input_is_refused_with_a_sentence(services, bad, match):
    with pytest.raises(gr.Error, match=match):
        h.render(services, *_args(**bad))
