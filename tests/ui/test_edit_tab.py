"""The Edit tab: directions found on the opened model (every family), saved beside it and listed
again, applied per layer range with the StyleGAN layer cache, recipe round trips to identical
pixels, bad recipes rejected with nothing changed, and, through the launched app, the edited
image moving away from the original monotonically with |strength|."""

import json

import gradio as gr
import numpy as np
import pytest
import torch
from PIL import Image
from helpers import (TINY_PROGAN_NAME, TINY_STYLEGAN_NAME, AppDirs, launch_app, make_tiny_checkpoint,
                      make_tiny_progan_checkpoint, make_tiny_stylegan_checkpoint)

from explorer.edit import directions as dirs
from explorer.render.edit import SAMPLES
from explorer.ui import edit_tab as et
from explorer.ui.services import Services

NONE = et.NONE


@pytest.fixture(scope="module")
def edit_dirs(tmp_path_factory) -> AppDirs:
    root = tmp_path_factory.mktemp("edit")
    d = AppDirs(root / "weights", root / "runs")
    d.weights.mkdir()
    d.runs.mkdir()
    make_tiny_checkpoint(d.weights / "tiny")
    make_tiny_checkpoint(d.weights / "tiny-folder", train={"kimg": 1, "data": "folder", "recipe": "dcgan"})
    make_tiny_progan_checkpoint(d.weights / TINY_PROGAN_NAME)
    make_tiny_stylegan_checkpoint(d.weights / TINY_STYLEGAN_NAME, "modulated")
    return d


@pytest.fixture(scope="module")
def services(edit_dirs):
    return Services(edit_dirs.weights, edit_dirs.runs, torch.device("cpu"))


@pytest.fixture(scope="module")
def tab(services):
    with gr.Blocks():
        return et.create_edit_tab(services)


def _slots(*filled):
    out = []
    for i in range(et.SLOTS):
        out += list(filled[i]) if i < len(filled) else [NONE, 0.0, None]
    return out


def _all(services, model):
    return next(iter(et.layer_ranges(services.renderer.model(services.find_model(model).path)[0])))


def test_find_saves_beside_the_model_and_lists_on_open(services, edit_dirs):
    table, *updates = et.find(services, TINY_STYLEGAN_NAME, "SeFa (closed form)", 3, _all(services, TINY_STYLEGAN_NAME),
                              None, [], "", "", "")
    assert "sefa #0" in table and "eigenvalue" in table
    folder = edit_dirs.weights / f"{TINY_STYLEGAN_NAME}.directions"
    meta = json.loads((folder / "sefa-0.json").read_text())
    assert meta["method"] == "sefa" and meta["space"] == "w" and meta["stats"]["eigenvalue"] > 0
    assert np.load(folder / "sefa-0.npy").shape == (8,)
    opened = et.open_model(services, TINY_STYLEGAN_NAME)
    assert {"sefa #0", "sefa #1", "sefa #2"} <= set(opened[0]["choices"])
    assert any(c.startswith("Coarse") for c in opened[2]["choices"])


@pytest.mark.parametrize("model", ["tiny", TINY_PROGAN_NAME])
def test_z_space_families(services, model):
    table, *_ = et.find(services, model, "PCA (GANSpace)", 2, None, None, [], "", "", "")
    assert "explained_variance" in table
    # The tab's PCA is GANSpace's for z models (the first layer's activations, regressed to z), not PCA of z.
    G = services.renderer.model(services.find_model(model).path)[0]
    saved = {d.name: d for d in dirs.load_directions(services.find_model(model).path)}
    expected = dirs.find_pca(G, 2, SAMPLES)
    assert np.allclose(np.asarray(saved["pca #0"].vector), expected[0].vector.numpy()
                       if hasattr(expected[0].vector, "numpy") else expected[0].vector, atol=1e-6)
    et.find(services, model, "Difference of means", 1, None, None, [], "0-3", "4-7", "ab")
    span = _all(services, model)
    base, same, _ = et.render(services, model, 5, 1.0, *_slots())
    _, moved, _ = et.render(services, model, 5, 1.0, *_slots(("ab", 3.0, span), ("pca #0", -2.0, span)))
    assert np.array_equal(base, same) and not np.array_equal(base, moved)


