"""The Train tab: start any recipe from the browser, watch it live, stop and resume it, and open its
snapshots in the explorer. The job runs in its own process (explorer.train.jobs); this tab only
reads its run directory, so a reload, a second browser tab or an app restart sees the same job."""

from __future__ import annotations

import json
import os

import gradio as gr
import numpy as np
import pandas as pd
from PIL import Image

from ..images import read_recipe
from ..models import ARCHITECTURES
from ..render import GridRequest, RenderError
from ..train.datasets import BUILTIN, builtin_problem
from ..train.jobs import ACTIVE, BusyError, JobError, JobSpec, RunStatus, all_option_names, arch_options, \
    parse_model_opts, parse_option, recipe_options
from ..train.recipes import TRAINING_RECIPES
from . import inputs
from .services import Services

UPLOAD, FOLDER = "upload a .zip", "folder on this server"
SERIES = ("loss_D", "loss_G", "gp", "r1", "pl")   # log.jsonl fields drawn when a recipe logs them
MAX_POINTS = 300                                   # per series, so the plot stays light
TIMELINE_SEEDS = tuple(range(16))
SPACE_NOTE = ("**This Space has no persistent storage: runs vanish when it restarts or sleeps.** Open a "
              "snapshot in the explorer while it is here, or run the app locally to keep your runs.")


# --- handlers ----------------------------------------------------------------------------------


def dataset_choices(allow_server_paths: bool) -> tuple[list[tuple[str, str]], str, str]:
    """(radio choices as (label, value), the default, a note): a built-in set this machine cannot load is
    labelled unavailable and never the default, and the note gives the command that fixes it."""
    problems = {name: builtin_problem(name) for name in BUILTIN}
    choices = [(name if not problems[name] else f"{name} (unavailable)", name) for name in BUILTIN]
    choices += [(UPLOAD, UPLOAD)] + ([(FOLDER, FOLDER)] if allow_server_paths else [])
    default = next((name for name in BUILTIN if not problems[name]), UPLOAD)
    note = " ".join(f"**{name}** is unavailable here: {why}." for name, why in problems.items() if why)
    return choices, default, note


def buttons_for(state: str | None, snapshots: int = 0):
    """(Stop, Resume, Open in explorer) updates: each is interactive only when it can act on the run, in
    that state with that many snapshots saved."""
    return (gr.update(interactive=state in ACTIVE),
            gr.update(interactive=state in ("stopped", "crashed", "failed", "finished")),
            gr.update(interactive=snapshots > 0))


def recipe_changed(recipe: str):
    """Handler: the form's defaults for a recipe, and its own options (the others hidden).

    The advanced boxes are one per TrainConfig field any recipe sets (all_option_names); a recipe
    shows those its TRAINING_RECIPES entry sets (recipe_options), so a new recipe needs no change here."""
    recipe = inputs.choice(recipe, "The recipe", list(TRAINING_RECIPES))
    spec, own = TRAINING_RECIPES[recipe], {o.name: o for o in recipe_options(recipe)}
    hint = ", ".join(f"{k}={v}" for k, v in arch_options(recipe).items())
    boxes = [gr.update(visible=n in own, value=_box_value(own[n].default) if n in own else None,
                       info=own[n].help if n in own else None) for n in all_option_names()]
    return (gr.update(value=spec.get("batch")), gr.update(value=spec.get("lr_g")), gr.update(value=spec.get("lr_d")),
            gr.update(info=f"{ARCHITECTURES[spec['arch']].title} fields, e.g. {hint}"), *boxes)


def _box_value(v):
    """A default as the text box shows it: numbers and strings as they are, anything else as JSON."""
    return None if v is None else str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) \
        else json.dumps(v)


