"""The Playground tab: a GAN on points in the plane, with the losses and stabilisers of the image recipes.
D's view of the plane as a heat map, the pull on each fake as an arrow, G's image of its latent grid as a
mesh, the charts, and presets that reproduce the classic failures, live while it trains."""

from __future__ import annotations

import gradio as gr

from ..playground import PRESETS
from ..playground.config import LOSS_NAMES
from . import playground_handlers as h
from .common import TabHandle
from .playground_runner import Runner
from .services import Services

INTRO = ("A small G maps noise to points in the plane and a small D scores points as real or fake, with the "
         "losses the image recipes use. **Heat map**: D's output over the plane (P(real) for BCE, the critic's "
         "value for WGAN-GP and hinge); **dots**: real (green) and fake (purple); **arrows**: the gradient each "
         "fake receives from G's loss; **mesh**: G's image of a grid of its latents. Pick a preset, press "
         "**Play** and watch the sentence come true; change a setting while it trains. Click the picture to "
         "draw your own points.")


def create_playground_tab(services: Services) -> TabHandle:
    runner = Runner()
    first = PRESETS[next(iter(PRESETS))]
    with gr.Tab("Playground", id="playground"):
        gr.Markdown(INTRO)
        with gr.Row():
            preset = gr.Dropdown(list(PRESETS), value=next(iter(PRESETS)), label="Preset", scale=1, elem_id="pl-preset")
            watch = gr.Markdown(first.watch, elem_id="pl-watch")
        with gr.Row():
            with gr.Column(scale=3):
                picture = gr.Image(label="The plane", type="numpy", interactive=False, height=h.VIEW_PX + 60,
                                   format="png", elem_id="pl-picture")
                info = gr.Markdown(elem_id="pl-info")
                with gr.Row():
                    play = gr.Button("Play", variant="primary", elem_id="pl-play")
                    pause = gr.Button("Pause", elem_id="pl-pause")
                    step_d = gr.Button("Step D", elem_id="pl-step-d")
                    step_g = gr.Button("Step G", elem_id="pl-step-g")
                    step_both = gr.Button("Step both", elem_id="pl-step")
                    slow = gr.Button("Slow step", elem_id="pl-slow")
                    reset = gr.Button("Reset", elem_id="pl-reset")
                speed = gr.Slider(1, 50, value=5, step=1, label="Speed (iterations per update)", elem_id="pl-speed")
            with gr.Column(scale=2):
                with gr.Row():
                    data = gr.Dropdown(h.DATA_CHOICES, label="Data", elem_id="pl-data")
                    n = gr.Number(512, label="Points", precision=0, minimum=8, maximum=5000, elem_id="pl-n")
                with gr.Row():
                    loss = gr.Radio(list(LOSS_NAMES), label="Loss", elem_id="pl-loss")
                    g_loss = gr.Radio(list(h.G_LOSSES), label="G loss (BCE)", elem_id="pl-g-loss")
                with gr.Row():
                    lr_g = gr.Number(1e-3, label="Learning rate of G", minimum=1e-6, maximum=0.1, step=1e-4,
                                     elem_id="pl-lr-g")
                    lr_d = gr.Number(1e-3, label="Learning rate of D", minimum=1e-6, maximum=0.1, step=1e-4,
                                     elem_id="pl-lr-d")
                with gr.Row():
                    d_steps = gr.Slider(1, 20, value=1, step=1, label="D steps per G step", elem_id="pl-d-steps")
                    smoothing = gr.Slider(0, 0.49, value=0, step=0.01, label="Label smoothing (BCE)",
                                          elem_id="pl-smoothing")
                with gr.Row():
                    gp = gr.Number(10.0, label="Gradient penalty λ (WGAN-GP)", minimum=0, maximum=1000, step=0.1,
                                   elem_id="pl-gp")
                    r1 = gr.Number(0.0, label="R1 γ", minimum=0, maximum=1000, step=0.1, elem_id="pl-r1")
                with gr.Row():
                    width = gr.Slider(2, 256, value=64, step=2, label="D width", elem_id="pl-width")
                    depth = gr.Slider(1, 8, value=3, step=1, label="D depth", elem_id="pl-depth")
                    latent = gr.Radio([1, 2], value=2, label="Latent dimensions", elem_id="pl-latent")
                with gr.Accordion("More: label noise and flips, dropout in D, Adam, G's size", open=False):
                    with gr.Row():
                        noise = gr.Slider(0, 0.49, value=0, step=0.01, label="Label noise (BCE)", elem_id="pl-noise")
                        flip = gr.Slider(0, 0.49, value=0, step=0.01, label="Label flips (BCE)", elem_id="pl-flip")
                        dropout = gr.Slider(0, 0.9, value=0, step=0.05, label="Dropout in D", elem_id="pl-dropout")
                    with gr.Row():
                        beta1 = gr.Number(0.5, label="Adam β1", minimum=0, maximum=0.9999, step=0.01, elem_id="pl-beta1")
                        beta2 = gr.Number(0.999, label="Adam β2", minimum=0, maximum=0.9999, step=0.001,
                                          elem_id="pl-beta2")
                        g_width = gr.Slider(2, 256, value=64, step=2, label="G width", elem_id="pl-g-width")
                        g_depth = gr.Slider(1, 8, value=3, step=1, label="G depth", elem_id="pl-g-depth")
                apply = gr.Button("Apply settings", elem_id="pl-apply")
                losses = gr.LinePlot(x="step", y="value", color="series", title="Losses", height=200, elem_id="pl-losses")
                scores = gr.LinePlot(x="step", y="value", color="series", title="D's scores and the divergence",
                                     height=200, elem_id="pl-scores")
                with gr.Accordion("Your own points, recipes", open=False):
                    csv = gr.File(label="Points as CSV (x,y per line)", file_types=[".csv", ".txt"], elem_id="pl-csv")
                    clear = gr.Button("Clear drawn points", size="sm", elem_id="pl-clear")
                    save = gr.Button("Save view + recipe", size="sm", elem_id="pl-save")
                    saved = gr.File(label="Recipe (PNG)", interactive=False, elem_id="pl-saved")
                    load = gr.File(label="Load a recipe (PNG or JSON)", file_types=[".png", ".json"], elem_id="pl-load")
        version = gr.State(-1)
        timer = gr.Timer(0.5)

    form = [data, n, loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp, r1, width, depth, latent, noise, flip, dropout,
            beta1, beta2, g_width, g_depth]
    shown = [picture, info, losses, scores]
    quick = dict(concurrency_limit=4, concurrency_id="playground")
    # A playground belongs to the connection that made it (Gradio's session hash: a page, or an API client),
    # so nothing a client sends can name another's.

    def key(request: gr.Request | None) -> str | None:
        return getattr(request, "session_hash", None)

    def _open(request: gr.Request = None):
        return h.open_page(runner, key(request))[1:]

    def _preset(p, request: gr.Request = None):
        return h.choose_preset(runner, key(request), p)

    # Each input named (not *values): Gradio passes the request only to a function that names its inputs.
    def _apply(data, n, loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp, r1, width, depth, latent, noise, flip,
               dropout, beta1, beta2, g_width, g_depth, request: gr.Request = None):
        return h.apply_settings(runner, key(request), data, n, loss, g_loss, lr_g, lr_d, d_steps, smoothing, gp, r1,
                                width, depth, latent, noise, flip, dropout, beta1, beta2, g_width, g_depth)

    def _act(action):
        def fn(s, request: gr.Request = None):
            return h.act(runner, key(request), action, s)
        fn.__name__ = f"playground_{action}"
        return fn

    def _speed(s, request: gr.Request = None):
        return h.set_speed(runner, key(request), s)

    def _slow(request: gr.Request = None):
        yield from h.slow_step(runner, key(request))

    def _poll(last, request: gr.Request = None):
        return h.poll(runner, key(request), last)

    def _point(request: gr.Request = None, evt: gr.SelectData = None):
        return h.add_point(runner, key(request), evt)

    def _csv(path, request: gr.Request = None):
        return h.upload_points(runner, key(request), path)

    def _clear(request: gr.Request = None):
        return h.clear_points(runner, key(request))

    def _save(request: gr.Request = None):
        return h.save_recipe(runner, key(request), services.export_path)

    def _load(path, request: gr.Request = None, progress=gr.Progress()):
        return h.load_recipe(runner, key(request), path, progress)

    preset.input(_preset, [preset], [watch, *form, *shown], api_name="playground_preset", **quick)
    apply.click(_apply, form, shown, api_name="playground_apply", **quick)
    # Training settings act on the training in progress as they are changed (data and shapes on Apply).
    live = [loss.input, g_loss.input, lr_g.submit, lr_d.submit, d_steps.input, smoothing.input, gp.submit, r1.submit,
            noise.input, flip.input, beta1.submit, beta2.submit]
    gr.on(live, _apply, form, shown, api_name="playground_settings", trigger_mode="always_last",
          show_progress="hidden", **quick)
    for button, action in ((play, "play"), (pause, "pause"), (step_d, "d"), (step_g, "g"), (step_both, "both"),
                           (reset, "reset")):
        button.click(_act(action), [speed], shown, api_name=f"playground_{action}", **quick)
    speed.input(_speed, [speed], [], api_name="playground_speed", **quick)
    slow.click(_slow, [], shown, api_name="playground_slow", **quick)
    timer.tick(_poll, [version], [*shown, version], api_visibility="private", show_progress="hidden",
               concurrency_limit=None)
    picture.select(_point, [], [picture, info, losses, scores, data], api_visibility="private", **quick)
    csv.upload(_csv, [csv], [picture, info, losses, scores, data], api_name="playground_csv", **quick)
    clear.click(_clear, [], [info], api_name="playground_clear", **quick)
    save.click(_save, [], [saved], api_name="playground_save", **quick)
    load.upload(_load, [load], [*form, *shown], api_name="playground_load", **quick)
    on_load = ((_open, [], [preset, watch, *form, *shown]),)
    return TabHandle("playground", None, on_load=on_load, parts={
        "preset": preset, "watch": watch, "picture": picture, "info": info, "play": play, "pause": pause,
        "step_d": step_d, "step_g": step_g, "step": step_both, "slow": slow, "reset": reset, "speed": speed,
        "form": form, "losses": losses, "scores": scores, "timer": timer, "runner": runner,
        "save": save, "load": load, "csv": csv})