def test_every_slot_applies_including_the_folded_ones(services):
    """All SLOTS directions act, the ones in the closed "More directions" accordion too: the last slot alone
    moves the image, and adding it to the others changes their sum."""
    et.find(services, TINY_STYLEGAN_NAME, "SeFa (closed form)", et.SLOTS, _all(services, TINY_STYLEGAN_NAME), None,
            [], "", "", "")
    span = _all(services, TINY_STYLEGAN_NAME)
    base, _, _ = et.render(services, TINY_STYLEGAN_NAME, 4, 1.0, *_slots())
    last = [(NONE, 0.0, None)] * (et.SLOTS - 1) + [(f"sefa #{et.SLOTS - 1}", 3.0, span)]
    _, moved, _ = et.render(services, TINY_STYLEGAN_NAME, 4, 1.0, *_slots(*last))
    assert et.SLOTS > et.SHOWN and not np.array_equal(base, moved)
    some = [(f"sefa #{i}", 1.0, span) for i in range(et.SLOTS - 1)]
    _, without, _ = et.render(services, TINY_STYLEGAN_NAME, 4, 1.0, *_slots(*some))
    _, with_last, _ = et.render(services, TINY_STYLEGAN_NAME, 4, 1.0, *_slots(*some, (f"sefa #{et.SLOTS - 1}", 1.0, span)))
    assert not np.array_equal(without, with_last)


def test_layer_range_reruns_only_from_the_first_edited_layer(services):
    et.find(services, TINY_STYLEGAN_NAME, "SeFa (closed form)", 2, _all(services, TINY_STYLEGAN_NAME), None, [],
            "", "", "")
    path = services.find_model(TINY_STYLEGAN_NAME).path
    G = services.renderer.model(path)[0]
    fine = next(k for k in et.layer_ranges(G) if not k.startswith(("All", "Coarse")))
    lo = et.layer_ranges(G)[fine][0]
    et.render(services, TINY_STYLEGAN_NAME, 2, 1.0, *_slots(("sefa #0", 1.0, fine)))
    _, _, info = et.render(services, TINY_STYLEGAN_NAME, 2, 1.0, *_slots(("sefa #0", 2.0, fine)))
    # StyleGAN2: the skip toRGB after layer i reads w_(i+1), so that layer is the first to re-run.
    reads = services.style._layer_reads(G)
    first_layer = next(i for i, ks in enumerate(reads) if any(k >= lo for k in ks))
    assert 0 < first_layer < G.num_layers
    assert f"{G.num_layers - first_layer} synthesis layers re-run" in info


def test_bad_inputs_are_sentences(services):
    with pytest.raises(gr.Error, match="not saved"):
        et.render(services, TINY_STYLEGAN_NAME, 0, 1.0, *_slots(("nope", 1.0, _all(services, TINY_STYLEGAN_NAME))))
    with pytest.raises(gr.Error, match="same mean"):
        et.find(services, "tiny", "Difference of means", 1, None, None, [], "1-2", "1-2", "x")
    with pytest.raises(gr.Error, match="classifier"):
        et.find(services, "tiny-folder", "Supervised attribute", 1, None, "smile", [], "", "", "")


def test_supervised_direction_with_the_shipped_classifier(services, edit_dirs):
    """Labels from the shipped faces classifier on a tiny model trained on 'faces'; the direction is
    saved with the probe's accuracy and the attributes kept."""
    from explorer.attributes import CLASSIFIER_DIR

    if not (CLASSIFIER_DIR / "faces.json").is_file():
        pytest.skip("no shipped faces classifier")
    services.edits.supervised_samples = 120  # a few seconds on one thread
    labels = services.edits.labelled_samples(services.find_model("tiny").path, services.edits.classifier(
        services.find_model("tiny").path), 120)[1]
    both = [k for k, v in labels.items() if 10 <= int(v.sum()) <= 110]
    assert len(both) >= 2, "the tiny model's samples should vary in at least two attributes"
    table, *_ = et.find(services, "tiny", "Supervised attribute", 1, None, both[0], [both[1]], "", "", "")
    assert "accuracy" in table
    [d] = [d for d in dirs.load_directions(services.find_model("tiny").path) if d.method == "supervised"]
    assert d.stats["attribute"] == both[0] and d.stats["keep"] == [both[1]] and d.stats["accuracy"] > 0.5


def test_recipe_round_trip_to_identical_pixels(services, tab, edit_dirs):
    et.find(services, TINY_STYLEGAN_NAME, "SeFa (closed form)", 2, _all(services, TINY_STYLEGAN_NAME), None, [],
            "", "", "")
    G = services.renderer.model(services.find_model(TINY_STYLEGAN_NAME).path)[0]
    coarse = next(k for k in et.layer_ranges(G) if k.startswith("Coarse"))
    args = [TINY_STYLEGAN_NAME, 7, 0.8, *_slots(("sefa #1", -1.7, coarse), ("sefa #0", 2.3, _all(services, TINY_STYLEGAN_NAME)))]
    (png, js), _ = tab["recipe"]["save_fn"](*args)
    shown = et.render(services, *args)[1]
    saved = _pixels(png)
    assert np.array_equal(saved, shown)
    # The direction files are gone: the recipe carries the vectors and restores them.
    dirs.delete_direction(services.find_model(TINY_STYLEGAN_NAME).path, "sefa #1")
    for f in (png, js):
        out = tab["recipe"]["load_fn"](f)
        assert out[0] == TINY_STYLEGAN_NAME and out[1] == 7 and out[2]["value"] == 0.8 and out[2]["visible"]
        assert out[3]["value"] == "sefa #1" and out[4] == -1.7 and out[5]["value"] == coarse
        *_, original, edited, info, seen, message = out  # seen: the session's record of what the page shows
        assert np.array_equal(edited, saved), "the restored image differs from the saved one"
        assert set(seen) == {"0", "1"} and "Loaded the recipe" in message


