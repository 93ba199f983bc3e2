"""The Project tab's handlers: plain functions over the services and the ProjectRunner (project_tab.py lays
out and wires them)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from ..edit.directions import latent_space
from ..edit.latents import PREFIX
from ..project import store
from ..project.projector import ProjectConfig
from ..project.target import TargetError, load_target
from ..weights import ModelEntry
from . import inputs
from .common import find_entry, generator, live_picture, user_errors
from .services import Services

VIEW_PX = 256          # target and reconstruction are sent enlarged to about this many pixels
PTI_STEPS = 300        # the PTI box's default
ADVANCED = ("lr", "perceptual", "net", "net_res", "pixel", "noise_maps", "noise_reg", "initial_noise", "pti_lr",
            "pti_locality", "seed")  # the Advanced accordion's fields, in its order
NETS = {"auto (the data set's own network where it has one)": "auto", "Lite0 (ImageNet)": "lite0",
        "the data set's classifier": "domain", "none (pixels only)": "none"}
NO_MODEL = "No model is selected. Pick one (any family projects), then upload a picture."


def spaces_for(G) -> list[str]:
    return ["w+", "w"] if latent_space(G) == "w" else ["z"]


def _entry(services: Services, model) -> ModelEntry:
    return find_entry(services, model, NO_MODEL)


def _big(picture: np.ndarray | None):
    return None if picture is None else live_picture(picture, VIEW_PX)


def _path(file) -> str | None:
    path = file if isinstance(file, str) else getattr(file, "name", None) if file is not None else None
    return path or None


def _saved(value) -> str | None:
    """A saved projection's name as sent ("@key"), checked; None when none is picked."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise gr.Error(f"Saved projection {inputs.shown(value)} is not a name; pick one from the list.")
    with user_errors(ValueError):
        return PREFIX + store.parse_key(value)


def saved_list(entry: ModelEntry | None, value=None) -> dict:
    found = store.list_latents(entry.path) if entry is not None else []
    values = [PREFIX + lat.key for lat in found]
    return gr.update(choices=[(lat.label, PREFIX + lat.key) for lat in found],
                     value=value if value in values else (values[0] if values else None))


def select(services: Services, model, saved=None):
    """Handler: (space radio, saved projections, open-in-StyleGAN button, model info) for a model."""
    entry = _entry(services, model)
    saved = saved if isinstance(saved, str) else None
    G = generator(services, entry)
    spaces = spaces_for(G)
    mixing = latent_space(G) == "w"
    info = (f"{entry.name}: {entry.res}×{entry.res} px · projects into **{' or '.join(spaces)}**"
            + ("" if mixing else " (no mapping network)"))
    return (gr.update(choices=spaces, value=spaces[0]), saved_list(entry, saved), gr.update(interactive=mixing), info)


def preview(services: Services, model, file):
    """Handler on upload: (the upload with the kept square outlined, what the model will match, notes, name)."""
    path = _path(file)
    if path is None:
        return None, None, "", gr.skip()
    entry = _entry(services, model)
    with user_errors(TargetError):
        t = load_target(path, entry.res, entry.channels)
    notes = " ".join(t.notes) or f"{t.size[0]} × {t.size[1]} px."
    name = store.key_for(Path(getattr(file, "orig_name", None) or path).stem)
    return t.preview, _big(t.picture), notes, name


def config(space, steps, pti, pti_steps, lr, perceptual, net, net_res, pixel, noise_maps, noise_reg, initial_noise,
           pti_lr, pti_locality, seed) -> ProjectConfig:
    """The form's values checked one by one (a NaN or a word in a number box is a sentence)."""
    net = inputs.choice(net, "Feature network", list(NETS))
    return ProjectConfig(
        space=inputs.choice(space, "Latent space", ["w+", "w", "z"]),
        steps=inputs.whole(steps, "Steps", 1, 5000),
        pti_steps=inputs.whole(pti_steps, "PTI steps", 1, 5000) if pti is True else 0,
        lr=inputs.number(lr, "Learning rate", 1e-5, 10.0), perceptual=inputs.number(perceptual, "Perceptual weight", 0, 100),
        net=NETS[net], net_res=inputs.whole(net_res, "Lite0 input size", 32, 512),
        pixel=inputs.number(pixel, "Pixel weight", 0, 100), noise_maps=noise_maps is True,
        noise_reg=inputs.number(noise_reg, "Noise regulariser weight", 0, 1e7),
        initial_noise=inputs.number(initial_noise, "Initial latent noise", 0, 1),
        pti_lr=inputs.number(pti_lr, "PTI learning rate", 1e-7, 0.1),
        pti_locality=inputs.number(pti_locality, "PTI locality weight", 0, 100),
        seed=inputs.whole(seed, "Seed", 0, 2**32 - 1))


def start(services: Services, owner, model, file, name, *form):
    """Handler: start projecting; (status markdown, target picture) at once, the rest arrives by poll."""
    if not owner:
        raise gr.Error("This page has no session; reload it.")
    entry = _entry(services, model)
    path = _path(file)
    if path is None:
        raise gr.Error("Upload a picture first (PNG, JPEG or WebP; any size, the centre square is used).")
    key = store.key_for(inputs.text(name, "Name", 64) or Path(path).stem)
    cfg = config(*form)
    G, meta = services.renderer.model(entry.path)
    with user_errors(ValueError):
        job = services.projections.start(owner, entry.name, entry.path, G, meta, path, Path(path).name, cfg, key)
    return f"Projecting into **{entry.name}** as **{PREFIX}{key}**…", _big(job.target.picture)


