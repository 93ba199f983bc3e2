"""build_app(services) -> gr.Blocks: the tabs, wired to the services they get."""

from __future__ import annotations

import gradio as gr

from .. import __version__
from . import gradio_fixes
from .common import Opener, TabHandle, chain, listed
from .edit_tab import create_edit_tab
from .generate_tab import create_generate_tab
from .inspect_tab import create_inspect_tab
from .interp_tab import create_interp_tab
from .metrics_tab import create_metrics_tab
from .playground_tab import create_playground_tab
from .progan_tab import create_progan_tab
from .project_handlers import open_target
from .project_tab import create_project_tab
from .services import Services
from .stylegan_tab import create_stylegan_tab
from .train_tab import create_train_tab

# The tabs, in the order they are shown: each create(services) lays its tab out, wires its own events and
# returns its TabHandle. A new tab is one more line here.
TABS = (
    create_generate_tab,
    create_progan_tab,
    create_stylegan_tab,
    create_edit_tab,
    create_interp_tab,
    create_project_tab,
    create_inspect_tab,
    create_playground_tab,
    create_train_tab,
    create_metrics_tab,
)

# Pictures are sent small and enlarged by the page: with hard pixel edges (common.image_output's class).
CSS = """
.pixelated img { image-rendering: pixelated; object-fit: contain; }
"""

# launch() options shared by app.py and the tests: no run history in localStorage (a slider app
# would store every render), upload limit enforced by the server.
LAUNCH_OPTIONS = dict(css=CSS, show_error=True, run_history=False, max_file_size="50mb")

HEADER = (f"# GAN Explorer <small>v{__version__}</small>\n"
          "Train the classic GAN families and explore what they learned.")


def build_app(services: Services) -> gr.Blocks:
    gradio_fixes.apply()  # pictures in Gradio's cache written atomically (see the module)
    with gr.Blocks(title="GAN Explorer", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(HEADER)
        with gr.Tabs() as tabs:
            handles = [create(services) for create in TABS]
        for handle in handles:
            # On every page load: each tab rescans what it lists (a run may have finished since the server
            # started) and draws its first picture.
            chain(demo.load, handle.on_load, api_visibility="private")
        for handle in handles:
            if handle.opener is not None:
                wire_open(services, handle.opener, tabs, [h for h in handles if h.open_model is not None])
            if "open" in handle.parts and handle.id == "project":
                wire_latent_open(services, handle, tabs, handles)
    demo.queue(api_open=False, max_size=64, default_concurrency_limit=2)
    return demo


def wire_open(services: Services, opener: Opener, tabs: gr.Tabs, targets: list[TabHandle]) -> None:
    """"Open in explorer": select the tab that fits the model, pick the model in that tab's (rescanned)
    list and run the tab's open_model steps. Tabs that need a capability are tried before those that
    take any model."""
    target = gr.State(None)  # the chosen tab's id, which gates the steps below
    order = [(h.id, h.capability) for h in targets if h.capability] + \
        [(h.id, h.capability) for h in targets if not h.capability]

    def choose(*values):
        tab, name = opener.choose(order, *values)
        picker = next(h for h in targets if h.id == tab)
        names = [m.name for m in listed(services, picker.capability)]
        return (gr.Tabs(selected=tab), tab,
                *(gr.update(choices=names, value=name) if h.id == tab else gr.skip() for h in targets))

    event = opener.button.click(choose, opener.inputs, [tabs, target, *(h.model for h in targets)],
                                api_name=opener.api_name)
    for h in targets:
        for fn, step_inputs, outputs in h.open_model:
            def gated(t, *args, fn=fn, tab=h.id, n=len(outputs)):
                return fn(*args) if t == tab else (gr.skip(),) * n
            event = event.then(gated, [target, *step_inputs], outputs, api_visibility="private")


def wire_latent_open(services: Services, project: TabHandle, tabs: gr.Tabs, handles: list[TabHandle]) -> None:
    """The Project tab's "Open in StyleGAN / Edit / Interpolate": select that tab, pick the model in its list,
    put "@key" where it takes a seed (its handle's `latent`), then run its open_latent steps."""
    for tab_id, button in project["open"].items():
        target = next(h for h in handles if h.id == tab_id and h.latent is not None)

        def choose(model, saved, tab=tab_id, target=target):
            name, key = open_target(services, tab, model, saved)
            names = [m.name for m in listed(services, target.capability)]
            return gr.Tabs(selected=tab), gr.update(choices=names, value=name), target.latent_value(key)

        event = button.click(choose, [project.model, project["saved"]], [tabs, target.model, target.latent],
                             api_name=f"project_open_{tab_id}")
        for i, (fn, step_inputs, outputs) in enumerate(target.open_latent):
            event = (event.success if i == 0 else event.then)(fn, step_inputs, outputs, api_visibility="private")
