"""The directions shipped beside the models in weights/ (scripts/make_directions.py): every model has
SeFa and PCA directions of its latent size (PCA in z: of the first layer's activations, whose spectrum
is the model's, not the sampler's flat one), supervised directions
named in words that move their attribute on seeds the script never measured, and the Edit and
Interpolate tabs open on the faces StyleGAN2 with a direction chosen, so a first drag moves the picture."""

import importlib.util
import json
import shutil
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch

from explorer.attributes import CLASSIFIER_DIR
from explorer.edit import directions as dirs
from explorer.render.edit import EditRenderer
from explorer.render import Renderer
from explorer.render.style import StyleRenderer
from explorer.ui import edit_tab as et
from explorer.ui import interp_tab as it
from explorer.ui.services import Services
from explorer.weights import list_checkpoints

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "weights"
SHIPPED = list_checkpoints(WEIGHTS)
FACES = [e for e in SHIPPED if e.name.endswith("-faces")]
HELD_OUT = list(range(5000, 5016))  # seeds the script never walked (it measures seeds 0-63)

pytestmark = pytest.mark.skipif(not SHIPPED, reason="weights/ holds no shipped model")


@pytest.fixture(scope="module")
def er():
    r = Renderer("cpu")
    return EditRenderer(r, StyleRenderer(r))


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    """Reads the shipped weights/ (these tests only open, render and preview: nothing is written)."""
    return Services(WEIGHTS, tmp_path_factory.mktemp("runs"), torch.device("cpu"))


