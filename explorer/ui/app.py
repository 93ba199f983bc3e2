"""build_app(services) -> gr.Blocks: the tabs, wired to the services they get."""

from __future__ import annotations

import gradio as gr

from .. import __version__
from .generate_tab import create_generate_tab
from .services import Services

CSS = """
#gen-grid img { image-rendering: pixelated; object-fit: contain; }
"""

HEADER = (f"# GAN Explorer <small>v{__version__}</small>\n"
          "Train the classic GAN families and explore what they learned.")


def build_app(services: Services) -> gr.Blocks:
    with gr.Blocks(title="GAN Explorer", delete_cache=(3600, 3600)) as demo:
        gr.Markdown(HEADER)
        with gr.Tabs():
            gen = create_generate_tab(services)
        # First picture as soon as the page opens, when there is a model to show.
        demo.load(gen["generate_fn"], [gen["model"], gen["seeds"], gen["psi"]], [gen["grid"], gen["info"]],
                  api_visibility="private") if gen["model"].value else None
    demo.queue(api_open=False, max_size=64, default_concurrency_limit=2)
    return demo
