"""The Generate tab, in two of the three layers (GRADIO.md, "Testing in three layers"):
its handlers called directly, then the launched app driven over HTTP with gradio_client.
The third layer, a real browser, is test_browser.py. Fixtures: conftest.py (app_*)."""

from __future__ import annotations

import math

import gradio as gr
import httpx
import numpy as np
import pytest
import torch
from helpers import TINY_CONFIG, TINY_NAME, make_tiny_checkpoint
from gradio_client import Client
from PIL import Image

from explorer.ui.app import build_app
from explorer.ui.generate_tab import generate, refresh
from explorer.ui.services import Services

# Gradio 6.31's queue calls pandas APIs that pandas 3 deprecates: noise from inside gradio.
pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
RES = TINY_CONFIG["res"]
PAD = 2  # explorer.images.make_grid's default padding


def grid_shape(n: int, res: int = RES) -> tuple[int, int, int]:
    """make_grid's layout: near-square, cols = ceil(sqrt(n)), PAD pixels around every tile."""
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    return rows * (res + PAD) + PAD, cols * (res + PAD) + PAD, 3


def tile(grid: np.ndarray, i: int, n: int, res: int = RES) -> np.ndarray:
    """Image i of an n-image grid."""
    r, k = divmod(i, math.ceil(math.sqrt(n)))
    y, x = PAD + r * (res + PAD), PAD + k * (res + PAD)
    return grid[y:y + res, x:x + res]


def tiles(grid: np.ndarray, n: int) -> list[np.ndarray]:
    return [tile(grid, i, n) for i in range(n)]


# --- handlers -----------------------------------------------------------------------------


def test_generate_returns_grid_and_info_naming_the_model(app_tiny_services):
    grid, info = generate(app_tiny_services, TINY_NAME, "1-8, 42", 1.0)
    assert isinstance(grid, np.ndarray) and grid.dtype == np.uint8
    assert grid.shape == grid_shape(9) == (56, 56, 3)
    assert f"**{TINY_NAME}**" in info and "DCGAN" in info and "9 images" in info
    # The padding between tiles is black; the tiles are pictures, not blanks.
    assert grid[:PAD].max() == 0 and grid[:, :PAD].max() == 0
    assert all(t.std() > 0 for t in tiles(grid, 9))


def test_same_seed_same_tile_whatever_the_other_seeds(app_tiny_services):
    alone, _ = generate(app_tiny_services, TINY_NAME, "42", 1.0)
    many, _ = generate(app_tiny_services, TINY_NAME, "1-8, 42", 1.0)
    assert alone.shape == grid_shape(1)
    seed_42_alone, seed_42_in_batch = tile(alone, 0, 1), tile(many, 8, 9)
    np.testing.assert_array_equal(seed_42_in_batch, seed_42_alone)
    assert not np.array_equal(tile(many, 0, 9), seed_42_alone)  # seeds do differ


def test_truncation_psi_zero_makes_every_tile_the_same(app_tiny_services):
    full, _ = generate(app_tiny_services, TINY_NAME, "1-8, 42", 1.0)
    assert len({t.tobytes() for t in tiles(full, 9)}) == 9
    # DCGAN's truncation scales z towards its mean 0: psi = 0 leaves one image for every seed.
    average, _ = generate(app_tiny_services, TINY_NAME, "1-8, 42", 0.0)
    first = tile(average, 0, 9)
    for t in tiles(average, 9):
        np.testing.assert_array_equal(t, first)


@pytest.mark.parametrize("seeds_text, hint", [
    ("abc", "type whole numbers like 1-8, 42"),
    ("8-1", "write it as 1-8"),
    ("", "Type one or more seeds, e.g. 1-8, 42"),
    ("0-100000", "at most 64 at once"),
])
def test_bad_seeds_raise_an_error_that_says_what_to_type(app_tiny_services, seeds_text, hint):
    with pytest.raises(gr.Error) as e:
        generate(app_tiny_services, TINY_NAME, seeds_text, 1.0)
    assert hint in e.value.message