def _script():
    spec = importlib.util.spec_from_file_location("make_directions", REPO / "scripts" / "make_directions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("entry", SHIPPED, ids=[e.name for e in SHIPPED])
def test_every_shipped_model_has_sefa_and_pca(er, entry):
    G, _ = er.model(entry.path)
    saved = dirs.load_directions(entry.path)
    assert saved, f"no directions beside {entry.name}: python scripts/make_directions.py"
    assert all(d.vector.shape == (G.w_dim,) and d.std > 0 for d in saved)
    assert {f"sefa #{i}" for i in range(5)} | {f"pca #{i}" for i in range(5)} <= {d.name for d in saved}
    pca = sorted((d for d in saved if d.method == "pca"), key=lambda d: d.stats["rank"])
    ratio = [d.stats["explained_variance"] for d in pca]
    assert len(pca) == 5 and ratio == sorted(ratio, reverse=True)
    if dirs.latent_space(G) == "w":
        assert all(d.space == "w" for d in saved)
        assert any(d.method == "sefa" and d.layers is not None for d in saved), "no coarse-layer SeFa"
    else:  # of the early layer's activations: the sampled z alone would give each axis about 1 / z_dim
        assert all(d.space == "z" for d in saved)
        assert all(d.stats["layer"] == dirs.early_layer(G)[0] for d in pca)
        assert ratio[0] > 3 / G.z_dim and all(d.std == pytest.approx(1.0, abs=0.1) for d in pca)
    assert sum(p.stat().st_size for p in dirs.store_dir(entry.path).iterdir()) < 100_000


def test_mnist_models_have_digit_directions(er):
    for entry in (e for e in SHIPPED if e.name.endswith("-mnist")):
        names = {d.name: d for d in dirs.load_directions(entry.path)}
        assert {f"digit {k}" for k in range(10)} | {"3 → 8", "1 → 7", "4 → 9"} <= set(names)
        assert names["digit 3"].stats["attribute"] == "digit=3" and names["3 → 8"].method == "means"
        assert len(names["3 → 8"].stats["seeds_a"]) == 64


@pytest.mark.skipif(not (CLASSIFIER_DIR / "faces.json").is_file(), reason="no shipped faces classifier")
@pytest.mark.parametrize("entry", FACES, ids=[e.name for e in FACES])
def test_supervised_faces_directions_move_their_attribute(er, entry):
    """Named in words, and +2 std raises the attribute's classifier output over held-out seeds (-2 lowers it)."""
    supervised = [d for d in dirs.load_directions(entry.path) if d.method == "supervised"]
    assert len(supervised) >= 4
    clf = er.classifier(entry.path)
    for d in supervised:
        a = d.stats["attribute"]
        assert "_" not in d.name and a in {x.name for x in clf.attributes}, d.name
        x, outs = er.attribute_walk(entry.path, clf, d, HELD_OUT, (-2.0, 0.0, 2.0))
        lo, mid, hi = (float(outs[a][x == s].mean()) for s in (-2.0, 0.0, 2.0))
        assert lo < mid < hi and hi - lo > 0.1, (entry.name, d.name, lo, mid, hi)


def test_the_script_rewrites_the_same_files(tmp_path):
    """Re-run on a copy of a model: the same files, the same vectors (to float precision: another CPU's
    BLAS may round the last bits differently; on one machine they are identical bit for bit)."""
    name = "projected-emoji"  # SeFa and PCA only: a few seconds
    for suffix in (".json", ".safetensors"):
        shutil.copy(WEIGHTS / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
    assert _script().main(["--weights", str(tmp_path), "--models", name]) == 0
    made, shipped = tmp_path / f"{name}.directions", WEIGHTS / f"{name}.directions"
    assert sorted(p.name for p in made.iterdir()) == sorted(p.name for p in shipped.iterdir())
    for p in made.glob("*.json"):
        a, b = json.loads(p.read_text()), json.loads((shipped / p.name).read_text())
        assert a.pop("std") == pytest.approx(b.pop("std"), rel=1e-5)
        assert a.pop("stats")["rank"] == b.pop("stats")["rank"] and a == b
        np.testing.assert_allclose(np.load(p.with_suffix(".npy")), np.load(shipped / p.with_suffix(".npy").name),
                                   atol=1e-6)


# --- the tabs open on the faces StyleGAN2 with a direction chosen ---------------------------------------


@pytest.fixture(scope="module")
def tabs(services):
    with gr.Blocks():
        return et.create_edit_tab(services), it.create_interp_tab(services)


def test_edit_tab_opens_on_the_faces_stylegan_with_slot_1_set(services, tabs):
    edit, _ = tabs
    first = dirs.first_choice(dirs.load_directions(WEIGHTS / "stylegan2-faces.json"))
    assert first.method == "supervised" and first.stats["effect"] > 0.3
    assert edit["model"].value == "stylegan2-faces" and edit["slots"][0].value == first.name
    out = edit["refresh_fn"]("stylegan2-faces")  # what the page load runs
    slots = [u["value"] for u in out[1:1 + 3 * et.SLOTS]]
    assert out[0]["value"] == "stylegan2-faces" and slots[0] == first.name and slots[1] == 0.0
    original, edited, info = out[-4:-1]
    assert np.array_equal(original, edited) and "0 directions applied" in info
    slots[1] = 1.5  # the first drag of slot 1's strength
    _, moved, info = et.render(services, "stylegan2-faces", 0, 1.0, *slots)
    assert np.abs(moved.astype(float) - original.astype(float)).mean() > 3 and "1 direction applied" in info


def test_switching_models_sets_slot_1_and_refresh_keeps_the_users_choice(services, tabs):
    edit, _ = tabs
    for name in ("dcgan-mnist", "projected-emoji"):
        ups = edit["open_fn"](name, 0, 1.0)
        saved = {d.name for d in dirs.load_directions(WEIGHTS / f"{name}.json")}
        assert ups[0]["value"] in saved and all(u["value"] == et.NONE for u in ups[3:3 * et.SLOTS:3])
    slots = [et.NONE, 0.0, "All (w0–w9)"] * et.SLOTS
    slots[3:6] = ["glasses", -1.0, "All (w0–w9)"]  # slot 1 cleared and slot 2 set by the user
    out = edit["refresh_fn"]("stylegan2-faces", 3, 1.0, *slots)
    assert [u["value"] for u in out[1:7]] == slots[:6]
    assert "1 direction applied" in out[-2]


def test_interpolate_tab_has_the_direction_and_a_walk_works_at_once(services, tabs):
    _, interp = tabs
    first = dirs.first_choice(dirs.load_directions(WEIGHTS / "stylegan2-faces.json")).name
    assert interp["model"].value == "stylegan2-faces" and interp["direction"].value == first
    assert interp["kind"].value == "Keyframes" and interp["strength"].value == 0.0
    controls = ["stylegan2-faces", "Keyframes", "0, 1, 2", "w", "spherical", 9, 1.0]
    out = interp["refresh_fn"](*controls, first, 0.0, 0)  # the page load: the plain keyframe path
    plain = it.preview(services, *controls, et.NONE, 0.0, 0)[0]
    assert out[1]["value"] == first and out[2] == 0.0 and np.array_equal(out[3], plain)
    # Picking "Direction walk" (strength still 0) walks along the chosen direction at once.
    walk = it.choose(services, "stylegan2-faces", "Direction walk", *controls[2:], first, 0.0, 0, fresh=False)
    assert walk[0]["value"] == first and walk[1] == it.WALK_STRENGTH and "walk" in walk[3]
    end = it.preview(services, "stylegan2-faces", "Direction walk", *controls[2:], first, walk[1], 8)[0]
    assert not np.array_equal(walk[2], end)