def make_spec(recipe, data, upload, folder, res, batch, lr_g, lr_d, kimg, seed, device, name, arch_text,
              option_values) -> JobSpec:
    """The form as a JobSpec; the recipe's own options only, each parsed as its field's type."""
    recipe = inputs.choice(recipe, "The recipe", list(TRAINING_RECIPES))
    folder, name, arch_text = (inputs.text(v, what) for v, what in ((folder, "The folder"), (name, "The run name"),
                                                                    (arch_text, "Architecture options")))
    option_values = [inputs.text(v, n) if isinstance(v, str) else v for n, v in zip(all_option_names(), option_values)]
    own = {o.name: o for o in recipe_options(recipe)}
    options = {n: parse_option(own[n], v) for n, v in zip(all_option_names(), option_values) if n in own}
    source = "upload" if data == UPLOAD else (folder or "").strip() if data == FOLDER else data
    if data == FOLDER and not source:
        raise JobError("Type the path of a folder (or .zip) of images on this server.")

    def num(v, what, whole=False):
        if v is None or v == "":
            return None
        v = inputs.number(v, what)
        if whole and v != int(v):
            raise JobError(f"{what} must be a whole number, got {v}.")
        return int(v) if whole else v
    return JobSpec(recipe, source, num(res, "Resolution", True) or 0, num(kimg, "kimg"),
                   batch=num(batch, "Batch size", True), lr_g=num(lr_g, "G learning rate"),
                   lr_d=num(lr_d, "D learning rate"), seed=num(seed, "Seed", True) or 0, device=device or "auto",
                   options=options, model=parse_model_opts(arch_text), name=(name or "").strip() or None,
                   upload=upload if data == UPLOAD else None)


def start(services: Services, *form):
    """Handler: (notice, run picker). A busy server names the running job and selects it to watch."""
    try:
        name = services.jobs.start(make_spec(*form[:13], form[13:]))
    except BusyError as e:
        return f"⚠️ {e} It is selected below.", _runs_update(services, e.run)
    except (JobError, ValueError) as e:  # DatasetError from an upload included
        raise gr.Error(str(e)) from None
    except OSError as e:  # e.g. a server path too long for the file system
        raise gr.Error(f"{e.strerror or 'The server could not do that'}: {inputs.shown(e.filename)}.") from None
    return f"Started **{name}**: it appears below in a few seconds.", _runs_update(services, name)


def stop(services: Services, run: str | None):
    try:
        services.jobs.stop(_need(run))
    except JobError as e:
        raise gr.Error(str(e)) from None
    return f"Stopping **{run}**: it saves a snapshot and its resume state after the current step."


def resume(services: Services, run: str | None, extend_kimg, device: str):
    extend_kimg = inputs.number(extend_kimg or 0, "Resume up to kimg", 0)
    try:
        services.jobs.resume(_need(run), extend_kimg or None, device or "auto")
    except JobError as e:
        raise gr.Error(str(e)) from None
    return f"Resuming **{run}** from its last snapshot."


def _need(run: str | None) -> str:
    run = inputs.name(run, "The run")
    if not run:
        raise JobError("No run is selected; start one, or pick one from the list.")
    return run


def _runs_update(services: Services, value: str | None = None, prefer_active: bool = False):
    """The rescanned run list, keeping `value`; prefer_active (a page load): the running job first."""
    names = services.jobs.runs()
    active = services.jobs.active() if prefer_active else []
    value = active[0] if active else value if value in names else (names[0] if names else None)
    return gr.update(choices=names, value=value)


def status_text(st: RunStatus) -> str:
    """One line: the state, the ProGAN stage and alpha when logged, the error when it crashed."""
    parts = [f"**{st.name}**: {'not found' if st.state == 'missing' else st.state}"]
    last = st.records[-1] if st.records else {}
    if last.get("stage") is not None:
        parts.append(f"stage {last['stage']} ({last['stage_res']}×{last['stage_res']}), alpha {last['alpha']:.2f}")
    if st.state == "crashed":
        parts.append((st.error or "it ended without saving") + "; **Resume** continues from the last snapshot")
    if st.state == "failed":  # it stopped itself (diverged, disk full); the error says what to do
        parts.append(st.error or "it stopped itself")
    return " · ".join(parts)