def test_unknown_or_missing_model_raises_an_error(app_tiny_services):
    with pytest.raises(gr.Error) as e:
        generate(app_tiny_services, "no-such-model", "1-4", 1.0)
    assert "'no-such-model'" in e.value.message and "Refresh list" in e.value.message
    with pytest.raises(gr.Error) as e:
        generate(app_tiny_services, None, "1-4", 1.0)
    assert "No model is selected" in e.value.message


@pytest.fixture
def own_dirs(tmp_path):
    """A weights folder with "tiny" and an empty runs folder that this test alone may change."""
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    runs.mkdir()
    make_tiny_checkpoint(weights / TINY_NAME)
    return weights, runs


def test_refresh_picks_up_a_checkpoint_added_after_the_app_was_built(own_dirs):
    services = Services(*own_dirs, torch.device("cpu"))
    demo = build_app(services)
    dropdown = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "gen-model")
    assert [c[0] for c in dropdown.choices] == [TINY_NAME]

    make_tiny_checkpoint(own_dirs[0] / "tiny2", seed=1)
    model_update, empty_update = refresh(services, TINY_NAME)
    assert model_update["choices"] == [TINY_NAME, "tiny2"]
    assert model_update["value"] == TINY_NAME  # the current choice is kept
    assert empty_update["visible"] is False
    grid, info = generate(services, "tiny2", "1-4", 1.0)
    assert grid.shape == grid_shape(4) and "**tiny2**" in info


def test_refresh_lists_a_training_runs_newest_snapshot(own_dirs):
    weights, runs = own_dirs
    services = Services(weights, runs, torch.device("cpu"))
    assert refresh(services, TINY_NAME)[0]["choices"] == [TINY_NAME]

    make_tiny_checkpoint(runs / "myrun" / "snapshots" / "snapshot-000001", seed=2)
    model_update, _ = refresh(services, TINY_NAME)
    assert model_update["choices"] == [TINY_NAME, "run: myrun"]
    grid, info = generate(services, "run: myrun", "1-4", 1.0)
    assert grid.shape == grid_shape(4) and "**run: myrun**" in info


def test_empty_weights_dir_builds_an_app_that_says_how_to_train(app_empty_dirs):
    services = Services(app_empty_dirs.weights, app_empty_dirs.runs, torch.device("cpu"))
    demo = build_app(services)
    by_id = {b.elem_id: b for b in demo.blocks.values() if getattr(b, "elem_id", None)}
    assert by_id["gen-empty"].visible is True
    assert "python -m explorer.train" in by_id["gen-empty"].value
    assert by_id["gen-model"].value is None and by_id["gen-model"].choices == []

    model_update, empty_update = refresh(services, None)
    assert model_update["choices"] == [] and model_update["value"] is None
    assert empty_update["visible"] is True
    with pytest.raises(gr.Error, match="No model is selected"):
        generate(services, None, "1-4", 1.0)


# --- the launched app over HTTP -------------------------------------------------------------


@pytest.fixture(scope="module")
def client(app_tiny_server, tmp_path_factory):
    return Client(app_tiny_server.url, verbose=False, download_files=str(tmp_path_factory.mktemp("client")))


def test_empty_app_serves_its_page_with_the_training_hint(app_empty_server):
    page = httpx.get(app_empty_server.url, timeout=10)
    assert page.status_code == 200 and "<html" in page.text.lower()
    config = httpx.get(app_empty_server.url + "config", timeout=10).json()
    empty = next(c["props"] for c in config["components"] if c.get("props", {}).get("elem_id") == "gen-empty")
    assert empty["visible"] is True and "python -m explorer.train" in empty["value"]


