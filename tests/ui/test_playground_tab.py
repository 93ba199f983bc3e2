"""The Playground tab: a page's playground opens on a preset, plays in the background while the page polls,
steps D or G alone, slows one iteration down into its two halves, applies training settings to the training
in progress, draws points a person clicks, loads a CSV, and saves a PNG whose recipe replays to the same
state; and through the launched app, Play makes the poll's picture move."""

from __future__ import annotations

import time

import gradio as gr
import numpy as np
import pytest
import torch

from explorer.playground import PRESETS, recipe
from explorer.ui import playground_handlers as h
from explorer.ui.playground_runner import Runner

# Gradio 6.31's queue calls pandas APIs that pandas 3 deprecates: noise from inside gradio.
pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture
def page():
    runner = Runner()
    out = h.open_page(runner, None)
    return runner, out[0], out


def test_a_page_opens_on_the_first_preset_with_its_sentence_and_controls(page):
    runner, key, (k, preset, watch, *rest) = page
    form, (picture, info, losses, scores) = rest[:len(h.FORM)], rest[len(h.FORM):]
    assert len(losses) == 0 and len(scores) == 0     # nothing trained yet: empty, typed charts
    assert preset == next(iter(PRESETS)) and watch == PRESETS[preset].watch
    assert form == h.controls_of(PRESETS[preset].config)
    assert picture.dtype == np.uint8 and picture.shape[1] == h.VIEW_PX and "**0** G steps" in info
    assert h.open_page(runner, key)[0] == key          # a page reload keeps its playground


def test_steps_move_only_their_own_network_and_slow_step_shows_both_halves(page):
    runner, key, _ = page
    pg = runner.session(key).pg
    g0 = {k: v.clone() for k, v in pg.G.state_dict().items()}
    h.act(runner, key, "d")
    assert all(torch.equal(v, pg.G.state_dict()[k]) for k, v in g0.items()) and pg.d_steps == 1
    h.act(runner, key, "g")
    assert pg.g_steps == 1
    frames = list(h.slow_step(runner, key, pause_s=0.0))
    assert [f[1].split("**")[1] for f in frames] == ["Slow step: before", "Slow step: after D", "Slow step: after G"]
    assert not np.array_equal(frames[0][0], frames[2][0])


def test_play_trains_in_the_background_and_the_poll_sends_only_what_moved(page):
    runner, key, _ = page
    s = runner.session(key)
    assert h.poll(runner, key, s.version) == (gr.skip(),) * 5      # paused and unchanged: nothing sent
    h.act(runner, key, "play", 10)
    deadline = time.monotonic() + 20
    while s.pg.g_steps < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    picture, info, losses, scores, version = h.poll(runner, key, -1)
    assert s.running and s.pg.g_steps >= 30 and "training" in info and len(losses) > 0
    assert set(scores["series"]) >= {"D on reals", "D on fakes"}
    h.act(runner, key, "pause")
    time.sleep(0.3)
    steps = s.pg.g_steps
    time.sleep(0.5)
    assert s.pg.g_steps == steps and not s.running


def test_at_most_max_running_play_at_once_and_the_third_is_told(page):
    runner, key, _ = page
    others = [h.open_page(runner, None)[0] for _ in range(2)]
    h.act(runner, others[0], "play")
    h.act(runner, others[1], "play")
    with pytest.raises(gr.Error, match="playgrounds are training on this server already"):
        h.act(runner, key, "play")
    for k in others:
        h.act(runner, k, "pause")


