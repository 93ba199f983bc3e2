"""The Train tab: start any training recipe from the browser, watch it live, stop and resume it, and
open its snapshots in the explorer. The job runs in its own process (explorer.train.jobs); this tab
only reads its run directory, so a reload, a second browser tab or an app restart sees the same job.
This module is the layout and the wiring; the handlers are in train_handlers.py."""

from __future__ import annotations

import os
from types import SimpleNamespace

import gradio as gr

from ..train.jobs import all_option_names, recipe_options
from ..train.recipes import TRAINING_RECIPES, conditional_problem
from .common import Opener, TabHandle, image_output
from .services import Services
from .train_handlers import (CONDITIONAL_INFO, CONDITIONAL_LABEL, FOLDER, UPLOAD, box_value, dataset_choices,
                             explorer_target, poll, recipe_changed, resume, run_status, runs_update, show_snapshot,
                             start, stop)
from .train_handlers import status_text  # noqa: F401  (a run's one-line state, also imported from here)

SPACE_NOTE = ("**This Space has no persistent storage: runs vanish when it restarts or sleeps.** Open a "
              "snapshot in the explorer while it is here, or run the app locally to keep your runs.")


def _layout(services: Services) -> SimpleNamespace:
    """The components, in page order: the form on the left, the run it watches on the right."""
    jobs, recipes = services.jobs, list(TRAINING_RECIPES)
    runs = jobs.runs()
    data_choices, data_default, data_note = dataset_choices(jobs.allow_server_paths)
    with gr.Tab("Train", id="train"):
        gr.Markdown(SPACE_NOTE, visible=bool(os.environ.get("SPACE_ID")), elem_id="tr-space-note")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                recipe = gr.Dropdown(recipes, value=recipes[0], label="Training recipe", elem_id="tr-recipe")
                data = gr.Radio(data_choices, value=data_default, label="Dataset", elem_id="tr-data")
                gr.Markdown(data_note, visible=bool(data_note), elem_id="tr-data-note")
                upload = gr.File(label="Zip of images", file_types=[".zip"], type="filepath", elem_id="tr-upload",
                                 visible=False)
                folder = gr.Textbox(label="Folder or .zip path on the server", max_lines=1, elem_id="tr-folder",
                                    visible=False)
                with gr.Row():
                    res = gr.Number(32, label="Resolution", precision=0, info="a power of two, 8-1024",
                                    elem_id="tr-res")
                    kimg = gr.Number(20, label="kimg", info="thousands of real images to train on", elem_id="tr-kimg")
                    seed = gr.Number(0, label="Seed", precision=0, minimum=0, elem_id="tr-seed")
                with gr.Row():
                    batch = gr.Number(TRAINING_RECIPES[recipes[0]]["batch"], label="Batch size", precision=0, elem_id="tr-batch")
                    lr_g = gr.Number(TRAINING_RECIPES[recipes[0]]["lr_g"], label="G learning rate", elem_id="tr-lr-g")
                    lr_d = gr.Number(TRAINING_RECIPES[recipes[0]]["lr_d"], label="D learning rate", elem_id="tr-lr-d")
                conditional = gr.Checkbox(False, label=CONDITIONAL_LABEL, info=CONDITIONAL_INFO,
                                          visible=conditional_problem(recipes[0]) is None, elem_id="tr-conditional")
                device = gr.Radio(["auto", "cpu", "cuda"], value="auto", label="Device", elem_id="tr-device")
                name = gr.Textbox(label="Run name (optional)", max_lines=1, placeholder="recipe-data-date-time",
                                  elem_id="tr-name")
                with gr.Accordion("Advanced: the recipe's own options", open=False):
                    arch = gr.Textbox(label="Architecture options (KEY=VALUE, comma-separated)", elem_id="tr-arch")
                    own = {o.name: o for o in recipe_options(recipes[0])}
                    boxes = [gr.Textbox(label=n, max_lines=1, visible=n in own, elem_id=f"tr-opt-{n}",
                                        value=box_value(own[n].default) if n in own else None,
                                        info=own[n].help if n in own else None) for n in all_option_names()]
                start_btn = gr.Button("Start training", variant="primary", elem_id="tr-start")
            with gr.Column(scale=3):
                with gr.Row():
                    run = gr.Dropdown(runs, value=runs[0] if runs else None, label="Run", scale=4,
                                      allow_custom_value=True, elem_id="tr-run")
                    refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="tr-refresh")
                notice = gr.Markdown(elem_id="tr-notice")
                status = gr.Markdown(elem_id="tr-status")
                progress = gr.HTML(elem_id="tr-progress")
                with gr.Row():
                    # Neither acts before a run exists; the timer enables each when it can (buttons_for).
                    stop_btn = gr.Button("Stop", variant="stop", interactive=False, elem_id="tr-stop")
                    resume_btn = gr.Button("Resume", interactive=False, elem_id="tr-resume")
                    extend = gr.Number(0, label="Resume up to kimg (0 = the run's own length)", minimum=0,
                                       elem_id="tr-extend")
                grid = image_output("Live samples", 320, "tr-grid")
                grid_info = gr.Markdown(elem_id="tr-grid-info")
                plot = gr.LinePlot(x="kimg", y="value", color="series", label="Losses", height=240, elem_id="tr-plot")
                log = gr.Textbox(label="Log", lines=8, max_lines=8, interactive=False, elem_id="tr-log")
                snap = gr.Slider(0, 1, value=0, step=1, label="Snapshot", interactive=False, elem_id="tr-snap")
                snap_img = image_output("Snapshot (seeds 0-15)", 240, "tr-snap-img")
                with gr.Row():
                    snap_info = gr.Markdown(elem_id="tr-snap-info")
                    open_btn = gr.Button("Open in explorer", interactive=False, elem_id="tr-open")
        seen = gr.State(None)  # what this page's last poll sent (see poll)
        timer = gr.Timer(1.0)

        def train_status(run: str) -> dict:
            """The run's state as plain data (what the timer draws), for scripts and tests."""
            return run_status(services, run)

        gr.api(train_status, api_name="train_status")
    return SimpleNamespace(
        recipe=recipe, data=data, upload=upload, folder=folder, res=res, kimg=kimg, seed=seed, batch=batch, lr_g=lr_g,
        lr_d=lr_d, device=device, name=name, arch=arch, boxes=boxes, conditional=conditional, start=start_btn, run=run, refresh=refresh_btn,
        notice=notice, status=status, progress=progress, stop=stop_btn, resume=resume_btn, extend=extend, grid=grid,
        grid_info=grid_info, plot=plot, log=log, snap=snap, snap_img=snap_img, snap_info=snap_info, open=open_btn,
        seen=seen, timer=timer)


