"""The ProGAN tab: one latent seen at every resolution stage, the fade-in alpha, a growth strip
and latent interpolation. Only progressive checkpoints are listed."""

from __future__ import annotations

import math
import time

import gradio as gr

from .. import images, limits
from ..edit.interp import MODES
from ..edit.latents import MAX_SEED
from ..render import Growth, RenderError, display_grid, growth_strip
from ..weights import ModelEntry
from . import LIVE, inputs, recipe_ui
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
    return services.models_with("progressive")


def _entry(services: Services, model_name: str | None) -> ModelEntry:
    try:
        return services.pick_model(inputs.name(model_name, "Model"), "progressive", "ProGAN", "does not grow")
    except LookupError as e:
        raise gr.Error(str(e)) from None


_whole = inputs.whole  # a whole number in [lo, hi] from a slider or number box, else a gr.Error


def _growth(services: Services, entry: ModelEntry) -> Growth:
    try:
        return services.renderer.growth(entry.path)
    except RenderError as e:
        raise gr.Error(str(e)) from None


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
    try:
        t0 = time.perf_counter()
        raw = services.renderer.render_stage(entry.path, tuple(seeds), stage, alpha)  # [N, r, r, C]
        picture = display_grid(raw)
        ms = (time.perf_counter() - t0) * 1000
    except (ValueError, RenderError) as e:
        raise gr.Error(str(e)) from None
    r = raw.shape[1]
    fade = " (no effect at 4×4: nothing fades in)" if stage == 0 else ""
    info = (f"**Stage {stage}: {r}×{r} pixels**, shown enlarged (nearest) · "
            f"alpha {alpha:.2f}{fade} · {len(seeds)} image{'s' if len(seeds) != 1 else ''} in {ms:.0f} ms")
    return _squeeze(picture), info


def strip(services: Services, model_name: str | None, seed):
    """Handler: (path, path) of the growth-strip PNG, shown and downloadable; it embeds its recipe."""
    entry = _entry(services, model_name)
    seed = _whole(seed, "Seed", 0, MAX_SEED)
    try:
        panels = services.renderer.render_growth(entry.path, seed)  # [r_s, r_s, C] for s = 0..trained
    except RenderError as e:
        raise gr.Error(str(e)) from None
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
    t = inputs.number(t, "t", 0.0, 1.0)
    try:
        t0 = time.perf_counter()
        raw = services.renderer.render_interpolation(entry.path, a, b, [t], mode)  # [1, r, r, C]
        picture = display_grid(raw)
        ms = (time.perf_counter() - t0) * 1000
    except (ValueError, RenderError) as e:
        raise gr.Error(str(e)) from None
    r = raw.shape[1]
    return _squeeze(picture), (f"**t = {t:.2f}** from seed {a} to seed {b}, {mode} · {r}×{r} pixels "
                               f"(the trained stage) · {ms:.0f} ms")


def refresh(services: Services, current: str | None):
    """Handler: the rescanned ProGAN model list (keeping the current choice) and the empty-state hint."""
    names = [m.name for m in progan_models(services)]
    value = current if current in names else (names[0] if names else None)
    return gr.update(choices=names, value=value), gr.update(visible=not names)


def _squeeze(picture):
    return picture[:, :, 0] if picture.shape[2] == 1 else picture


# --- layout and wiring ---------------------------------------------------------------------------


def create_progan_tab(services: Services) -> dict:
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
                alpha = gr.Slider(0.0, 1.0, value=1.0, step=0.01, label="Fade-in alpha",
                                  info="0 = previous stage upsampled, 1 = the new layers", elem_id="pg-alpha")
                go = gr.Button("Render", variant="primary", elem_id="pg-button")
            with gr.Column(scale=3):
                image = gr.Image(label="Images", type="numpy", format="png", interactive=False, height=420,
                                 elem_id="pg-image")
                info = gr.Markdown(elem_id="pg-info")
                rec = recipe_ui.recipe_row("pg")
        gr.Markdown("### Growth strip\nOne seed at every stage, from 4×4 to the trained resolution. "
                    "An earlier stage's toRGB layer stops learning once the next stage has faded in, while "
                    "the layers it reads keep training, so its colours drift over a long run. "
                    "The PNG carries its recipe.")
        with gr.Row():
            strip_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, scale=2,
                                   elem_id="pg-strip-seed")
            strip_btn = gr.Button("Render growth strip", scale=1, min_width=160, elem_id="pg-strip-button")
            download = gr.DownloadButton("Download PNG", scale=1, min_width=160, elem_id="pg-strip-file")
        strip_img = gr.Image(label="Growth strip", type="filepath", interactive=False, height=220,
                             elem_id="pg-strip")
        gr.Markdown("### Interpolation\nThe latent between two seeds, rendered at the trained stage.")
        with gr.Row():
            seed_a = gr.Number(0, label="Seed A", precision=0, minimum=0, maximum=MAX_SEED, elem_id="pg-seed-a")
            seed_b = gr.Number(1, label="Seed B", precision=0, minimum=0, maximum=MAX_SEED, elem_id="pg-seed-b")
            mode = gr.Radio(list(MODES), value="spherical", label="Path",
                            info="spherical keeps the latent's norm", elem_id="pg-mode")
            t = gr.Slider(0.0, 1.0, value=0.5, step=0.01, label="t (0 = seed A, 1 = seed B)", elem_id="pg-t")
        with gr.Row():
            interp_img = gr.Image(label="Interpolated", type="numpy", format="png", interactive=False, height=300,
                                  elem_id="pg-interp")
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

    live = LIVE
    gr.on([stage.input, alpha.input, seeds.submit, go.click], _render, [model, seeds, stage, alpha],
          [image, info], api_name="progan_render", **live)
    gr.on([strip_btn.click, strip_seed.submit], _strip, [model, strip_seed], [strip_img, download],
          api_name="progan_strip", concurrency_limit=2, trigger_mode="always_last")
    gr.on([t.input, mode.input, seed_a.submit, seed_b.submit], _interp, [model, seed_a, seed_b, t, mode],
          [interp_img, interp_info], api_name="progan_interp", **live)
    open_inputs = [model, seeds, strip_seed, seed_a, seed_b, t, mode]
    open_outputs = [stage, alpha, image, info, strip_img, download, interp_img, interp_info]
    model.input(_open, open_inputs, open_outputs, api_name="progan_select",
                concurrency_limit=2, trigger_mode="always_last")
    refresh_btn.click(_refresh_open, open_inputs, [model, empty, *open_outputs], api_name="progan_refresh",
                      concurrency_limit=2)
    recipe_ui.wire_progan(rec, services, [model, seeds, stage, alpha, seed_a, seed_b, t, mode],
                          [image, info, interp_img, interp_info])
    return {"model": model, "seeds": seeds, "stage": stage, "alpha": alpha, "button": go, "image": image,
            "info": info, "empty": empty, "refresh": refresh_btn, "strip_seed": strip_seed, "strip_button": strip_btn,
            "strip": strip_img, "download": download, "seed_a": seed_a, "seed_b": seed_b, "t": t, "mode": mode,
            "interp": interp_img, "interp_info": interp_info, "open_inputs": open_inputs,
            "open_outputs": open_outputs, "refresh_open_fn": _refresh_open, "recipe": rec}
