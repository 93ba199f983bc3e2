"""The Train tab through the launched app (gradio_client): a tiny real run is started, watched,
stopped, resumed, killed and resumed again; bad uploads are refused; explorer renders keep
answering while a job trains. Each job is a real `python -m explorer.train` process training a
tiny DCGAN on MNIST at 16 px (about 1 sec/kimg on one thread)."""

from __future__ import annotations

import os
import signal
import statistics
import time

import pytest
from helpers import TINY_NAME, AppDirs, launch_training_app, make_tiny_checkpoint
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from helpers.jobs import bad_uploads, wait_for

from explorer.train.jobs import all_option_names, recipe_options
from explorer.ui.train_tab import UPLOAD, explorer_target, poll, status_text

pytestmark = [pytest.mark.filterwarnings("ignore:'future.no_silent_downcasting' is deprecated"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def train_app(tmp_path_factory):
    """The app over folders of its own, with a live sample grid every 0.5 s."""
    root = tmp_path_factory.mktemp("app-train")
    dirs = AppDirs(root / "weights", root / "runs")
    dirs.weights.mkdir()
    dirs.runs.mkdir()
    make_tiny_checkpoint(dirs.weights / TINY_NAME)
    app_gen = launch_training_app(dirs)
    app = next(app_gen)
    yield app, Client(app.url, verbose=False)
    app_gen.close()


def _status_file(run_dir) -> dict:
    import json
    try:
        return json.loads((run_dir / "status.json").read_text())
    except OSError:
        return {}


def form(name: str, data: str = "mnist", upload=None, kimg: float = 500, **options) -> list:
    """The Train tab's inputs in order: a tiny DCGAN on MNIST at 16 px, a tick every 0.5 kimg."""
    own = {o.name: o.default for o in recipe_options("dcgan")}
    own.update({"tick_kimg": 0.5, "snapshot_ticks": 2, "sample_ticks": 100, "num_samples": 16, **options})
    boxes = ["" if own.get(n) is None else str(own[n]) for n in all_option_names()]
    return ["dcgan", data, upload, "", 16, 16, 2e-4, 2e-4, kimg, 0, "cpu", name, "ngf=8, ndf=8, z_dim=16", *boxes]


def status(client: Client, name: str) -> dict:
    return client.predict(name, api_name="/train_status")


def test_start_watch_stop_resume_and_open_in_explorer(train_app):
    app, client = train_app
    notice, picker = client.predict(*form("watch"), api_name="/train_start")
    assert "Started **watch**" in notice and picker["value"] == "watch"

    # Live: the log and the fixed-seed grid advance (the grid on its own 0.5 s cadence).
    first = wait_for(lambda: (s := status(client, "watch"))["state"] == "running" and s["grid_kimg"] and
                     len(s["log_kimg"]) >= 2 and s, "the first ticks and grid")
    later = wait_for(lambda: (s := status(client, "watch"))["grid_kimg"] > first["grid_kimg"] and
                     len(s["log_kimg"]) > len(first["log_kimg"]) and s, "the grid and log to advance")
    assert later["kimg"] > first["kimg"] and later["sec_per_kimg"] > 0 and later["eta_sec"] > 0
    shown = client.predict("watch", api_name="/train_poll")  # what the timer draws on a fresh page
    text, progress, grid, caption, plot, log = shown[:6]
    assert "running" in text and "/ 500 kimg" in progress and "sec/kimg" in progress and "ETA" in progress
    assert os.path.isfile(grid) and "kimg" in caption and "tick" in log
    assert {row[2] for row in plot["data"]} == {"loss_D", "loss_G"}
    # The API leaves buttons out; the handler says what the page gets: it runs, so Stop acts, Resume not.
    stop_btn, resume_btn = poll(_services(app), "watch", None)[7:9]
    assert stop_btn["interactive"] is True and resume_btn["interactive"] is False

    # One job at a time: a second Start names the running one and selects it to watch.
    notice, picker = client.predict(*form("second"), api_name="/train_start")
    assert "already running: watch" in notice and picker["value"] == "watch"
    assert not (app.dirs.runs / "second").exists()

    # Stop: the job saves a snapshot and its resume state at the kimg it reached.
    assert "Stopping" in client.predict("watch", api_name="/train_stop")
    stopped = wait_for(lambda: (s := status(client, "watch"))["state"] == "stopped" and s, "the stop")
    assert stopped["snapshots"][-1] == stopped["kimg"] == stopped["log_kimg"][-1]
    assert "stopped" in client.predict("watch", api_name="/train_poll")[0]
    stop_btn, resume_btn, open_btn = poll(_services(app), "watch", None)[7:10]
    assert stop_btn["interactive"] is False and resume_btn["interactive"] is True and open_btn["interactive"]

    # The snapshot is in the explorer's model list, and Open in explorer picks it in the Generate tab.
    models, _ = client.predict("run: watch", api_name="/refresh_models")
    assert "run: watch" in [c[0] for c in models["choices"]]
    assert explorer_target(_services(app), "watch", len(stopped["snapshots"]) - 1) == \
        ("generate", "run: watch")
    gen_model, _, _ = client.predict("watch", 0, api_name="/train_open")
    older = f"run: watch @ {stopped['snapshots'][0]:g} kimg"
    assert gen_model["value"] == older and older in [c[0] for c in gen_model["choices"]]
    grid, info = client.predict(older, "0-3", 1.0, api_name="/generate")
    assert os.path.isfile(grid) and f"trained {stopped['snapshots'][0]:.1f} kimg" in info

    # Resume: kimg continues from where it stopped (no record repeated, none lost).
    assert "Resuming" in client.predict("watch", None, "cpu", api_name="/train_resume")
    resumed = wait_for(lambda: (s := status(client, "watch"))["state"] == "running" and
                       s["kimg"] > stopped["kimg"] and s, "the resumed ticks")
    log = resumed["log_kimg"]
    assert log[:len(stopped["log_kimg"])] == stopped["log_kimg"]
    assert stopped["kimg"] < log[len(stopped["log_kimg"])] <= stopped["kimg"] + 0.6  # the next tick
    client.predict("watch", api_name="/train_stop")
    wait_for(lambda: status(client, "watch")["state"] == "stopped", "the second stop")


def _services(app):
    """Services over the launched app's folders, for calling handlers directly."""
    import torch

    from explorer.ui.services import Services

    return Services(app.dirs.weights, app.dirs.runs, torch.device("cpu"))


def test_sigkill_shows_crashed_and_resume_continues_from_the_last_snapshot(train_app):
    app, client = train_app
    client.predict(*form("killed", snapshot_ticks=3), api_name="/train_start")
    # Kill it between snapshots: some log records then lie past the last complete snapshot. The
    # trainer is frozen (SIGSTOP) while that is checked, so it cannot reach its next snapshot first.
    while True:
        wait_for(lambda: (s := status(client, "killed"))["snapshots"] and s["log_kimg"][-1] > s["snapshots"][-1]
                 and s, "a snapshot and a tick after it")
        pid = _status_file(app.dirs.runs / "killed")["pid"]
        os.kill(pid, signal.SIGSTOP)
        s = status(client, "killed")
        if s["log_kimg"][-1] > s["snapshots"][-1]:
            break
        os.kill(pid, signal.SIGCONT)
    os.kill(pid, signal.SIGKILL)
    crashed = wait_for(lambda: (c := status(client, "killed"))["state"] == "crashed" and c, "the crash to show")
    assert "crashed" in client.predict("killed", api_name="/train_poll")[0]
    assert "ended without saving" in crashed["error"]
    last_snapshot = crashed["snapshots"][-1]
    assert crashed["log_kimg"][-1] > last_snapshot

    client.predict("killed", None, "cpu", api_name="/train_resume")
    resumed = wait_for(lambda: (r := status(client, "killed"))["state"] == "running" and
                       r["kimg"] > crashed["kimg"] and r, "the resumed ticks")
    log = resumed["log_kimg"]
    assert log == sorted(set(log)), "records after the snapshot were dropped, none duplicated"
    i = log.index(last_snapshot)
    assert log[i + 1] <= last_snapshot + 0.6  # training went on from the snapshot, not from the kill
    client.predict("killed", api_name="/train_stop")
    wait_for(lambda: status(client, "killed")["state"] == "stopped", "the stop")


@pytest.mark.parametrize("case", ["not a zip", "no images", "traversal", "symlink", "zip bomb", "huge image",
                                  "corrupt image"])
def test_bad_uploads_are_refused_with_their_message(train_app, tmp_path, case):
    app, client = train_app
    path, words = bad_uploads(tmp_path)[case]
    before = sorted(os.listdir(app.dirs.runs))
    with pytest.raises(AppError) as e:
        client.predict(*form(f"up-{case.replace(' ', '-')}", data=UPLOAD, upload=handle_file(str(path))),
                       api_name="/train_start")
    assert words in str(e.value)
    assert sorted(os.listdir(app.dirs.runs)) == before  # no run, no staging folder


def test_invalid_form_values_are_refused(train_app):
    _, client = train_app
    with pytest.raises(AppError, match="power of two"):
        client.predict(*form("badres")[:4], 12, *form("badres")[5:], api_name="/train_start")
    with pytest.raises(AppError, match="n_critic must be a whole number"):
        client.predict(*form("badopt", n_critic="1.5"), api_name="/train_start")


def test_status_text_names_the_progan_stage():
    from explorer.train.jobs import RunStatus

    st = RunStatus("pg", "running", records=[{"kimg": 3.0, "stage": 2, "stage_res": 16, "alpha": 0.25}])
    assert "stage 2 (16×16), alpha 0.25" in status_text(st)


def test_renders_still_answer_while_a_job_trains(train_app):
    """Generate-tab renders with and without a job training; the figures go to the report."""
    _, client = train_app

    def latency(n=15):
        times = []
        for i in range(n):
            t0 = time.perf_counter()
            client.predict(TINY_NAME, f"{i}-{i + 3}", 1.0, api_name="/generate")
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    idle = latency()
    client.predict(*form("busy"), api_name="/train_start")
    wait_for(lambda: status(client, "busy")["state"] == "running", "the job to run")
    busy = latency()
    client.predict("busy", api_name="/train_stop")
    wait_for(lambda: status(client, "busy")["state"] == "stopped", "the stop")
    print(f"\nrender median: idle {idle * 1000:.0f} ms, while training {busy * 1000:.0f} ms "
          f"(x{busy / idle:.2f})")
    assert busy < 5 * idle + 0.5, f"renders slowed from {idle:.3f}s to {busy:.3f}s while training"


def test_stop_and_resume_do_not_act_before_a_run_exists():
    out = poll(None, None, None)
    assert [b["interactive"] for b in out[7:10]] == [False, False, False]  # Stop, Resume, Open in explorer
    assert all(o is not None for o in out[:7])
    assert poll(None, None, out[10])[7:10] != out[7:10]  # sent once, then skipped until something changes


def test_an_unavailable_builtin_dataset_is_labelled_with_its_fix_and_never_the_default(monkeypatch):
    from explorer.train.datasets import mnist
    from explorer.ui.train_tab import FOLDER, dataset_choices

    choices, default, note = dataset_choices(allow_server_paths=False)
    assert [v for _, v in choices] == ["mnist", "faces", "emoji", UPLOAD] and default == "mnist" and note == ""
    monkeypatch.setattr(mnist, "MNIST_FILE", mnist.MNIST_FILE.with_name("gone.npz"))
    choices, default, note = dataset_choices(allow_server_paths=True)
    assert ("mnist (unavailable)", "mnist") in choices and (FOLDER, FOLDER) in choices
    assert default == "faces" and "**mnist** is unavailable here" in note and "git checkout" in note


def _cond_form(recipe: str, data: str = "mnist", conditional=True) -> list:
    """The Train tab's inputs for `recipe` with the Conditional box (last in the form) set."""
    own = {o.name: o.default for o in recipe_options(recipe)}
    boxes = ["" if own.get(n) is None else str(own[n]) for n in all_option_names()]
    return [recipe, data, None, "", 16, 8, 2e-3, 2e-3, 1, 0, "cpu", f"cond-{recipe}", "", *boxes, conditional]


def test_the_conditional_box_shows_for_the_stylegan_recipes_only():
    from explorer.ui.train_handlers import CONDITIONAL_LABEL, recipe_changed

    assert CONDITIONAL_LABEL == "Conditional (one class per label)"
    for recipe in ("stylegan", "stylegan2"):
        assert recipe_changed(recipe)[-1]["visible"] is True
    for recipe in ("dcgan", "progan", "projected", "projected-stylegan2"):
        box = recipe_changed(recipe)[-1]
        assert box["visible"] is False and box["value"] is False  # hidden and cleared: never sent by mistake


def test_a_conditional_job_the_recipe_or_data_cannot_make_is_refused_with_a_sentence(tmp_path):
    import gradio as gr
    import torch

    from explorer.ui.services import Services
    from explorer.ui.train_handlers import make_spec, start

    services = Services(tmp_path / "weights", tmp_path / "runs", torch.device("cpu"))
    for form_, words in ((_cond_form("projected-stylegan2"), "Projected StyleGAN2's discriminator takes no classes"),
                         (_cond_form("stylegan2", data="faces"), "The procedural faces have no classes"),
                         (_cond_form("stylegan2", conditional="maybe"), "is on or off")):
        with pytest.raises(gr.Error, match=words):
            start(services, *form_)
    assert not (tmp_path / "runs").exists() or not os.listdir(tmp_path / "runs")
    # The box reaches the job as TrainConfig.conditional; a caller that leaves it out gets an unconditional job.
    n = 13 + len(all_option_names())
    spec = make_spec(*_cond_form("stylegan2")[:13], _cond_form("stylegan2")[13:n], True)
    assert spec.conditional and services.jobs.validate(spec).conditional
    assert not make_spec(*_cond_form("stylegan2")[:13], _cond_form("stylegan2")[13:n]).conditional
