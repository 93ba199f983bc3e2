"""The ProGAN tab: one latent seen at every resolution stage, the fade-in alpha, a growth strip
and latent interpolation. Only progressive checkpoints are listed."""

from __future__ import annotations

import math
import time

import gradio as gr

from .. import images, limits
from ..edit.interp import MODES
from ..edit.latents import MAX_SEED, parse_seeds
from ..render import Growth, RenderError, display_grid, growth_strip
from ..weights import ModelEntry
from . import LIVE, image_recipe_ui, inputs
from .common import TabHandle, image_output, pick_entry, refresh_models, slider, squeeze, user_errors
from .services import Services

MAX_SEEDS = limits.PROGAN_IMAGES
TRAIN_COMMAND = "python -m explorer.train --recipe progan --data faces --res 32 --kimg 200 --out runs/progan-faces"
EMPTY_TEXT = (
    "**No ProGAN model found yet.** This tab needs a progressively grown model. Train a small one from a "
    f"terminal (a few minutes on a CPU):\n\n`{TRAIN_COMMAND}`\n\n"
    "then press **Refresh list**: every run's newest snapshot in `runs/` appears here."
)
INTRO = ("A ProGAN grows from 4×4 pixels, doubling the resolution at each stage. While a stage fades in, "
         "**alpha** blends the previous stage, upsampled (alpha 0), into the new layers' output (alpha 1).")


# --- handlers ----------------------------------------------------------------------------------


def progan_models(services: Services) -> list[ModelEntry]:
    return services.models_with(CAPABILITY)


CAPABILITY = "progressive"  # the models this tab lists


def _entry(services: Services, model_name: str | None) -> ModelEntry:
    return pick_entry(services, model_name, CAPABILITY, "ProGAN", "does not grow")


_whole = inputs.whole  # a whole number in [lo, hi] from a slider or number box, else a gr.Error


@user_errors(RenderError)
def _growth(services: Services, entry: ModelEntry) -> Growth:
    return services.renderer.growth(entry.path)


def stage_labels(g: Growth) -> str:
    """'0 = 4×4, 1 = 8×8, ...' up to the trained stage."""
    return ", ".join(f"{s} = {g.resolution(s)}×{g.resolution(s)}" for s in range(g.stage + 1))


def select_model(services: Services, model_name: str | None):
    """Handler: stage and alpha slider updates for a model: the range it was trained to, set to its end."""
    g = _growth(services, _entry(services, model_name))
    # A slider needs maximum > minimum: a model trained at 4x4 only gets a locked slider.
    stage = gr.update(maximum=max(g.stage, 1), value=g.stage, interactive=g.stage > 0,
                      info=f"trained up to stage {g.stage}: {stage_labels(g)}")
    return stage, gr.update(value=g.alpha)


def render(services: Services, model_name: str | None, seeds_text: str, stage, alpha):
    """Handler: (picture uint8 [H, W, C], info markdown) for the seeds at (stage, alpha)."""
    entry = _entry(services, model_name)
    stage = _whole(stage, "Stage", 0, 10)
    seeds = inputs.seeds(seeds_text, "images per view", MAX_SEEDS)
    alpha = inputs.number(alpha, "Alpha")  # finite; render_stage says which range
    with user_errors(ValueError, RenderError):
        t0 = time.perf_counter()
        raw = services.renderer.render_stage(entry.path, tuple(seeds), stage, alpha)  # [N, r, r, C]
        picture = display_grid(raw)
        ms = (time.perf_counter() - t0) * 1000
    r = raw.shape[1]
    fade = " (no effect at 4×4: nothing fades in)" if stage == 0 else ""
    info = (f"**Stage {stage}: {r}×{r} pixels**, shown enlarged (nearest) · "
            f"alpha {alpha:.2f}{fade} · {len(seeds)} image{'s' if len(seeds) != 1 else ''} in {ms:.0f} ms")
    return squeeze(picture), info


def strip(services: Services, model_name: str | None, seed):
    """Handler: (path, path) of the growth-strip PNG, shown and downloadable; it embeds its recipe."""
    entry = _entry(services, model_name)
    seed = _whole(seed, "Seed", 0, MAX_SEED)
    with user_errors(RenderError):
        panels = services.renderer.render_growth(entry.path, seed)  # [r_s, r_s, C] for s = 0..trained
    recipe = {"model": entry.name, "seed": seed, "stages": list(range(len(panels))), "kind": "growth-strip",
              "resolutions": [p.shape[0] for p in panels]}
    path = images.save_png(services.export_path(f"growth-strip-{entry.name}-seed{seed}.png"),
                           growth_strip(panels), recipe)
    return str(path), str(path)


