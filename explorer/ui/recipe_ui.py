"""The recipe row every tab shares: "Save image + recipe" (a PNG carrying its recipe and the same
recipe as JSON) and "Load recipe" (a saved PNG or JSON). Each tab supplies two functions: one that
builds the Recipe and picture from its controls, one that turns a checked Recipe into updates of
its controls and re-rendered outputs. A bad recipe raises gr.Error before anything changes."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import numpy as np

from .. import images
from ..edit import recipe as rc
from ..weights import ModelEntry
from .services import Services


def new_recipe(services: Services, entry: ModelEntry, tab: str, seeds: list[int], **fields) -> rc.Recipe:
    """A Recipe for an image of `entry`, with the sha256 of its weights (cached per file version)."""
    return rc.Recipe(tab=tab, model=entry.name, sha256=rc.weights_sha256(entry.path), seeds=list(seeds), **fields)


def export(services: Services, recipe: rc.Recipe, picture: np.ndarray) -> list[str]:
    """Write NAME.png (the picture with the recipe in its text chunk) and NAME.json; both paths."""
    stem = f"{recipe.tab}-{recipe.model}-seed{recipe.seeds[0]}"
    png = images.save_png(services.export_path(f"{stem}.png"), picture, recipe.to_dict())
    js = services.export_path(f"{stem}.recipe.json")
    js.write_text(recipe.to_json())
    return [str(png), str(js)]


def load(services: Services, file, tab: str) -> tuple[rc.Recipe, ModelEntry]:
    """The uploaded recipe, checked against the installed models; gr.Error with the reason otherwise."""
    path = file if isinstance(file, str) else getattr(file, "name", None)
    if not path:
        raise gr.Error("Pick a recipe: a .png saved by GAN Explorer or its .recipe.json.")
    try:
        r = rc.read(path)
        entry = services.find_model(r.model)
        rc.check_model(r, entry.path if entry else None, tab)
    except (rc.RecipeError, OSError) as e:
        raise gr.Error(str(e)) from None
    return r, entry


def squeeze(picture: np.ndarray) -> np.ndarray:
    return picture[:, :, 0] if picture.ndim == 3 and picture.shape[2] == 1 else picture


def recipe_row(prefix: str) -> dict:
    """The row's components (inside the caller's layout)."""
    with gr.Row():
        save = gr.Button("Save image + recipe", size="sm", min_width=160, elem_id=f"{prefix}-recipe-save")
        upload = gr.UploadButton("Load recipe", file_types=[".png", ".json"], size="sm", min_width=140,
                                 elem_id=f"{prefix}-recipe-load")
    files = gr.File(label="Image (PNG with its recipe) and recipe (JSON)", file_count="multiple",
                    interactive=False, height=90, elem_id=f"{prefix}-recipe-files")
    message = gr.Markdown(elem_id=f"{prefix}-recipe-message")
    return {"save": save, "upload": upload, "files": files, "message": message}


def wire(row: dict, services: Services, tab: str, build: Callable, inputs: list,
         restore: Callable, outputs: list, api: str) -> None:
    """build(*inputs) -> (Recipe, picture); restore(Recipe, ModelEntry) -> updates for `outputs`."""

    def _save(*args):
        recipe, picture = build(*args)
        return export(services, recipe, picture), (f"Saved: the PNG carries its recipe; **Load recipe** with either "
                                                   "file restores this image.")

    def _load(file):
        r, entry = load(services, file, tab)
        return (*restore(r, entry), f"Loaded the recipe for **{r.model}** (seeds {', '.join(map(str, r.seeds))}).")

    row["save"].click(_save, inputs, [row["files"], row["message"]], api_name=f"{api}_recipe_save",
                      concurrency_limit=2)
    row["upload"].upload(_load, [row["upload"]], [*outputs, row["message"]], api_name=f"{api}_recipe_load",
                         concurrency_limit=2)
    row["save_fn"], row["load_fn"] = _save, _load
