"""The Project tab's handlers over a real runner and tiny real models: project an upload, watch it, keep
it, and use it in the Edit, StyleGAN and Interpolate tabs, recipes included."""

from __future__ import annotations

import time

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image

from explorer.ui import edit_handlers, project_handlers as h
from explorer.ui.services import Services
from explorer.ui.stylegan_handlers import MAX_LAYERS, MAX_WS, Controls, render as style_render
from helpers import TINY_NAME, TINY_STYLEGAN_NAME, make_dirs, make_tiny_checkpoint, make_tiny_stylegan_checkpoint

FORM = dict(space="w+", steps=20, pti=False, pti_steps=10, lr=0.1, perceptual=1.0, net="none (pixels only)",
            net_res=64, pixel=1.0, noise_maps=False, noise_reg=1e5, initial_noise=0.05, pti_lr=1e-3, pti_locality=0.1,
            seed=0)


def native(picture: np.ndarray, res: int = 16) -> np.ndarray:
    """A picture enlarged (nearest) for the page, back at the model's resolution."""
    f = picture.shape[0] // res
    return picture[::f, ::f]


def form(**kw) -> list:
    return list({**FORM, **kw}.values())


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    dirs = make_dirs(tmp_path_factory.mktemp("project"))
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    make_tiny_stylegan_checkpoint(dirs.weights / TINY_STYLEGAN_NAME, "modulated")
    return Services(dirs.weights, dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="module")