def test_client_generate_returns_a_png_of_the_grid(client, app_tiny_services):
    path, info = client.predict(TINY_NAME, "1-4", 1.0, api_name="/generate")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        picture = np.asarray(im)
    assert picture.shape == grid_shape(4) == (38, 38, 3)
    expected, _ = generate(app_tiny_services, TINY_NAME, "1-4", 1.0)
    np.testing.assert_array_equal(picture, expected)  # PNG is lossless
    assert f"**{TINY_NAME}**" in info and "4 images" in info


def test_client_psi_endpoint_renders_the_average_at_zero(client):
    path, _ = client.predict(TINY_NAME, "1-4", 0.0, api_name="/generate_psi")
    with Image.open(path) as im:
        picture = np.asarray(im)
    assert len({t.tobytes() for t in tiles(picture, 4)}) == 1


def test_client_sees_the_error_sentence(client):
    with pytest.raises(Exception, match="type whole numbers like 1-8, 42"):
        client.predict(TINY_NAME, "abc", 1.0, api_name="/generate")


def test_client_psi_out_of_range_is_rejected_by_the_server(client):
    with pytest.raises(Exception, match="greater than maximum value 1.5"):
        client.predict(TINY_NAME, "1-4", 2.0, api_name="/generate_psi")


def test_direct_post_that_bypasses_the_queue_is_refused(app_tiny_server):
    # demo.queue(api_open=False): only queued calls (what gradio_client and the page use) run.
    resp = httpx.post(app_tiny_server.url + "gradio_api/api/generate/",
                      json={"data": [TINY_NAME, "1-4", 1.0]}, timeout=10)
    assert resp.status_code == 404
    assert "join the queue" in resp.json()["detail"]


def test_a_model_trained_after_start_opens_without_a_refresh(tmp_path):
    """A run that finishes while the server is up: a new page load lists it, a client can name it."""
    from helpers import AppDirs, launch_app

    weights, runs = tmp_path / "weights", tmp_path / "runs"
    make_tiny_checkpoint(weights / TINY_NAME)
    runs.mkdir()
    server = launch_app(AppDirs(weights, runs))
    launched = next(server)
    try:
        make_tiny_checkpoint(runs / "late" / "snapshots" / "snapshot-000001", seed=3)
        c = Client(launched.url, verbose=False, download_files=str(tmp_path / "dl"))
        path, info = c.predict("run: late", "1-4", 1.0, api_name="/generate")
        assert "**run: late**" in info
        with pytest.raises(Exception, match="no longer there"):
            c.predict("run: nope", "1-4", 1.0, api_name="/generate")
    finally:
        server.close()


def test_the_model_list_is_scanned_again_only_when_a_folder_changes(tmp_path, monkeypatch):
    """A drag looks its model up on every event: the scan (every checkpoint's JSON) is reused while weights/,
    runs/ and each run's snapshots/ are unchanged, and redone at once when a checkpoint or snapshot appears."""
    from explorer.ui import services as services_module

    calls = []
    real = services_module.list_checkpoints
    monkeypatch.setattr(services_module, "list_checkpoints", lambda *a: calls.append(1) or real(*a))
    weights, runs = tmp_path / "weights", tmp_path / "runs"
    make_tiny_checkpoint(weights / "tiny")
    runs.mkdir()
    s = Services(weights, runs, torch.device("cpu"))
    for _ in range(20):
        assert s.find_model("tiny") is not None
    assert len(calls) == 1
    make_tiny_checkpoint(runs / "later" / "snapshots" / "snapshot-000000",
                         train={"kimg": 1.0, "data": "faces", "recipe": "dcgan"})
    assert s.find_model("run: later") is not None and len(calls) == 2
    make_tiny_checkpoint(weights / "second")
    assert s.find_model("second") is not None and len(calls) == 3
    monkeypatch.setattr(services_module, "MODELS_TTL_S", 0.0)  # a file edited in place: found after the TTL
    s.models()
    assert len(calls) == 4


# --- the tabs on their handles ------------------------------------------------------------------