def _wire(services: Services, ui: SimpleNamespace) -> None:
    """The events: which control calls which handler with what. Sets ui.form and ui.watch."""
    ui.form = [ui.recipe, ui.data, ui.upload, ui.folder, ui.res, ui.batch, ui.lr_g, ui.lr_d, ui.kimg, ui.seed,
               ui.device, ui.name, ui.arch, *ui.boxes, ui.conditional]  # the checkbox last: older callers omit it
    ui.data.change(lambda d: (gr.update(visible=d == UPLOAD), gr.update(visible=d == FOLDER)), [ui.data],
                   [ui.upload, ui.folder], api_visibility="private")
    ui.recipe.change(recipe_changed, [ui.recipe], [ui.batch, ui.lr_g, ui.lr_d, ui.arch, *ui.boxes, ui.conditional],
                     api_name="train_recipe")
    ui.start.click(lambda *f: start(services, *f), ui.form, [ui.notice, ui.run], api_name="train_start",
                   concurrency_limit=1)
    ui.stop.click(lambda r: stop(services, r), [ui.run], [ui.notice], api_name="train_stop")
    ui.resume.click(lambda r, k, d: resume(services, r, k, d), [ui.run, ui.extend, ui.device], [ui.notice],
                    api_name="train_resume", concurrency_limit=1)
    ui.refresh.click(lambda r: runs_update(services, r), [ui.run], [ui.run], api_name="train_runs")
    ui.watch = [ui.status, ui.progress, ui.grid, ui.grid_info, ui.plot, ui.log, ui.snap, ui.stop, ui.resume, ui.open,
                ui.seen]
    ui.timer.tick(lambda r, s: poll(services, r, s), [ui.run, ui.seen], ui.watch, show_progress="hidden",
                  concurrency_limit=None, api_name="train_poll")
    # .change, not .input: the timer moves the slider to each new snapshot, which is then drawn too.
    ui.snap.change(lambda r, i: show_snapshot(services, r, i), [ui.run, ui.snap], [ui.snap_img, ui.snap_info],
                   api_name="train_snapshot", trigger_mode="always_last", show_progress="hidden")


def create_train_tab(services: Services) -> TabHandle:
    ui = _layout(services)
    _wire(services, ui)
    # "Open in explorer": the app opens the chosen snapshot in the explorer tab that fits it.
    opener = Opener(ui.open, [ui.run, ui.snap], lambda targets, r, i: explorer_target(services, r, i, targets),
                    "train_open")
    # A page load selects the running job, so a reload re-attaches to it.
    on_load = ((lambda r: runs_update(services, r, prefer_active=True), [ui.run], [ui.run]),)
    return TabHandle("train", on_load=on_load, opener=opener, parts=vars(ui))