def interpolate(services: Services, model_name: str | None, seed_a, seed_b, t, mode: str):
    """Handler: (picture, info) for the latent a fraction t of the way from seed A's z to seed B's."""
    entry = _entry(services, model_name)
    a, b = _whole(seed_a, "Seed A", 0, MAX_SEED), _whole(seed_b, "Seed B", 0, MAX_SEED)
    mode = inputs.choice(mode, "Mode", MODES)
    t = inputs.within(t, "t", limits.T)
    with user_errors(ValueError, RenderError):
        t0 = time.perf_counter()
        raw = services.renderer.render_interpolation(entry.path, a, b, [t], mode)  # [1, r, r, C]
        picture = display_grid(raw)
        ms = (time.perf_counter() - t0) * 1000
    r = raw.shape[1]
    return squeeze(picture), (f"**t = {t:.2f}** from seed {a} to seed {b}, {mode} · {r}×{r} pixels "
                               f"(the trained stage) · {ms:.0f} ms")


def refresh(services: Services, current: str | None):
    """Handler: the rescanned ProGAN model list (keeping the current choice) and the empty-state hint."""
    return refresh_models(services, current, CAPABILITY)


# --- the image recipe ------------------------------------------------------------------------------


def build_recipe(services: Services, model, seeds, stage, alpha, a, b, t, mode):
    picture, _ = render(services, model, seeds, stage, alpha)
    extra = {"seed_a": _whole(a, "Seed A", 0, MAX_SEED), "seed_b": _whole(b, "Seed B", 0, MAX_SEED),
             "t": inputs.within(t, "t", limits.T), "mode": inputs.choice(mode, "Mode", MODES)}
    return image_recipe_ui.new_recipe(services, services.find_model(model), "progan", parse_seeds(seeds, MAX_SEEDS),
                                      stage=int(stage), alpha=float(alpha), extra=extra), picture


def restore_recipe(services: Services, r, entry: ModelEntry):
    """Updates for [model, seeds, stage, alpha, seed A, seed B, t, mode, picture, info, interpolated, its info]."""
    if r.stage is None or r.alpha is None:
        raise gr.Error("This ProGAN recipe has no stage and alpha.")
    x = r.extra
    if x.get("mode") not in ("linear", "spherical") or not isinstance(x.get("t"), (int, float)) \
            or not limits.T.lo <= x["t"] <= limits.T.hi:
        raise gr.Error("The recipe's interpolation (extra: t from 0 to 1, mode linear or spherical) is invalid.")
    stage_upd, _ = select_model(services, entry.name)
    seeds = ", ".join(map(str, r.seeds))
    shown = render(services, entry.name, seeds, r.stage, r.alpha)
    a, b = x.get("seed_a", 0), x.get("seed_b", 1)
    interp = interpolate(services, entry.name, a, b, x["t"], x["mode"])
    stage_upd["value"] = r.stage
    return (entry.name, seeds, stage_upd, r.alpha, a, b, x["t"], x["mode"], *shown, *interp)


# --- layout and wiring ---------------------------------------------------------------------------