def _loads(demo) -> list[list[str]]:
    """The elem_ids each page-load event writes, in the order they were wired."""
    return [[getattr(o, "elem_id", None) for o in fn.outputs] for fn in demo.fns.values()
            if any(t[1] == "load" for t in fn.targets)]


def test_every_tab_gives_the_app_its_handle(app_tiny_services):
    from explorer.ui.app import TABS
    from explorer.ui.common import TabHandle

    with gr.Blocks():
        with gr.Tabs():
            handles = [create(app_tiny_services) for create in TABS]
    assert all(isinstance(h, TabHandle) for h in handles)
    assert [h.id for h in handles] == ["generate", "progan", "stylegan", "edit", "interpolate", "project", "inspect",
                                       "playground", "train", "metrics"]
    assert all(h.on_load for h in handles)
    assert [h.id for h in handles if h.model is None] == ["playground", "train"]
    # "Open in explorer" (the Train tab's) opens snapshots in the Generate, ProGAN and StyleGAN tabs.
    assert [h.id for h in handles if h.open_model is not None] == ["generate", "progan", "stylegan"]
    # The Project tab's "Open in ..." puts a projected image in the StyleGAN, Edit and Interpolate tabs.
    assert [h.id for h in handles if h.latent is not None] == ["stylegan", "edit", "interpolate"]
    assert [h.id for h in handles if h.opener is not None] == ["train"]
    assert handles[0]["seeds"].elem_id == "gen-seeds" and handles[2]["mix"][0].elem_id == "sg-w0"
    with pytest.raises(AttributeError):
        handles[0].id = "other"  # frozen


def test_a_tab_without_a_model_picker_is_one_more_entry_in_tabs(app_tiny_services, monkeypatch):
    from explorer.ui import app as app_module
    from explorer.ui.common import TabHandle

    def create_extra_tab(services):
        with gr.Tab("Extra", id="extra"):
            note = gr.Markdown(elem_id="extra-note")
        return TabHandle("extra", on_load=((lambda: "loaded", [], [note]),), parts={"note": note})

    before = _loads(build_app(app_tiny_services))
    monkeypatch.setattr(app_module, "TABS", (*app_module.TABS, create_extra_tab))
    after = _loads(app_module.build_app(app_tiny_services))
    assert after == before + [["extra-note"]]


def test_an_error_sentence_raised_inside_a_wrapped_call_keeps_its_words():
    """gr.Error is a ValueError: where a handler shows ValueErrors as sentences, its own gr.Error passes as it is
    (wrapped again, its message would gain quotes)."""
    from explorer.ui import inputs
    from explorer.ui.common import user_errors

    with pytest.raises(gr.Error) as e:
        with user_errors(ValueError):
            inputs.number("x", "Resolution")
    assert e.value.message.startswith("Resolution must be")
    with pytest.raises(gr.Error) as e:
        with user_errors(ValueError):
            raise ValueError("Say what to do.")
    assert e.value.message == "Say what to do."
    with pytest.raises(gr.Error) as e:
        inputs.seeds("1" * 3000, "images per grid", 64)
    assert e.value.message.startswith("The seed list is 3000 characters long")


def test_each_control_range_is_the_one_its_engine_checks():
    from explorer import limits
    from explorer.edit import directions, image_recipe
    from explorer.render import style

    assert limits.NOISE_STRENGTH.lo == 0 and limits.NOISE_STRENGTH.hi == style.MAX_STRENGTH
    span = (limits.DIRECTION_STRENGTH.lo, limits.DIRECTION_STRENGTH.hi)
    assert span == (-directions.MAX_STRENGTH, directions.MAX_STRENGTH) == image_recipe.STRENGTH_RANGE
    assert (limits.STYLE_PSI.lo, limits.STYLE_PSI.hi) == image_recipe.PSI_RANGE
    assert limits.VARIATION_RENDERS.hi == style.MAX_VARIATIONS
