"""build_app(services) -> gr.Blocks: the tabs, wired to the services they get."""

from __future__ import annotations

import gradio as gr

from .. import __version__
from . import gradio_fixes
from .edit_tab import create_edit_tab
from .generate_tab import create_generate_tab
from .interp_tab import create_interp_tab
from .metrics_tab import create_metrics_tab
from .progan_tab import create_progan_tab
from .services import Services
from .stylegan_tab import create_stylegan_tab
from .train_tab import create_train_tab, wire_open_in_explorer

CSS = """
#gen-grid img { image-rendering: pixelated; object-fit: contain; }
#pg-image img, #pg-strip img, #pg-interp img { image-rendering: pixelated; object-fit: contain; }
#sg-a img, #sg-mix img, #sg-b img, #sg-var img, #sg-heat img, #sg-matrix img {
  image-rendering: pixelated; object-fit: contain; }
#ed-original img, #ed-edited img, #ip-picture img { image-rendering: pixelated; object-fit: contain; }
#tr-grid img, #tr-snap-img img { image-rendering: pixelated; object-fit: contain; }
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
            gen = create_generate_tab(services)
            pg = create_progan_tab(services)
            sg = create_stylegan_tab(services)
            ed = create_edit_tab(services)
            ip = create_interp_tab(services)
            tr = create_train_tab(services)
            mt = create_metrics_tab(services)
        # On every page load: rescan the models (a run may have finished since the server started),
        # then draw the first grid.
        demo.load(gen["refresh_fn"], [gen["model"]], [gen["model"], gen["empty"]], api_visibility="private"
                  ).then(gen["generate_if_any_fn"], [gen["model"], gen["seeds"], gen["psi"]],
                         [gen["grid"], gen["info"]], api_visibility="private")
        demo.load(pg["refresh_open_fn"], pg["open_inputs"], [pg["model"], pg["empty"], *pg["open_outputs"]],
                  api_visibility="private")
        demo.load(sg["refresh_open_fn"], sg["inputs"], [sg["model"], sg["empty"], *sg["open_outputs"]],
                  api_visibility="private")
        demo.load(ed["refresh_fn"], [ed["model"]], [ed["model"], *ed["refresh_outputs"]], api_visibility="private")
        demo.load(ip["refresh_fn"], ip["open_inputs"], [ip["model"], *ip["refresh_outputs"]], api_visibility="private")
        # The Train tab: on load, select the running job (a reload re-attaches); "Open in explorer" picks
        # the snapshot in the tab that fits it and draws it there.
        demo.load(tr["load_fn"], [tr["run"]], [tr["run"]], api_visibility="private")
        demo.load(mt["refresh_fn"], [mt["model"]], [mt["model"], mt["table"], mt["curve"]],
                  api_visibility="private").then(mt["estimate_fn"], [mt["model"], mt["metrics"], mt["n"], mt["nets"]],
                                                 [mt["estimate"]], api_visibility="private")
        wire_open_in_explorer(services, tr, tabs, {
            "generate": (gen["model"], [(gen["refresh_fn"], [gen["model"]], [gen["model"], gen["empty"]]),
                                        (gen["generate_if_any_fn"], [gen["model"], gen["seeds"], gen["psi"]],
                                         [gen["grid"], gen["info"]])]),
            "progan": (pg["model"], [(pg["refresh_open_fn"], pg["open_inputs"],
                                      [pg["model"], pg["empty"], *pg["open_outputs"]])]),
            "stylegan": (sg["model"], [(sg["refresh_open_fn"], sg["inputs"],
                                        [sg["model"], sg["empty"], *sg["open_outputs"]])])})
    demo.queue(api_open=False, max_size=64, default_concurrency_limit=2)
    return demo