def create_progan_tab(services: Services) -> TabHandle:
    entries = progan_models(services)
    names = [m.name for m in entries]
    # Until a model is opened (on page load), the stage slider spans every listed model's full growth,
    # so an API client may ask any model for its stages without calling progan_select first (the
    # handler then holds it to the stages that model was trained to). No weights are loaded here.
    top = max([int(math.log2(m.res)) - 2 for m in entries] + [1])
    with gr.Tab("ProGAN", id="progan"):
        gr.Markdown(INTRO)
        empty = gr.Markdown(EMPTY_TEXT, visible=not names, elem_id="pg-empty")
        with gr.Row():
            model = gr.Dropdown(names, value=names[0] if names else None, label="ProGAN model", scale=4,
                                allow_custom_value=True, elem_id="pg-model")
            refresh_btn = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="pg-refresh")
        with gr.Row():
            with gr.Column(scale=2, min_width=280):
                seeds = gr.Textbox("0-3", label="Seeds", info=f"whole numbers and ranges, at most {MAX_SEEDS}",
                                   max_lines=1, elem_id="pg-seeds")
                stage = gr.Slider(0, top, value=top, step=1, label="Resolution stage",
                                  info="0 = 4×4, each stage doubles it", elem_id="pg-stage")
                alpha = slider(limits.ALPHA, 1.0, label="Fade-in alpha",
                               info="0 = previous stage upsampled, 1 = the new layers", elem_id="pg-alpha")
                go = gr.Button("Render", variant="primary", elem_id="pg-button")
            with gr.Column(scale=3):
                image = image_output("Images", 420, "pg-image")
                info = gr.Markdown(elem_id="pg-info")
                rec = image_recipe_ui.recipe_row("pg")
        gr.Markdown("### Growth strip\nOne seed at every stage, from 4×4 to the trained resolution. "
                    "An earlier stage's toRGB layer stops learning once the next stage has faded in, while "
                    "the layers it reads keep training, so its colours drift over a long run. "
                    "The PNG carries its recipe.")
        with gr.Row():
            strip_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, scale=2,
                                   elem_id="pg-strip-seed")
            strip_btn = gr.Button("Render growth strip", scale=1, min_width=160, elem_id="pg-strip-button")
            download = gr.DownloadButton("Download PNG", scale=1, min_width=160, elem_id="pg-strip-file")
        strip_img = image_output("Growth strip", 220, "pg-strip", type="filepath")
        gr.Markdown("### Interpolation\nThe latent between two seeds, rendered at the trained stage.")
        with gr.Row():
            seed_a = gr.Number(0, label="Seed A", precision=0, minimum=0, maximum=MAX_SEED, elem_id="pg-seed-a")
            seed_b = gr.Number(1, label="Seed B", precision=0, minimum=0, maximum=MAX_SEED, elem_id="pg-seed-b")
            mode = gr.Radio(list(MODES), value="spherical", label="Path",
                            info="spherical keeps the latent's norm", elem_id="pg-mode")
            t = slider(limits.T, 0.5, label="t (0 = seed A, 1 = seed B)", elem_id="pg-t")
        with gr.Row():
            interp_img = image_output("Interpolated", 300, "pg-interp")
            interp_info = gr.Markdown(elem_id="pg-interp-info")

    def _render(m, s, st, a):
        return render(services, m, s, st, a)

    def _strip(m, sd):
        return strip(services, m, sd)

    def _interp(m, a, b, tt, md):
        return interpolate(services, m, a, b, tt, md)

    def _open(m, s, sd, a, b, tt, md):
        """Set the sliders to the model's trained end and draw every view; nothing when no model."""
        if not m:
            return (gr.skip(),) * 8
        stage_upd, alpha_upd = select_model(services, m)
        return (stage_upd, alpha_upd, *render(services, m, s, stage_upd["value"], alpha_upd["value"]),
                *strip(services, m, sd), *interpolate(services, m, a, b, tt, md))

    def _refresh_open(m, s, sd, a, b, tt, md):
        model_upd, empty_upd = refresh(services, m)
        return (model_upd, empty_upd, *_open(model_upd["value"], s, sd, a, b, tt, md))

    gr.on([stage.input, alpha.input, seeds.submit, go.click], _render, [model, seeds, stage, alpha],
          [image, info], api_name="progan_render", **LIVE)
    gr.on([strip_btn.click, strip_seed.submit], _strip, [model, strip_seed], [strip_img, download],
          api_name="progan_strip", concurrency_limit=2, trigger_mode="always_last")
    gr.on([t.input, mode.input, seed_a.submit, seed_b.submit], _interp, [model, seed_a, seed_b, t, mode],
          [interp_img, interp_info], api_name="progan_interp", **LIVE)
    open_inputs = [model, seeds, strip_seed, seed_a, seed_b, t, mode]
    open_outputs = [stage, alpha, image, info, strip_img, download, interp_img, interp_info]
    model.input(_open, open_inputs, open_outputs, api_name="progan_select",
                concurrency_limit=2, trigger_mode="always_last")
    refresh_btn.click(_refresh_open, open_inputs, [model, empty, *open_outputs], api_name="progan_refresh",
                      concurrency_limit=2)
    controls = [model, seeds, stage, alpha, seed_a, seed_b, t, mode]
    image_recipe_ui.wire(rec, services, "progan", lambda *a: build_recipe(services, *a), controls,
                         lambda r, e: restore_recipe(services, r, e),
                         [*controls, image, info, interp_img, interp_info], "progan")
    # A page load and Open in explorer: rescan the ProGAN models, lay the sliders out for the one chosen, draw it.
    opened = ((_refresh_open, open_inputs, [model, empty, *open_outputs]),)
    return TabHandle("progan", model, CAPABILITY, on_load=opened, open_model=opened, parts={
        "model": model, "seeds": seeds, "stage": stage, "alpha": alpha, "button": go, "image": image, "info": info,
        "empty": empty, "refresh": refresh_btn, "strip_seed": strip_seed, "strip_button": strip_btn,
        "strip": strip_img, "download": download, "seed_a": seed_a, "seed_b": seed_b, "t": t, "mode": mode,
        "interp": interp_img, "interp_info": interp_info, "open_inputs": open_inputs, "open_outputs": open_outputs,
        "refresh_open_fn": _refresh_open, "recipe": rec})