def stop(services: Services, owner):
    job = services.projections.stop(owner)
    if job is None or job.state != "running":
        return "Nothing of this page's is projecting."
    return "Stopping: the best latent so far is kept…"


def _bar(done: int, total: int, width: int = 24) -> str:
    full = round(width * done / max(1, total))
    return "▰" * full + "▱" * (width - full)


def curve(history) -> pd.DataFrame:
    """Long-format frame (x="step", y="value", color="series") of the loss; log10 so both phases show."""
    step = max(1, len(history) // 300)
    rows = [(h.phase, i + 1, math.log10(max(h.loss, 1e-12))) for i, h in enumerate(history)][::step]
    return pd.DataFrame(rows, columns=["series", "step", "value"]).astype({"step": float, "value": float})


def status(job) -> str:
    done, total = job.done_steps(), job.steps_total
    step, _ = job.latest()
    elapsed = time.monotonic() - job.started
    if job.state == "failed":
        return job.error or "The projection failed."
    if job.state in ("done", "stopped"):
        r = job.result
        how = "Stopped: the best so far was kept" if job.state == "stopped" else "Done"
        return (f"{how} · **{PREFIX}{job.key}** saved beside {job.model} · PSNR {r.final['psnr']:.2f} dB · "
                f"{r.seconds:.1f} s. Open it in another tab below, or type {PREFIX}{job.key} where a tab takes seeds.")
    eta = elapsed / done * (total - done) if done else float("nan")
    eta_text = f"{eta:.0f} s left" if math.isfinite(eta) else "starting…"
    what = "" if step is None else (f" · {step.phase} step {step.step}/{step.steps} · loss {step.loss:.4f} · "
                                    f"PSNR {step.psnr:.2f} dB")
    return f"{_bar(done, total)} {100 * done / max(1, total):.0f} % · {elapsed:.0f} s · {eta_text}{what}"


def poll(services: Services, owner, last):
    """Handler (timer): (target, reconstruction, loss curve, status, version, saved list) when they moved.

    The version is read before the state and that snapshot is what the page keeps: the runner sets the state
    before its last bump, so a poll racing the finish sends the old version and the next poll sends the rest."""
    job = services.projections.job(owner)
    if job is None:
        return (gr.skip(),) * 6
    version = job.version
    state = job.state
    if version == last and state != "running":
        return (gr.skip(),) * 6
    if version == last:
        return (gr.skip(),) * 3 + (status(job), gr.skip(), gr.skip())
    _, recon = job.latest()
    if job.result is not None:
        recon = job.result.picture  # rendered as the other tabs render it
    saved = gr.skip()
    if state in ("done", "stopped"):
        entry = services.find_model(job.model)
        saved = saved_list(entry, PREFIX + job.key)
    return (_big(job.target.picture), _big(recon), curve(job.projection.history), status(job), version, saved)


def show_saved(services: Services, model, saved):
    """Handler: a saved projection's target, its reconstruction (rendered as the tabs do) and its figures."""
    saved = _saved(saved)
    if not saved:
        return gr.skip(), gr.skip(), "No projection is saved beside this model yet."
    entry = _entry(services, model)
    with user_errors(store.LatentError):
        lat = store.load(entry.path, saved)
        picture = services.edits.render(entry.path, PREFIX + lat.key, 1.0).picture
    try:
        from PIL import Image

        with Image.open(store.store_dir(entry.path) / f"{lat.key}.target.png") as im:
            target = np.asarray(im.convert("L" if entry.channels == 1 else "RGB"))
        target = target[:, :, None] if target.ndim == 2 else target
    except OSError:
        target = None
    m, cfg = lat.meta, lat.meta.get("config", {})
    info = (f"**{PREFIX}{lat.key}** · {lat.space} · {cfg.get('steps')} steps"
            + (f" + PTI {cfg.get('pti_steps')}" if cfg.get("pti_steps") else "")
            + f" · PSNR {m.get('final', {}).get('psnr', float('nan')):.2f} dB · {m.get('seconds', 0):.1f} s · "
              f"from {m.get('source', {}).get('file') or 'an upload'}")
    return _big(target), _big(picture), info


def delete(services: Services, model, saved):
    entry = _entry(services, model)
    saved = _saved(saved)
    if not saved:
        raise gr.Error("Pick a saved projection to delete.")
    with user_errors(ValueError):
        store.delete(entry.path, saved)
    return saved_list(entry), f"Deleted {saved}."


def open_target(services: Services, tab: str, model, saved) -> tuple[str, str]:
    """(model name, "@key") for an Open in … button; gr.Error when there is nothing to open or it cannot go there."""
    entry = _entry(services, model)
    saved = _saved(saved)
    if not saved:
        raise gr.Error("Project a picture first (or pick a saved projection): there is nothing to open.")
    with user_errors(store.LatentError):
        lat = store.load(entry.path, saved)
    if tab == "stylegan" and latent_space(generator(services, entry)) != "w":
        raise gr.Error(f"{entry.name} has no per-layer styles; open {PREFIX}{lat.key} in Edit or Interpolate.")
    return entry.name, PREFIX + lat.key
