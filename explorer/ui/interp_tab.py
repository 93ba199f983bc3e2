"""The Interpolate tab: a path through keyframe seeds (in z or w, linear or spherical), optionally
with a saved direction applied, or a walk along a direction from -s to +s; a frame slider previews
any frame, and the whole path exports as a GIF or an MP4 with a progress bar."""

from __future__ import annotations

import gradio as gr

from .. import limits
from ..edit import directions as dirs
from ..edit.interp import MODES, write_gif, write_mp4
from ..edit.image_recipe import DirectionUse
from ..render.edit import MAX_FRAMES, MAX_KEYS, Edit
from ..render import RenderError, display_factor, enlarge
from ..weights import ModelEntry
from . import LIVE, class_ui, image_recipe_ui, inputs
from .common import (TabHandle, find_entry, generator, image_output, live_picture, model_list, offers_psi,
                     psi_control, psi_value, slider, user_errors)
from .edit_handlers import NONE, default_model, first_name
from .services import Services

KINDS = ("Keyframes", "Direction walk")
WALK_STRENGTH = 2.0  # the span (±, std) a walk gets when it is picked with strength 0
INTRO = ("**Keyframes**: the path visits the seeds in order, interpolated in *z* or in *w* (behind a mapping "
         "network), on straight lines or great circles; a saved direction can be applied to every frame. "
         "**Direction walk**: the first seed moved along the direction from −strength to +strength. "
         "Exports are enlarged (nearest) like the preview.")


# --- handlers ----------------------------------------------------------------------------------


def _edit(services: Services, entry: ModelEntry, name: str | None, strength) -> Edit | None:
    name = inputs.name(name, "The direction")
    strength = inputs.within(strength, "The strength (standard deviations)", limits.DIRECTION_STRENGTH)
    if not name or name == NONE:
        return None
    saved = {d.name: d for d in dirs.load_directions(entry.path, generator(services, entry).w_dim)}
    if name not in saved:
        raise gr.Error(f"Direction {inputs.shown(name)} is not saved beside this model; find one in the Edit tab.")
    d = saved[name]
    return Edit(tuple(float(x) for x in d.vector), strength, d.std, None)


def path(services: Services, model, kind, keys_text, space, mode, frames, psi, direction, strength, label=None):
    """-> (entry, ws [F, num_ws, D], seeds, edit or None, class or None) for the controls; `label`: the class
    a conditional model draws the seeds as."""
    entry = find_entry(services, model)
    label = class_ui.value(services, entry, label)
    kind = inputs.choice(kind, "The path", KINDS)
    keys = inputs.sources(keys_text, "keyframe seeds", MAX_KEYS, repeats=True)  # "0, 5, 9, 0" loops; "@key" too
    frames = inputs.whole_within(frames, "Frames", limits.PATH_FRAMES)
    psi = psi_value(psi, entry)
    edit = _edit(services, entry, direction, strength)
    with user_errors(RenderError):
        if kind == "Direction walk":
            if edit is None or not edit.strength:
                raise gr.Error("A direction walk needs a direction and a strength other than 0.")
            ws = services.edits.walk(entry.path, keys[0], psi, edit, frames, label=label)
        else:
            if len(keys) < 2:
                raise gr.Error("Give at least two keyframe seeds, e.g. 0, 5, 9.")
            ws = services.edits.path(entry.path, keys, frames, mode, space, psi, (edit,) if edit else (), label)
    return entry, ws, keys, edit, label


def choose(services: Services, model, kind, keys_text, space, mode, frames, psi, direction, strength, frame,
           label=None, fresh: bool = False):
    """Handler: (direction, strength, frame picture, info, class picker) for the controls. fresh: the model was just
    picked, so the direction becomes its first choice at strength 0 (a name kept from another model could
    mean another vector); else the user's direction stays while it is saved. A walk with no direction or a
    strength of 0 gets the first choice and WALK_STRENGTH, so picking "Direction walk" walks at once. The class
    picker lists this model's classes (kept while it has the one picked)."""
    entry = find_entry(services, model)
    classes = class_ui.update(entry, label)
    saved = dirs.load_directions(entry.path, generator(services, entry).w_dim)
    names = [d.name for d in saved]
    if fresh or not isinstance(direction, str) or direction not in [NONE, *names]:
        direction, strength = first_name(saved), 0.0
    if kind == "Direction walk":
        direction = first_name(saved) if direction == NONE else direction
        strength = WALK_STRENGTH if isinstance(strength, (int, float)) and strength == 0 else strength
    shown = preview(services, entry.name, kind, keys_text, space, mode, frames, psi, direction, strength, frame,
                    classes["value"])
    return gr.update(choices=[NONE, *names], value=direction), strength, *shown, classes