def test_bad_recipes_change_nothing(services, tab, edit_dirs, tmp_path):
    args = [TINY_STYLEGAN_NAME, 1, 1.0, *_slots()]
    (png, js), _ = tab["recipe"]["save_fn"](*args)
    good = json.loads(open(js).read())
    before = sorted(p.name for p in edit_dirs.weights.rglob("*"))
    cases = {"malformed.json": "{not json", "unknown.json": json.dumps(dict(good, model="elsewhere")),
             "sha.json": json.dumps(dict(good, sha256="f" * 64)), "range.json": json.dumps(dict(good, seeds=[-4])),
             "tab.json": json.dumps(dict(good, tab="generate"))}
    messages = {"malformed.json": "neither a PNG nor valid JSON", "unknown.json": "not installed",
                "sha.json": "different weights", "range.json": "out of range", "tab.json": "Generate tab"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(gr.Error, match=messages[name]):
            tab["recipe"]["load_fn"](str(tmp_path / name))
    assert sorted(p.name for p in edit_dirs.weights.rglob("*")) == before


def _pixels(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _distance(a, b):
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())


def test_launched_app_edit_grows_with_strength(edit_dirs, services):
    from gradio_client import Client

    et.find(services, TINY_STYLEGAN_NAME, "SeFa (closed form)", 1, _all(services, TINY_STYLEGAN_NAME), None, [],
            "", "", "")
    span = _all(services, TINY_STYLEGAN_NAME)
    for app in launch_app(edit_dirs):
        client = Client(app.url, verbose=False)
        dist, a = {}, None
        for s in (-3.0, -1.5, 0.0, 1.5, 3.0):
            orig, edited, _ = client.predict(TINY_STYLEGAN_NAME, 3, 1.0, *_slots(("sefa #0", s, span)),
                                             api_name="/edit_render")
            if a is None:
                a = _pixels(orig)
            else:  # the session already has the original: only the edited picture is sent again
                assert orig == {"__type__": "update"}, orig
            dist[s] = _distance(a, _pixels(edited))
        # Another session (another browser tab) gets both pictures; a new seed sends the original again.
        other = Client(app.url, verbose=False)
        orig, _, _ = other.predict(TINY_STYLEGAN_NAME, 3, 1.0, *_slots(("sefa #0", 1.0, span)), api_name="/edit_render")
        assert np.array_equal(_pixels(orig), a)
        orig, _, _ = client.predict(TINY_STYLEGAN_NAME, 4, 1.0, *_slots(("sefa #0", 1.0, span)), api_name="/edit_render")
        assert _distance(_pixels(orig), a) > 0
        assert dist[0.0] == 0.0
        assert 0 < dist[1.5] < dist[3.0] and 0 < dist[-1.5] < dist[-3.0]


def test_default_model_falls_back_to_one_with_directions_then_the_first(tmp_path):
    """Another --weights folder, without the shipped faces StyleGAN2: the first model with saved
    directions, else the first; and the model's first choice fills slot 1 (none: "(none)")."""
    d = AppDirs(tmp_path / "weights", tmp_path / "runs")
    d.weights.mkdir()
    make_tiny_checkpoint(d.weights / "a-tiny")
    make_tiny_stylegan_checkpoint(d.weights / "b-style", "modulated")
    s = Services(d.weights, d.runs, torch.device("cpu"))
    assert et.default_model(s.models()) == "a-tiny"
    assert et.open_model(s, "a-tiny")[0]["value"] == NONE
    et.find(s, "b-style", "SeFa (closed form)", 2, _all(s, "b-style"), None, [], "", "", "")
    assert et.default_model(s.models()) == "b-style"
    assert et.open_model(s, "b-style")[0]["value"] == "sefa #0"
    # A supervised direction, named after what it changes, is chosen before SeFa's.
    vec = np.eye(8, dtype=np.float32)[3]
    dirs.save_direction(s.find_model("b-style").path, dirs.Direction("wide", "supervised", vec, 0.5, None, "w"))
    assert et.open_model(s, "b-style")[0]["value"] == "wide"
    with gr.Blocks():
        tab = et.create_edit_tab(s)
    assert tab["model"].value == "b-style" and tab["slots"][0].value == "wide" and tab["slots"][3].value == NONE
    # Find and save where slot 1 has no direction yet: it gets the model's first choice; a chosen one stays.
    assert et.first_if_none(s, "b-style", NONE)[0]["value"] == "wide"
    assert et.first_if_none(s, "b-style", "sefa #1")[0] == gr.skip()
