"""The Project tab: upload a picture, watch it being projected into a model's latent space (w, w+ or z,
optionally with PTI), then open the result in the StyleGAN, Edit or Interpolate tab, where it stands in
for a seed ("@name"). This module is the layout and the wiring; the handlers are in project_handlers.py,
the optimisation in explorer/project."""

from __future__ import annotations

import gradio as gr

from ..project.projector import ProjectConfig
from .common import TabHandle, image_output, model_list
from .edit_handlers import default_model
from . import project_handlers as h
from .services import Services

INTRO = ("**Bring your own picture.** Upload one, pick a model, press **Start**: the app searches the model's "
         "latent space for the image closest to yours (*w+* is closest, *w* edits most cleanly; models without a "
         "mapping network use *z*) and shows its progress live. **PTI** then fine-tunes a copy of the model around "
         "that latent, for a near-exact picture whose edits still work. The result is saved beside the model and "
         "opens in the StyleGAN, Edit and Interpolate tabs, where it stands in for a seed (type **@name** in a seed "
         "list). Pictures unlike the model's training data come back as the closest thing it can draw.")


def create_project_tab(services: Services) -> TabHandle:
    entries = services.models()
    names = [m.name for m in entries]
    start = default_model(entries)  # the Edit tab's: the faces StyleGAN2, whose directions edit a projected face
    d = ProjectConfig()
    with gr.Tab("Project", id="project"):
        gr.Markdown(INTRO)
        with gr.Row():
            model = gr.Dropdown(names, value=start, label="Model", scale=4,
                                allow_custom_value=True, elem_id="pj-model")
            refresh = gr.Button("Refresh list", size="sm", scale=1, min_width=120, elem_id="pj-refresh")
        model_info = gr.Markdown(elem_id="pj-model-info")
        with gr.Row():
            upload = gr.File(label="Your picture (PNG, JPEG, WebP)", file_types=["image"], type="filepath",
                             height=120, elem_id="pj-upload")
            crop = gr.Image(label="Kept (the centre square)", type="numpy", interactive=False, height=200,
                            elem_id="pj-crop")
        notes = gr.Markdown(elem_id="pj-notes")
        with gr.Row():
            name = gr.Textbox("", label="Name", max_lines=1, info="saved as @name beside the model",
                              elem_id="pj-name")
            space = gr.Radio(["w+", "w"], value="w+", label="Latent space", elem_id="pj-space")
            steps = gr.Slider(10, 2000, value=d.steps, step=10, label="Steps", elem_id="pj-steps")
        with gr.Row():
            pti = gr.Checkbox(False, label="PTI: fine-tune the model around the latent", elem_id="pj-pti")
            pti_steps = gr.Slider(10, 1000, value=h.PTI_STEPS, step=10, label="PTI steps", elem_id="pj-pti-steps")
        with gr.Accordion("Advanced", open=False):
            with gr.Row():
                lr = gr.Number(d.lr, label="Learning rate (latent)", step=0.01, minimum=1e-5, maximum=10, elem_id="pj-lr")
                perceptual = gr.Number(d.perceptual, label="Perceptual weight", step=0.1, minimum=0, maximum=100,
                                       elem_id="pj-perceptual")
                pixel = gr.Number(d.pixel, label="Pixel MSE weight", step=0.1, minimum=0, maximum=100, elem_id="pj-pixel")
                initial_noise = gr.Number(d.initial_noise, label="Initial latent noise", step=0.01, minimum=0,
                                          maximum=1, elem_id="pj-initial-noise")
            with gr.Row():
                net = gr.Dropdown(list(h.NETS), value=next(iter(h.NETS)), label="Perceptual network", elem_id="pj-net")
                net_res = gr.Number(d.net_res, label="Lite0 input size (px)", precision=0, minimum=32, maximum=512,
                                    elem_id="pj-net-res")
                noise_maps = gr.Checkbox(d.noise_maps, label="Optimise the noise maps (StyleGAN)", elem_id="pj-noise-maps")
                noise_reg = gr.Number(d.noise_reg, label="Noise regulariser weight", step=1000, minimum=0,
                                      maximum=1e7, elem_id="pj-noise-reg")
            with gr.Row():
                pti_lr = gr.Number(d.pti_lr, label="PTI learning rate", step=1e-4, minimum=1e-7, maximum=0.1,
                                   elem_id="pj-pti-lr")
                pti_locality = gr.Number(d.pti_locality, label="PTI locality weight", step=0.01, minimum=0, maximum=100,
                                         elem_id="pj-pti-locality")
                seed = gr.Number(d.seed, label="Seed (latent noise, PTI samples)", precision=0, minimum=0,
                                 elem_id="pj-seed")
        with gr.Row():
            start = gr.Button("Start", variant="primary", elem_id="pj-start")
            stop = gr.Button("Stop", elem_id="pj-stop")
        status = gr.Markdown(elem_id="pj-status")
        with gr.Row():
            target = image_output("Target", 256, "pj-target")
            recon = image_output("Reconstruction", 256, "pj-recon")
            loss = gr.LinePlot(x="step", y="value", color="series", title="log10 loss", height=256, elem_id="pj-loss")
        gr.Markdown("### Saved projections of this model")
        with gr.Row():
            saved = gr.Dropdown([], label="Projection", scale=3, allow_custom_value=True, elem_id="pj-saved")
            open_sg = gr.Button("Open in StyleGAN", size="sm", elem_id="pj-open-stylegan")
            open_ed = gr.Button("Open in Edit", size="sm", elem_id="pj-open-edit")
            open_ip = gr.Button("Open in Interpolate", size="sm", elem_id="pj-open-interpolate")
            remove = gr.Button("Delete", size="sm", variant="stop", elem_id="pj-delete")
        saved_info = gr.Markdown(elem_id="pj-saved-info")
        version = gr.State(-1)
        timer = gr.Timer(0.5)

    form = [space, steps, pti, pti_steps, lr, perceptual, net, net_res, pixel, noise_maps, noise_reg, initial_noise,
            pti_lr, pti_locality, seed]
    quick = dict(concurrency_limit=4, concurrency_id="project")

    def owner(request: gr.Request | None) -> str | None:
        return getattr(request, "session_hash", None)

    def _select(m, s=None):
        if not m:
            return (gr.skip(),) * 4
        return h.select(services, m, s)

    def _refresh(m, s=None):
        picker = model_list(services, m, fallback=default_model)
        return (picker, *_select(picker["value"], s))

    # Each input named (not *values): Gradio passes the request only to a function that names its inputs.
    def _start(m, file, nm, space, steps, pti, pti_steps, lr, perceptual, net, net_res, pixel, noise_maps,
               noise_reg, initial_noise, pti_lr, pti_locality, seed, request: gr.Request = None):
        return h.start(services, owner(request), m, file, nm, space, steps, pti, pti_steps, lr, perceptual, net,
                       net_res, pixel, noise_maps, noise_reg, initial_noise, pti_lr, pti_locality, seed)

    def _stop(request: gr.Request = None):
        return h.stop(services, owner(request))

    def _poll(last, request: gr.Request = None):
        return h.poll(services, owner(request), last)

    selected = [space, saved, open_sg, model_info]
    model.input(_select, [model, saved], selected, api_name="project_select", **quick)
    refresh.click(_refresh, [model, saved], [model, *selected], api_name="project_refresh", **quick)
    upload.upload(lambda m, f: h.preview(services, m, f), [model, upload], [crop, target, notes, name],
                  api_name="project_preview", **quick)
    start.click(_start, [model, upload, name, *form], [status, target], api_name="project_start", **quick)
    stop.click(_stop, [], [status], api_name="project_stop", **quick)
    timer.tick(_poll, [version], [target, recon, loss, status, version, saved], api_visibility="private",
               show_progress="hidden", concurrency_limit=None)
    saved.input(lambda m, s: h.show_saved(services, m, s), [model, saved], [target, recon, saved_info],
                api_name="project_show", **quick)
    remove.click(lambda m, s: h.delete(services, m, s), [model, saved], [saved, saved_info], api_name="project_delete",
                 **quick)
    on_load = ((_refresh, [model, saved], [model, *selected]),)
    return TabHandle("project", model, on_load=on_load, parts={
        "model": model, "upload": upload, "crop": crop, "notes": notes, "name": name, "form": form, "start": start,
        "stop": stop, "status": status, "target": target, "recon": recon, "loss": loss, "saved": saved,
        "saved_info": saved_info, "open": {"stylegan": open_sg, "edit": open_ed, "interpolate": open_ip},
        "remove": remove, "timer": timer, "version": version})
