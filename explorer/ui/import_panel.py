"""The "Import checkpoint" panel (in the Generate tab): upload a rosinality StyleGAN2 .pt, an NVIDIA
StyleGAN2 .pkl or a GAN Zoo PGAN .pt and it becomes a model in every list. The file is untrusted:
nothing in it runs (explorer/importers), its size is capped, and only weights/NAME.safetensors +
NAME.json are written, under a validated name, the JSON last (a failed import leaves no model behind)."""

from __future__ import annotations

import re
from pathlib import Path

import gradio as gr

from .. import limits
from ..importers import ImportRefused, import_checkpoint
from . import inputs
from .common import user_errors
from .services import Services

# The server refuses larger uploads itself (max_file_size in ui/app.py's LAUNCH_OPTIONS); this is the
# same cap, checked again here. Larger files: `python -m explorer.weights import FILE --name NAME`.
UPLOAD_MAX_BYTES = 50 * 2**20
HELP = ("Bring your own model: a **rosinality/stylegan2-pytorch** `.pt` (with `g_ema`), an **NVIDIA "
        "stylegan2-ada-pytorch / stylegan3** StyleGAN2 network pickle `.pkl` (with `G_ema`), or a **PyTorch GAN "
        "Zoo** PGAN `.pt`/`.pth`. Nothing in the file is run: its weights are read and converted. Up to "
        f"{UPLOAD_MAX_BYTES // 2**20} MB here; larger files from a terminal: "
        "`python -m explorer.weights import FILE --name NAME`.")


def default_name(filename: str) -> str:
    """A valid model name from an uploaded file's name ("network-snapshot-000400.pkl" -> "network-snapshot-000400")."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(filename).stem).strip("-._")[:64]
    return stem or "imported"


def import_upload(services: Services, file_path: str | None, name: str | None):
    """Handler: (result markdown, model dropdown update). Problems become gr.Error sentences."""
    if not file_path:
        raise gr.Error("Choose a checkpoint file to import first.")
    src = Path(file_path)
    name = inputs.text(name, "The name", limits.NAME_CHARS).strip() or default_name(src.name)
    try:
        size = src.stat().st_size
    except OSError:
        raise gr.Error("The upload is no longer there; choose the file again.") from None
    if size > UPLOAD_MAX_BYTES:
        raise gr.Error(f"{src.name} is {size / 2**20:.0f} MB, over the {UPLOAD_MAX_BYTES // 2**20} MB upload limit; "
                       "import it from a terminal: python -m explorer.weights import FILE --name NAME")
    with user_errors(ImportRefused):
        r = import_checkpoint(src, services.weights_dir, name, max_bytes=UPLOAD_MAX_BYTES, original_name=src.name)
    entry = services.find_model(name)
    names = [m.name for m in services.models()]
    named = r.config.get("class_names") or []
    classes = f" ({', '.join(named[:4])}{', …' if len(named) > 4 else ''}; pick one in every tab)" if named else ""
    text = (f"Imported **{src.name}** ({r.source_format}) as **{name}**: {r.arch.upper()} {r.config['res']}×"
            f"{r.config['res']}" + (f" · {entry.summary}{classes}" if entry is not None else "") +
            f" · sha256 `{r.sha256[:16]}…`. It is selected here and listed in the other tabs after Refresh.")
    return text, gr.update(choices=names, value=name)


def create_import_panel(services: Services, model: gr.Dropdown) -> dict:
    """The panel; a successful import selects the new model in `model` (the Generate tab's picker)."""
    with gr.Accordion("Import checkpoint", open=False, elem_id="imp-panel"):
        gr.Markdown(HELP)
        with gr.Row():
            file = gr.File(label="Checkpoint (.pt, .pth, .pkl)", file_types=[".pt", ".pth", ".pkl"], type="filepath",
                           scale=3, elem_id="imp-file")
            name = gr.Textbox(label="Name", info="letters, digits, . _ -; empty = the file's name", max_lines=1,
                              scale=2, elem_id="imp-name")
            button = gr.Button("Import", variant="secondary", scale=1, min_width=100, elem_id="imp-button")
        result = gr.Markdown(elem_id="imp-result")

    def _import(f, n):
        return import_upload(services, f, n)

    button.click(_import, [file, name], [result, model], api_name="import_checkpoint", concurrency_limit=1)
    return {"file": file, "name": name, "button": button, "result": result, "import_fn": _import}