def test_training_settings_change_the_training_in_progress_and_shapes_start_over(page):
    runner, key, _ = page
    s = runner.session(key)
    h.act(runner, key, "both")
    form = h.controls_of(s.pg.config)
    form[5] = 5e-3                                   # lr of D
    h.apply_settings(runner, key, *form)
    assert s.pg.config.train.lr_d == 5e-3 and s.pg.g_steps == 1 and ["set", {"lr_d": 5e-3}] in s.pg.recipe()["actions"]
    form[0] = "moons"
    h.apply_settings(runner, key, *form)
    assert s.pg.config.data.name == "moons" and s.pg.g_steps == 0
    form[2] = "wgan-gp"                              # WGAN-GP has no label smoothing: the form's is ignored
    form[7] = 0.2
    h.apply_settings(runner, key, *form)
    assert s.pg.config.train.loss == "wgan-gp" and s.pg.config.train.label_smoothing == 0.0
    with pytest.raises(gr.Error, match="Learning rate of G"):
        h.apply_settings(runner, key, *(form[:4] + [5.0] + form[5:]))
    form[2], form[13], form[15], form[16], form[18] = "bce", 0.1, 0.3, 0.6, 48   # noise, D dropout, β1, G width
    h.apply_settings(runner, key, *form)
    t, m = s.pg.config.train, s.pg.config.model
    assert (t.label_noise, m.d_dropout, t.beta1, m.g_width) == (0.1, 0.3, 0.6, 48) and s.pg.g_steps == 0


class Click:
    def __init__(self, x, y):
        self.index = [x, y]


def test_clicked_points_become_the_data_from_the_eighth(page):
    runner, key, _ = page
    for i in range(7):
        out = h.add_point(runner, key, Click(100 + 30 * i, 200))
        assert "draw at least 8" in out[1]
    out = h.add_point(runner, key, Click(100, 300))
    assert out[4] == "drawn" and runner.session(key).pg.config.data.name == "drawn"
    assert len(runner.session(key).pg.config.data.points) == 8
    assert "cleared" in h.clear_points(runner, key)


def test_a_csv_of_points_is_rescaled_into_the_plane(page, tmp_path):
    runner, key, _ = page
    f = tmp_path / "pts.csv"
    f.write_text("x,y\n" + "\n".join(f"{10 * np.cos(a):.3f},{10 * np.sin(a):.3f}" for a in np.linspace(0, 6, 40)))
    h.upload_points(runner, key, str(f))
    pts = np.asarray(runner.session(key).pg.config.data.points)
    assert pts.shape == (40, 2) and np.abs(pts).max() <= 1.0 + 1e-6
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2\nthree,4\n")
    with pytest.raises(gr.Error, match="line"):
        h.upload_points(runner, key, str(bad))


def test_a_saved_png_replays_to_the_same_state_and_continues_the_same_way(page, tmp_path):
    runner, key, _ = page
    h.choose_preset(runner, key, "wgan-gp")
    h.act(runner, key, "both")
    h.act(runner, key, "d")
    s = runner.session(key)
    path = h.save_recipe(runner, key, lambda name: tmp_path / name)
    want = s.pg.state_tensors()
    other = h.open_page(runner, None)[0]
    h.load_recipe(runner, other, path)
    got = runner.session(other).pg
    assert all(torch.equal(want[k], v) for k, v in got.state_tensors().items())
    s.pg.step(3)
    got.step(3)
    assert torch.equal(s.pg.G(torch.zeros(1, 2)), got.G(torch.zeros(1, 2)))
    assert recipe.read_png(path)["kind"] == "playground"


@pytest.mark.parametrize("bad", [None, "", "../../etc", "x" * 500])
def test_a_page_without_a_session_is_told_to_reload(bad):
    with pytest.raises(gr.Error, match="reload the page"):
        h.act(Runner(), bad, "both")


def test_each_api_client_has_its_own_playground(app_tiny_server):
    """Through the launched app: a client's steps move its own playground only (keyed by its session)."""
    from gradio_client import Client

    a, b = Client(app_tiny_server.url, verbose=False), Client(app_tiny_server.url, verbose=False)
    for _ in range(3):
        out_a = a.predict(5, api_name="/playground_both")
    out_b = b.predict(5, api_name="/playground_d")
    assert "3 G steps, 3 D steps" in out_a[1].replace("**", "")
    assert "0 G steps, 1 D steps" in out_b[1].replace("**", "")
    form = h.controls_of(PRESETS[next(iter(PRESETS))].config)
    form[6] = 4                                       # D steps per G step, as the slider sends it
    a.predict(*form, api_name="/playground_settings")
    assert "4 G steps, 7 D steps" in a.predict(5, api_name="/playground_both")[1].replace("**", "")
