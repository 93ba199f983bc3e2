"""The Train tab's handlers: the form as a job, start, stop and resume, the timer's poll of the
run directory (only what changed is sent), a snapshot's grid, and which explorer tab opens a
snapshot. The job runs in its own process (explorer.train.jobs); the layout and the events that call
these are in train_tab.py."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

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
from ..train.recipes import TRAINING_RECIPES, conditional_problem
from . import inputs
from .common import squeeze, user_errors
from .services import Services

UPLOAD, FOLDER = "upload a .zip", "folder on this server"
SERIES = ("loss_D", "loss_G", "gp", "r1", "pl")   # log.jsonl fields drawn when a recipe logs them
CONDITIONAL_LABEL = "Conditional (one class per label)"
CONDITIONAL_INFO = ("G and D get each image's class: MNIST's digits, emoji's categories (face, animal, food), or a "
                    "folder's or zip's sub-folders, one per class. The explorer then draws the class you pick.")
MAX_POINTS = 300                                   # per series, so the plot stays light
TIMELINE_SEEDS = tuple(range(16))
# Where "Open in explorer" opens a snapshot: the ProGAN tab for progressive models, the StyleGAN tab for
# style-based ones, Generate for the rest (the app passes its own tabs' list, in this order of preference).
EXPLORER_TABS = (("progan", "progressive"), ("stylegan", "mixing"), ("generate", None))


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
    """Handler: the form's defaults for a recipe, its own options (the others hidden), and the Conditional
    box, shown (and left as it was) for the recipes that can be conditional, hidden and cleared for the rest.

    The advanced boxes are one per TrainConfig field any recipe sets (all_option_names); a recipe
    shows those its TRAINING_RECIPES entry sets (recipe_options), so a new recipe needs no change here."""
    recipe = inputs.choice(recipe, "The recipe", list(TRAINING_RECIPES))
    spec, own = TRAINING_RECIPES[recipe], {o.name: o for o in recipe_options(recipe)}
    hint = ", ".join(f"{k}={v}" for k, v in arch_options(recipe).items())
    boxes = [gr.update(visible=n in own, value=box_value(own[n].default) if n in own else None,
                       info=own[n].help if n in own else None) for n in all_option_names()]
    can = conditional_problem(recipe) is None
    return (gr.update(value=spec.get("batch")), gr.update(value=spec.get("lr_g")), gr.update(value=spec.get("lr_d")),
            gr.update(info=f"{ARCHITECTURES[spec['arch']].title} fields, e.g. {hint}"), *boxes,
            gr.update(visible=True) if can else gr.update(visible=False, value=False))


def box_value(v):
    """A default as the text box shows it: numbers and strings as they are, anything else as JSON."""
    return None if v is None else str(v) if isinstance(v, (str, int, float)) and not isinstance(v, bool) \
        else json.dumps(v)


def make_spec(recipe, data, upload, folder, res, batch, lr_g, lr_d, kimg, seed, device, name, arch_text,
              option_values, conditional=False) -> JobSpec:
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
                   upload=upload if data == UPLOAD else None, conditional=_on_off(conditional, CONDITIONAL_LABEL))


def _on_off(value, what: str) -> bool:
    """A checkbox's value (None from a caller that leaves it out: off); JobError for anything but on or off."""
    if value in (None, ""):
        return False
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in ("true", "false", "1", "0"):
        raise JobError(f"{what} is on or off (true or false), got {inputs.shown(value)}.")
    return word in ("true", "1")


@user_errors(JobError, ValueError)  # DatasetError from an upload included
def start(services: Services, *form):
    """Handler: (notice, run picker). The form is the 13 fields, one box per option (all_option_names) and
    the Conditional box (left out by older callers: off). A busy server names the running job and selects it."""
    n = 13 + len(all_option_names())
    try:
        name = services.jobs.start(make_spec(*form[:13], form[13:n], *form[n:n + 1]))
    except BusyError as e:
        return f"⚠️ {e} It is selected below.", runs_update(services, e.run)
    except OSError as e:  # e.g. a server path too long for the file system
        raise gr.Error(f"{e.strerror or 'The server could not do that'}: {inputs.shown(e.filename)}.") from None
    return f"Started **{name}**: it appears below in a few seconds.", runs_update(services, name)


@user_errors(JobError)
def stop(services: Services, run: str | None):
    services.jobs.stop(_need(run))
    return f"Stopping **{run}**: it saves a snapshot and its resume state after the current step."


def resume(services: Services, run: str | None, extend_kimg, device: str):
    extend_kimg = inputs.number(extend_kimg or 0, "Resume up to kimg", 0)
    with user_errors(JobError):
        services.jobs.resume(_need(run), extend_kimg or None, device or "auto")
    return f"Resuming **{run}** from its last snapshot."


def _need(run: str | None) -> str:
    run = inputs.name(run, "The run")
    if not run:
        raise JobError("No run is selected; start one, or pick one from the list.")
    return run


def runs_update(services: Services, value: str | None = None, prefer_active: bool = False):
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
    with user_errors(JobError):
        st = services.jobs.status(_need(run))
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
    with user_errors(JobError, RenderError):
        if run and not services.jobs.snapshots(_need(run)):
            return None, "No snapshot yet."
        i, snaps = _snapshot(services, run, index)
        path = str(snaps[i][1])
        services.renderer.forget(path)  # a snapshot file is rewritten when two ticks round to one kimg
        grid = services.renderer.render_grid(GridRequest(path, TIMELINE_SEEDS))
    return squeeze(grid), f"snapshot {i + 1} of {len(snaps)}: {snaps[i][0]:g} kimg"


def explorer_target(services: Services, run: str | None, index,
                    targets: Sequence[tuple[str, str | None]] = EXPLORER_TABS) -> tuple[str, str]:
    """(tab id, model name) that shows the chosen snapshot: the first of `targets` (tab id, the capability
    its models need, None for any model) that fits its family. Older snapshots get a name of their own."""
    with user_errors(JobError):
        i, snaps = _snapshot(services, run, index)
    name = f"run: {run}" if i == len(snaps) - 1 else f"run: {run} @ {snaps[i][0]:g} kimg"
    entry = services.find_model(name) if i == len(snaps) - 1 else services.open_snapshot(snaps[i][1], name)
    if entry is None:
        raise gr.Error(f"Snapshot {snaps[i][1].name} cannot be opened; it may still be being written.")
    caps = ARCHITECTURES[entry.arch].capabilities
    tab = next((t for t, need in targets if need is None or getattr(caps, need)), None)
    if tab is None:
        raise gr.Error(f"No explorer tab opens {ARCHITECTURES[entry.arch].title} models.")
    return tab, name


def run_status(services: Services, run: str) -> dict:
    """The run's state as plain data (what the timer draws), for scripts and tests."""
    with user_errors(JobError):
        st = services.jobs.status(_need(run))
    return {"state": st.state, "kimg": st.kimg, "total_kimg": st.total_kimg, "sec_per_kimg": st.sec_per_kimg,
            "eta_sec": st.eta_sec, "error": st.error, "grid_kimg": live_grid(services, run)[1],
            "snapshots": [k for k, _ in services.jobs.snapshots(run)], "log_kimg": [r["kimg"] for r in st.records]}