def progress_html(st: RunStatus) -> str:
    total = st.total_kimg or 1.0
    text = f"{st.kimg:g} / {st.total_kimg:g} kimg"
    if st.sec_per_kimg is not None:
        text += f" · {st.sec_per_kimg:.2f} sec/kimg"
    if st.eta_sec is not None:
        m, s = divmod(int(st.eta_sec), 60)
        text += f" · ETA {m // 60}h {m % 60:02d}m" if m >= 60 else f" · ETA {m}m {s:02d}s"
    return (f'<div id="tr-progress-text">{text}</div>'
            f'<progress value="{min(st.kimg, total):.3f}" max="{total:.3f}" style="width:100%"></progress>')


def loss_frame(records: list[dict]) -> pd.DataFrame | None:
    """Long format (kimg, value, series), at most MAX_POINTS per series; None before the first tick."""
    step = max(1, len(records) // MAX_POINTS)
    rows = [(float(r["kimg"]), float(r[k]), k) for r in records[::step] for k in SERIES if r.get(k) is not None]
    return pd.DataFrame(rows, columns=["kimg", "value", "series"]) if rows else None


def live_grid(services: Services, run: str) -> tuple[str | None, float | None]:
    """(path of the newest sample grid, its kimg)."""
    rd = services.jobs.run_dir(run)
    path = rd.live_sample_path
    if not path.is_file():
        fakes = sorted(rd.samples.glob("fakes*.png"))
        if not fakes:
            return None, None
        path = fakes[-1]
    try:
        return str(path), (read_recipe(path) or {}).get("kimg")
    except OSError:
        return None, None


def poll(services: Services, run: str | None, seen: dict | None):
    """Handler for the timer: (status, progress, grid, grid caption, plot, log, snapshot slider, Stop,
    Resume, Open in explorer, seen). Only what changed since `seen` (this page's last poll) is sent; the
    rest is gr.skip()."""
    if not run:
        if seen and seen.get("run") is None and seen.get("buttons") is None:
            return (gr.skip(),) * 10 + (seen,)
        return (gr.skip(),) * 7 + buttons_for(None) + ({"run": None, "buttons": None},)
    try:
        st = services.jobs.status(_need(run))
    except JobError as e:
        raise gr.Error(str(e)) from None
    seen = dict(seen) if seen and seen.get("run") == run else {"run": run}
    grid_path, grid_kimg = live_grid(services, run)
    keys = {"status": (status_text(st), progress_html(st)), "log": (len(st.records), st.state),
            "grid": grid_path and os.stat(grid_path).st_mtime_ns, "snaps": len(list(services.jobs.run_dir(run).snapshots.glob("snapshot-*.json")))}
    keys["buttons"] = (st.state, keys["snaps"] > 0)
    out = [gr.skip()] * 10
    if seen.get("status") != keys["status"]:
        out[0:2] = keys["status"]
    if seen.get("grid") != keys["grid"] and grid_path:
        with Image.open(grid_path) as im:
            out[2] = np.asarray(im.convert("RGB"))
        out[3] = f"fixed-seed samples at {grid_kimg:g} kimg" if grid_kimg is not None else ""
    if seen.get("log") != keys["log"]:
        frame = loss_frame(st.records)
        out[4] = frame if frame is not None else gr.skip()
        out[5] = services.jobs.console_tail(run, 8)  # as many lines as the box shows: the newest
    if seen.get("snaps") != keys["snaps"]:
        n = keys["snaps"]
        out[6] = gr.update(maximum=max(n - 1, 1), value=max(n - 1, 0), interactive=n > 1,
                           label=f"Snapshot ({n} saved)")
    if seen.get("buttons", "") != keys["buttons"]:
        out[7:10] = buttons_for(st.state, keys["snaps"])
    seen.update(keys)
    return (*out, seen)


def _snapshot(services: Services, run: str | None, index):
    snaps = services.jobs.snapshots(_need(run))
    if not snaps:
        raise JobError(f"{run} has saved no snapshot yet.")
    i = min(max(int(inputs.number(index or 0, "The snapshot")), 0), len(snaps) - 1)
    return i, snaps


def show_snapshot(services: Services, run: str | None, index):
    """Handler: (grid of seeds 0-15 from the snapshot, caption)."""
    try:
        if run and not services.jobs.snapshots(_need(run)):
            return None, "No snapshot yet."
        i, snaps = _snapshot(services, run, index)
        path = str(snaps[i][1])
        services.renderer.forget(path)  # a snapshot file is rewritten when two ticks round to one kimg
        grid = services.renderer.render_grid(GridRequest(path, TIMELINE_SEEDS))
    except (JobError, RenderError) as e:
        raise gr.Error(str(e)) from None
    return grid[:, :, 0] if grid.shape[2] == 1 else grid, f"snapshot {i + 1} of {len(snaps)}: {snaps[i][0]:g} kimg"


def explorer_target(services: Services, run: str | None, index) -> tuple[str, str]:
    """(tab id, model name) that shows the chosen snapshot: the ProGAN tab for progressive models,
    the StyleGAN tab for style-based ones, Generate for the rest. Older snapshots get a name of their own."""
    try:
        i, snaps = _snapshot(services, run, index)
    except JobError as e:
        raise gr.Error(str(e)) from None
    name = f"run: {run}" if i == len(snaps) - 1 else f"run: {run} @ {snaps[i][0]:g} kimg"
    entry = services.find_model(name) if i == len(snaps) - 1 else services.open_snapshot(snaps[i][1], name)
    if entry is None:
        raise gr.Error(f"Snapshot {snaps[i][1].name} cannot be opened; it may still be being written.")
    caps = ARCHITECTURES[entry.arch].capabilities
    return ("progan" if caps.progressive else "stylegan" if caps.mixing else "generate"), name


# --- layout and wiring ---------------------------------------------------------------------------


def create_train_tab(services: Services) -> dict:
    jobs, recipes = services.jobs, list(TRAINING_RECIPES)
    runs = jobs.runs()
    data_choices, data_default, data_note = dataset_choices(jobs.allow_server_paths)
    with gr.Tab("Train", id="train"):
        gr.Markdown(SPACE_NOTE, visible=bool(os.environ.get("SPACE_ID")), elem_id="tr-space-note")
        with gr.Row():
            with gr.Column(scale=2, min_width=320):
                recipe = gr.Dropdown(recipes, value=recipes[0], label="ImageRecipe", elem_id="tr-recipe")
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
                device = gr.Radio(["auto", "cpu", "cuda"], value="auto", label="Device", elem_id="tr-device")
                name = gr.Textbox(label="Run name (optional)", max_lines=1, placeholder="recipe-data-date-time",
                                  elem_id="tr-name")
                with gr.Accordion("Advanced: the recipe's own options", open=False):
                    arch = gr.Textbox(label="Architecture options (KEY=VALUE, comma-separated)", elem_id="tr-arch")
                    own = {o.name: o for o in recipe_options(recipes[0])}
                    boxes = [gr.Textbox(label=n, max_lines=1, visible=n in own, elem_id=f"tr-opt-{n}",
                                        value=_box_value(own[n].default) if n in own else None,
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
                grid = gr.Image(label="Live samples", type="numpy", format="png", interactive=False, height=320,
                                elem_id="tr-grid")
                grid_info = gr.Markdown(elem_id="tr-grid-info")
                plot = gr.LinePlot(x="kimg", y="value", color="series", label="Losses", height=240, elem_id="tr-plot")
                log = gr.Textbox(label="Log", lines=8, max_lines=8, interactive=False, elem_id="tr-log")
                snap = gr.Slider(0, 1, value=0, step=1, label="Snapshot", interactive=False, elem_id="tr-snap")
                snap_img = gr.Image(label="Snapshot (seeds 0-15)", type="numpy", format="png", interactive=False,
                                    height=240, elem_id="tr-snap-img")
                with gr.Row():
                    snap_info = gr.Markdown(elem_id="tr-snap-info")
                    open_btn = gr.Button("Open in explorer", interactive=False, elem_id="tr-open")
        seen, target = gr.State(None), gr.State(None)
        timer = gr.Timer(1.0)

        def train_status(run: str) -> dict:
            """The run's state as plain data (what the timer draws), for scripts and tests."""
            try:
                st = services.jobs.status(_need(run))
            except JobError as e:
                raise gr.Error(str(e)) from None
            return {"state": st.state, "kimg": st.kimg, "total_kimg": st.total_kimg, "sec_per_kimg": st.sec_per_kimg,
                    "eta_sec": st.eta_sec, "error": st.error, "grid_kimg": live_grid(services, run)[1],
                    "snapshots": [k for k, _ in services.jobs.snapshots(run)],
                    "log_kimg": [r["kimg"] for r in st.records]}

        gr.api(train_status, api_name="train_status")

    form = [recipe, data, upload, folder, res, batch, lr_g, lr_d, kimg, seed, device, name, arch, *boxes]
    data.change(lambda d: (gr.update(visible=d == UPLOAD), gr.update(visible=d == FOLDER)), [data], [upload, folder],
                api_visibility="private")
    recipe.change(recipe_changed, [recipe], [batch, lr_g, lr_d, arch, *boxes], api_name="train_recipe")
    start_btn.click(lambda *f: start(services, *f), form, [notice, run], api_name="train_start",
                    concurrency_limit=1)
    stop_btn.click(lambda r: stop(services, r), [run], [notice], api_name="train_stop")
    resume_btn.click(lambda r, k, d: resume(services, r, k, d), [run, extend, device], [notice],
                     api_name="train_resume", concurrency_limit=1)
    refresh_btn.click(lambda r: _runs_update(services, r), [run], [run], api_name="train_runs")
    watch = [status, progress, grid, grid_info, plot, log, snap, stop_btn, resume_btn, open_btn, seen]
    timer.tick(lambda r, s: poll(services, r, s), [run, seen], watch, show_progress="hidden",
               concurrency_limit=None, api_name="train_poll")
    # .change, not .input: the timer moves the slider to each new snapshot, which is then drawn too.
    snap.change(lambda r, i: show_snapshot(services, r, i), [run, snap], [snap_img, snap_info],
               api_name="train_snapshot", trigger_mode="always_last", show_progress="hidden")
    return {"run": run, "snap": snap, "open": open_btn, "target": target, "form": form, "timer": timer,
            "open_fn": lambda r, i: explorer_target(services, r, i), "watch": watch,
            "load_fn": lambda r: _runs_update(services, r, prefer_active=True)}


def wire_open_in_explorer(services: Services, train: dict, tabs, views: dict) -> None:
    """"Open in explorer": select the tab that fits the snapshot, pick it in that tab's model list and
    draw it. views: {tab id: (model dropdown, [(fn, inputs, outputs), ...] that redraw the tab)}."""
    caps = {"progan": "progressive", "stylegan": "mixing"}
    target = train["target"]

    def choose(r, i):
        tab, name = train["open_fn"](r, i)
        tab = tab if tab in views else "generate"
        cap = caps.get(tab)
        names = [m.name for m in (services.models_with(cap) if cap else services.models())]
        return (gr.Tabs(selected=tab), tab,
                *(gr.update(choices=names, value=name) if t == tab else gr.skip() for t in views))

    event = train["open"].click(choose, [train["run"], train["snap"]],
                                [tabs, target, *(m for m, _ in views.values())], api_name="train_open")
    for tab, (_, steps) in views.items():
        for fn, step_inputs, outputs in steps:
            def gated(t, *args, fn=fn, tab=tab, n=len(outputs)):
                return fn(*args) if t == tab else (gr.skip(),) * n
            event = event.then(gated, [target, *step_inputs], outputs, api_visibility="private")