def preview(services: Services, model, kind, keys_text, space, mode, frames, psi, direction, strength, frame,
            label=None):
    """Handler: (frame picture, info)."""
    entry, ws, keys, _, label = path(services, model, kind, keys_text, space, mode, frames, psi, direction, strength,
                                     label)
    i = inputs.whole(frame, "Frame", 0, MAX_FRAMES)
    i = min(i, ws.shape[0] - 1)
    with user_errors(RenderError):
        im = services.edits.frame(services.edits.path_checkpoint(entry.path, keys), ws, i)
    where = "walk" if kind == "Direction walk" else f"{mode} in {services.edits.space(entry.path) if space == 'w' else 'z'}"
    drawn = "" if label is None else f" · class {class_ui.shown(generator(services, entry), label)}"
    return live_picture(im.picture), f"Frame {i + 1} of {ws.shape[0]} · {where}{drawn} · {im.ms:.1f} ms"


def export(services: Services, fmt: str, model, kind, keys_text, space, mode, frames, psi, direction, strength,
           fps, label=None, progress=None):
    """Handler: the path written as a GIF or an MP4 under Services.export_path; (file path, info)."""
    entry, ws, keys, _, _ = path(services, model, kind, keys_text, space, mode, frames, psi, direction, strength,
                                 label)
    fps = inputs.within(fps, "Frames per second", limits.FPS)
    side = entry.res * display_factor(entry.res)  # each exported frame is side x side pixels, held in memory
    most = max(2, limits.EXPORT_PIXELS // side**2)
    if ws.shape[0] > most:
        raise gr.Error(f"At most {most} frames of {side}×{side} px per export; you asked for {ws.shape[0]}.")

    def report(done, total, what):
        if progress is not None:
            progress(done / total, desc=f"{what} {done}/{total}")

    with user_errors(RenderError):
        drawn_with = services.edits.path_checkpoint(entry.path, keys)
    pictures = services.edits.frames(drawn_with, ws, lambda d, n: report(d, n, "rendering"))
    pictures = enlarge(pictures, display_factor(pictures.shape[1]))
    out = services.export_path(f"{kind.split()[0].lower()}-{entry.name}-{'-'.join(str(k).lstrip('@') for k in keys)}.{fmt}")
    writer = write_gif if fmt == "gif" else write_mp4
    writer(out, pictures, fps, lambda d, n: report(d, n, "encoding"))
    h, w = pictures.shape[1:3]
    return str(out), f"{ws.shape[0]} frames, {w}×{h} px at {fps:g} fps · {out.stat().st_size / 1024:.0f} KB"


def build_recipe(services: Services, model, kind, keys_text, space, mode, frames, psi, direction, strength, fps,
                 frame, label=None):
    entry, ws, keys, edit, label = path(services, model, kind, keys_text, space, mode, frames, psi, direction,
                                        strength, label)
    inputs.within(fps, "Frames per second", limits.FPS)
    uses = [DirectionUse(direction, list(edit.vector), edit.strength, edit.std, None)] if edit else []
    recipe = image_recipe_ui.new_recipe(
        services, entry, "interpolate", keys, truncation_psi=float(psi) if offers_psi(entry) else 1.0,
        directions=uses,
        extra={"kind": kind, "space": space, "mode": mode, "frames": int(frames), "fps": float(fps),
               "frame": min(int(frame), ws.shape[0] - 1)}, classes=class_ui.recipe_classes(label, len(keys)))
    return recipe, preview(services, model, kind, keys_text, space, mode, frames, psi, direction, strength,
                           frame, label)[0]


def restore(services: Services, r, entry: ModelEntry):
    """Updates for [model, kind, keys, space, mode, frames, psi, direction, strength, fps, frame, class, picture,
    info]."""
    x = r.extra
    kind, space, mode = x.get("kind"), x.get("space"), x.get("mode")
    if kind not in KINDS or space not in ("z", "w") or mode not in MODES:
        raise gr.Error("This recipe's path (extra: kind, space, mode) is not one this tab draws.")
    frames, frame, fps = x.get("frames"), x.get("frame"), x.get("fps")
    for what, v, lo, hi in (("frames", frames, limits.PATH_FRAMES.lo, limits.PATH_FRAMES.hi),
                            ("frame", frame, 0, MAX_FRAMES - 1), ("fps", fps, limits.FPS.lo, limits.FPS.hi)):
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not lo <= v <= hi:
            raise gr.Error(f"The recipe's {what} must be a number from {lo} to {hi}; got {v!r}.")
    if len(r.directions) > 1:
        raise gr.Error("This tab applies one direction; the recipe has several.")
    G = generator(services, entry)
    direction, strength = NONE, 0.0
    if r.directions:
        u = r.directions[0]
        if len(u.vector) != G.w_dim:
            raise gr.Error(f"Direction {u.name!r} has {len(u.vector)} values; this model's latents have {G.w_dim}.")
        saved = {d.name: d for d in dirs.load_directions(entry.path, G.w_dim)}
        if u.name not in saved or [float(v) for v in saved[u.name].vector] != u.vector or saved[u.name].std != u.std:
            dirs.save_direction(entry.path, dirs.Direction(u.name, "recipe", u.vector, u.std, None,
                                                           dirs.latent_space(G)))
        direction, strength = u.name, u.strength
    keys = ", ".join(map(str, r.seeds))
    psi = r.truncation_psi if offers_psi(entry) else 1.0  # image_recipe_ui.psi_note says why
    label = class_ui.recipe_class(services, r, entry)
    shown = preview(services, entry.name, kind, keys, space, mode, frames, psi, direction, strength, frame, label)
    names = [NONE, *(d.name for d in dirs.load_directions(entry.path, G.w_dim))]
    return (entry.name, kind, keys, space, mode, int(frames), gr.update(value=psi, visible=offers_psi(entry)),
            gr.update(choices=names, value=direction), strength, fps, gr.update(maximum=int(frames) - 1, value=frame),
            class_ui.update(entry, label), *shown)


# --- layout and wiring ---------------------------------------------------------------------------


def create_interp_tab(services: Services) -> TabHandle:
    entries = services.models()
    names = [m.name for m in entries]
    start = default_model(entries)  # the Edit tab's: a faces StyleGAN with its shipped directions
    saved = dirs.load_directions(next(e.path for e in entries if e.name == start)) if start else []
    with gr.Tab("Interpolate", id="interpolate"):
        gr.Markdown(INTRO)
        with gr.Row():
            model = gr.Dropdown(names, value=start, label="Model", scale=4,
                                allow_custom_value=True, elem_id="ip-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="ip-refresh")
        with gr.Row():
            kind = gr.Radio(list(KINDS), value=KINDS[0], label="Path", elem_id="ip-kind")
            keys = gr.Textbox("0, 1, 2", label="Keyframe seeds (a walk uses the first)", max_lines=1, elem_id="ip-keys",
                              info="projected images by name too: @my-photo, 3, 7")
            space = gr.Radio(["z", "w"], value="w", label="Interpolate in", info="w needs a mapping network; "
                             "other models use z", elem_id="ip-space")
            mode = gr.Radio(list(MODES), value="spherical", label="Interpolation", elem_id="ip-mode")
        with gr.Row():
            frames = slider(limits.PATH_FRAMES, 48, label="Frames", elem_id="ip-frames")
            fps = slider(limits.FPS, 24, label="Frames per second", elem_id="ip-fps")
            psi = slider(limits.PSI, 1.0, label="Truncation ψ", elem_id="ip-psi",
                         visible=offers_psi(services.find_model(start) if start else None))
        with gr.Row():
            # The model's first choice of direction is already picked, at strength 0: a keyframe path is the
            # plain path until the strength moves (strength 0 applies nothing, and "(none)" stays in the list),
            # and a walk has its direction; picking "Direction walk" at strength 0 sets WALK_STRENGTH (choose).
            direction = gr.Dropdown([NONE, *(d.name for d in saved)], value=first_name(saved),
                                    label="Direction (from the Edit tab)", elem_id="ip-direction",
                                    allow_custom_value=True)
            strength = slider(limits.DIRECTION_STRENGTH, 0.0, label="Strength (std); a walk goes from −|s| to +|s|",
                              elem_id="ip-strength")
            label = class_ui.picker("ip-class")
        frame = gr.Slider(0, 47, value=0, step=1, label="Preview frame", elem_id="ip-frame")
        with gr.Row():
            picture = image_output("Frame", 256, "ip-picture")
            with gr.Column():
                info = gr.Markdown(elem_id="ip-info")
                with gr.Row():
                    gif_btn = gr.Button("Export GIF", elem_id="ip-gif")
                    mp4_btn = gr.Button("Export MP4", elem_id="ip-mp4")
                video = gr.File(label="Export", interactive=False, elem_id="ip-file")
                export_info = gr.Markdown(elem_id="ip-export-info")
        rec = image_recipe_ui.recipe_row("ip")

    controls = [model, kind, keys, space, mode, frames, psi, direction, strength]
    shown = [picture, info]

    def _preview(*args):
        return preview(services, *args)

    def _gif(*args, progress=gr.Progress()):
        return export(services, "gif", *args, progress=progress)

    def _mp4(*args, progress=gr.Progress()):
        return export(services, "mp4", *args, progress=progress)

    def _frames(n, f):  # the frame slider spans the path
        n = inputs.whole_within(n, "Frames", limits.PATH_FRAMES)
        return gr.update(maximum=n - 1, value=min(inputs.whole(f, "Frame", 0, MAX_FRAMES), n - 1))

    def _open(*args):  # a model picked: its own first direction
        return choose(services, *args, fresh=True) if args[0] else (gr.skip(),) * 5

    def _kind(*args):  # a walk picked: a direction and a strength, so it walks at once
        return choose(services, *args, fresh=False)

    def _refresh(m, *rest):
        picker = model_list(services, m, fallback=default_model)
        value = picker["value"]
        if not value:
            return (picker, *(gr.skip(),) * 5)
        return (picker, *choose(services, value, *rest, fresh=value != m))

    # The class picker comes last in every input list, after the inputs the endpoints took before it.
    gr.on([frame.input, strength.input, psi.input, space.input, mode.input, direction.input, label.input,
           keys.submit], _preview, [*controls, frame, label], shown, api_name="interp_preview", **LIVE)
    kind.input(_kind, [*controls, frame, label], [direction, strength, *shown, label], api_visibility="private",
               **LIVE)
    frames.input(_frames, [frames, frame], [frame], api_visibility="private", **LIVE).then(
        _preview, [*controls, frame, label], shown, api_visibility="private", **LIVE)
    open_inputs = [*controls, frame, label]
    opened = [direction, strength, *shown, label]
    model.input(_open, open_inputs, opened, api_name="interp_select", concurrency_limit=2)
    model.change(lambda m: psi_control(services, m), [model], [psi], api_visibility="private",
                 concurrency_limit=None)  # every way a model is chosen: a pick, a page load, Refresh
    refresh_btn.click(_refresh, open_inputs, [model, *opened], api_name="interp_refresh", concurrency_limit=2)
    gif_btn.click(_gif, [*controls, fps, label], [video, export_info], api_name="interp_gif", concurrency_limit=1)
    mp4_btn.click(_mp4, [*controls, fps, label], [video, export_info], api_name="interp_mp4", concurrency_limit=1)
    image_recipe_ui.wire(rec, services, "interpolate", lambda *a: build_recipe(services, *a),
                         [*controls, fps, frame, label], lambda r, e: restore(services, r, e),
                         [*controls, fps, frame, label, *shown], "interp")
    # A page load: rescan the models; a model still listed keeps the user's direction.
    on_load = ((_refresh, open_inputs, [model, *opened]),)
    return TabHandle("interpolate", model, on_load=on_load, latent=keys, latent_value=lambda key: f"{key}, 0, 1",
                     open_latent=on_load, parts={
        "model": model, "kind": kind, "keys": keys, "space": space, "mode": mode, "frames": frames, "fps": fps,
        "psi": psi, "direction": direction, "strength": strength, "label": label, "frame": frame, "picture": picture, "info": info,
        "gif": gif_btn, "mp4": mp4_btn, "file": video, "export_info": export_info, "recipe": rec,
        "refresh": refresh_btn, "open_inputs": open_inputs, "refresh_fn": _refresh, "refresh_outputs": opened})