def photo(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("upload") / "Beach Day.png"
    rng = np.random.RandomState(0)
    arr = np.kron(rng.randint(0, 255, (6, 8, 3)), np.ones((5, 5, 1))).astype(np.uint8)  # 30 x 40, blocky
    Image.fromarray(arr).save(path)
    return str(path)


def wait(services, owner, timeout=60.0):
    t0 = time.monotonic()
    while services.projections.job(owner).state == "running":
        assert time.monotonic() - t0 < timeout, "the projection did not finish"
        time.sleep(0.05)
    return services.projections.job(owner)


def project(services, owner, photo, name="beach", model=TINY_STYLEGAN_NAME, **kw):
    status, target = h.start(services, owner, model, photo, name, *form(**kw))
    assert "Projecting into" in status and target is not None
    return wait(services, owner)


def test_preview_shows_the_crop_and_names_it(services, photo):
    crop, target, notes, name = h.preview(services, TINY_STYLEGAN_NAME, photo)
    assert crop.shape[:2] == (30, 40) and target.shape[0] >= 16 and name == "beach-day"
    assert "centre 30 × 30" in notes


def test_a_projection_runs_polls_and_is_kept(services, photo):
    job = project(services, "page-aaaaaa", photo)
    assert job.state == "done" and job.result.final["psnr"] > 0
    target, recon, curve, status, version, saved = h.poll(services, "page-aaaaaa", -1)
    assert recon is not None and len(curve) == 20 and "Done" in status and "@beach" in status
    assert saved["value"] == "@beach"
    assert h.poll(services, "page-aaaaaa", version) == (gr.skip(),) * 6  # nothing moved since
    # The saved projection: listed, shown as the tabs render it, and its picture is the one the job made.
    _, shown, info = h.show_saved(services, TINY_STYLEGAN_NAME, "@beach")
    assert "@beach" in info and "w+" in info
    np.testing.assert_array_equal(native(shown), native(recon))


def test_a_finish_landing_during_a_poll_still_lists_the_projection(services, photo, monkeypatch):
    """The runner may finish while a poll is answered: the page must not keep a version whose saved list it
    never received, or the Projection picker stays empty after "Done"."""
    job = project(services, "page-abcabc", photo, name="race")
    final, seen = job.version, job.version - 1
    job.state, job.version = "running", final - 1  # as just before the runner's last two writes
    real = h.status

    def finish_meanwhile(j):
        j.state, j.version = "done", final
        return real(j)

    monkeypatch.setattr(h, "status", finish_meanwhile)
    *_, status, version, saved = h.poll(services, "page-abcabc", seen - 1)
    monkeypatch.setattr(h, "status", real)
    assert "Done" in status
    if saved == gr.skip():  # the poll answered before the finish: the next one must send the list
        assert version != final
        *_, version, saved = h.poll(services, "page-abcabc", version)
    assert saved["value"] == "@race" and version == final


def test_bad_uploads_and_settings_are_sentences(services, tmp_path, photo):
    text = tmp_path / "notes.png"
    text.write_bytes(b"not a picture at all")
    with pytest.raises(gr.Error, match="not a picture"):
        h.start(services, "page-bbbbbb", TINY_STYLEGAN_NAME, str(text), "x", *form())
    with pytest.raises(gr.Error, match="Steps must be"):
        h.start(services, "page-bbbbbb", TINY_STYLEGAN_NAME, photo, "x", *form(steps=float("nan")))
    with pytest.raises(gr.Error, match="mapping network"):
        h.start(services, "page-bbbbbb", TINY_STYLEGAN_NAME, photo, "x", *form(space="z"))
    with pytest.raises(gr.Error, match="no mapping network, so it has no w"):
        h.start(services, "page-bbbbbb", TINY_NAME, photo, "x", *form(space="w+"))
    with pytest.raises(gr.Error, match="Upload a picture first"):
        h.start(services, "page-bbbbbb", TINY_STYLEGAN_NAME, None, "x", *form())
    assert services.projections.job("page-bbbbbb") is None  # nothing started, nothing written


def test_one_projection_at_a_time_and_only_its_page_stops_it(services, photo):
    h.start(services, "page-cccccc", TINY_STYLEGAN_NAME, photo, "long", *form(steps=3000))
    with pytest.raises(gr.Error, match="one runs at a time"):
        h.start(services, "page-dddddd", TINY_STYLEGAN_NAME, photo, "other", *form())
    assert "Nothing of this page" in h.stop(services, "page-dddddd")
    assert "Stopping" in h.stop(services, "page-cccccc")
    job = wait(services, "page-cccccc")
    assert job.state == "stopped" and job.done_steps() < 3000
    assert "best so far" in h.poll(services, "page-cccccc", -1)[3]
    assert "@long" in [v for _, v in h.saved_list(services.find_model(TINY_STYLEGAN_NAME))["choices"]]


def test_a_z_family_projects_and_opens_in_edit_not_stylegan(services, photo):
    space, *_ = h.select(services, TINY_NAME)
    assert space["choices"] == ["z"]
    job = project(services, "page-eeeeee", photo, name="dc", model=TINY_NAME, space="z")
    assert job.state == "done"
    assert h.open_target(services, "edit", TINY_NAME, "@dc") == (TINY_NAME, "@dc")
    with pytest.raises(gr.Error, match="no per-layer styles"):
        h.open_target(services, "stylegan", TINY_NAME, "@dc")


def test_the_projection_is_a_seed_in_edit_stylegan_and_interpolate_and_recipes_reproduce_it(services, photo):
    project(services, "page-ffffff", photo, name="me", pti=True, pti_steps=15)
    entry = services.find_model(TINY_STYLEGAN_NAME)
    _, recon, *_ = h.poll(services, "page-ffffff", -1)
    slots = ["(none)", 0.0, None] * edit_handlers.SLOTS
    ranges = list(edit_handlers.layer_ranges(services.renderer.model(entry.path)[0]))
    slots[2::3] = [ranges[0]] * edit_handlers.SLOTS
    original, edited, info = edit_handlers.render(services, TINY_STYLEGAN_NAME, 0, 1.0, *slots, "@me")
    np.testing.assert_array_equal(native(original), native(recon))  # Edit shows the PTI-tuned reconstruction
    assert "@me" in info
    seed_only = edit_handlers.render(services, TINY_STYLEGAN_NAME, 0, 1.0, *slots)[0]
    assert not np.array_equal(seed_only, original)
    # The recipe of the edited projection reproduces it bit for bit.
    recipe, picture = edit_handlers.build_recipe(services, TINY_STYLEGAN_NAME, 0, 1.0, *slots, "@me")
    assert recipe.seeds == ["@me"] and set(recipe.latents) == {"@me"}
    from explorer.edit import image_recipe as rc
    again = rc.parse(recipe.to_json())
    out = edit_handlers.restore(services, again, entry)
    np.testing.assert_array_equal(out[-3], picture)
    # StyleGAN A from the projection, B a seed: A is the reconstruction.
    a, mix, b, info = style_render(services, Controls(TINY_STYLEGAN_NAME, 0, 5, [0.0] * MAX_WS, 1.0, None, "const", 0,
                                                      [1.0] * MAX_LAYERS, "@me", "seed"))
    np.testing.assert_array_equal(native(a), native(recon))
    assert "@me" in info and "seed 5" in info
    # Interpolate through it.
    from explorer.ui.interp_tab import preview
    first, _ = preview(services, TINY_STYLEGAN_NAME, "Keyframes", "@me, 3", "w", "linear", 4, 1.0, "(none)", 0.0, 0)
    np.testing.assert_array_equal(native(first), native(recon))
    # Projected again under the same name (PTI again, another seed): the tabs draw with the new tuned copy,
    # never one a renderer cached of the old, and a recipe of the old latent is refused, saying so.
    project(services, "page-ffffff", photo, name="me", steps=11, pti=True, pti_steps=5, seed=9)
    _, recon2, *_ = h.poll(services, "page-ffffff", -1)
    assert not np.array_equal(native(recon2), native(recon))
    now = edit_handlers.render(services, TINY_STYLEGAN_NAME, 0, 1.0, *slots, "@me")[0]
    np.testing.assert_array_equal(native(now), native(recon2))
    assert len(list((services.weights_dir / f"{TINY_STYLEGAN_NAME}.latents" / "tuned").glob("me~*.json"))) == 1
    with pytest.raises(rc.RecipeError, match="projected again"):
        from explorer.ui.image_recipe_ui import check_latents
        check_latents(again, entry.path)
