"""The image-recipe row every explorer tab shares: "Save image + recipe" (a PNG carrying its
ImageRecipe, explorer/edit/image_recipe.py, and the same recipe as JSON) and "Load recipe" (a saved
PNG or JSON). Each tab supplies two functions of its own: one that builds the ImageRecipe and the
picture from its controls, one that turns a checked ImageRecipe into updates of its controls and
re-rendered outputs. A bad recipe raises gr.Error before anything changes. (Training recipes are
another thing: explorer/train/recipes.py.)"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import numpy as np

from .. import images, limits
from ..edit import image_recipe as rc
from ..models import ARCHITECTURES
from ..project import store
from ..weights import ModelEntry
from .common import offers_psi, user_errors
from .services import Services


def new_recipe(services: Services, entry: ModelEntry, tab: str, seeds: list, **fields) -> rc.ImageRecipe:
    """An ImageRecipe for an image of `entry`, with the sha256 of its weights (cached per file version) and of
    every projected latent ("@key" among the seeds) it used."""
    latents = {}
    for s in seeds:
        if isinstance(s, str) and s not in latents:
            with user_errors(store.LatentError):
                latents[s] = store.load(entry.path, s).sha256
    return rc.ImageRecipe(tab=tab, model=entry.name, sha256=rc.weights_sha256(entry.path), seeds=list(seeds),
                          latents=latents, **fields)


def check_latents(r: rc.ImageRecipe, path: str) -> None:
    """RecipeError unless every projected image the recipe used lies beside the model (path: its .json), with
    the very latent the recipe was made with."""
    for name, sha in r.latents.items():
        try:
            actual = store.load(path, name).sha256
        except store.LatentError as e:
            raise rc.RecipeError(f"The recipe uses the projected image {name}: {e}") from None
        if actual != sha:
            raise rc.RecipeError(f"The projected image {name} here is another latent (sha256 {actual[:12]}…) than "
                                 f"the recipe's ({sha[:12]}…): it was projected again since. Project the original "
                                 "picture under another name to keep both.")


def export(services: Services, recipe: rc.ImageRecipe, picture: np.ndarray) -> list[str]:
    """Write NAME.png (the picture with the recipe in its text chunk) and NAME.json; both paths."""
    first = recipe.seeds[0]
    stem = f"{recipe.tab}-{recipe.model}-" + (first[1:] if isinstance(first, str) else f"seed{first}")
    png = images.save_png(services.export_path(f"{stem}.png"), picture, recipe.to_dict())
    js = services.export_path(f"{stem}.recipe.json")
    js.write_text(recipe.to_json())
    return [str(png), str(js)]


def load(services: Services, file, tab: str) -> tuple[rc.ImageRecipe, ModelEntry]:
    """The uploaded recipe, checked against the installed models; gr.Error with the reason otherwise."""
    path = file if isinstance(file, str) else getattr(file, "name", None)
    if not path:
        raise gr.Error("Pick a recipe: a .png saved by GAN Explorer or its .recipe.json.")
    with user_errors(rc.RecipeError, OSError):
        r = rc.read(path)
        entry = services.find_model(r.model)
        rc.check_model(r, entry.path if entry else None, tab)
        check_latents(r, entry.path)
    return r, entry


def check_psi(r: rc.ImageRecipe, span: limits.Range) -> None:
    """A recipe's ψ must fit the tab's ψ slider."""
    if not span.lo <= r.truncation_psi <= span.hi:
        raise gr.Error(f"The recipe's truncation ψ {r.truncation_psi:g} is outside this tab's {span.lo:g}..{span.hi:g}.")


def psi_note(r: rc.ImageRecipe, entry: ModelEntry) -> str:
    """What loading an older recipe changes: a ψ for a model that offers none is not applied."""
    if offers_psi(entry) or r.truncation_psi == 1.0:
        return ""
    return (f" Its truncation ψ {r.truncation_psi:g} is not applied: {ARCHITECTURES[entry.arch].title} normalises z, "
            "so ψ never changed its images (except at 0, where every seed was drawn alike); this tab no longer "
            "offers it.")


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
    """build(*inputs) -> (ImageRecipe, picture); restore(ImageRecipe, ModelEntry) -> updates for `outputs`.
    The row gets save_fn and load_fn, the two handlers, for direct calls."""

    def _save(*args):
        recipe, picture = build(*args)
        return export(services, recipe, picture), ("Saved: the PNG carries its recipe; **Load recipe** with either "
                                                   "file restores this image.")

    def _load(file):
        r, entry = load(services, file, tab)
        return (*restore(r, entry), f"Loaded the recipe for **{r.model}** (seeds {', '.join(map(str, r.seeds))})."
                + psi_note(r, entry))

    row["save"].click(_save, inputs, [row["files"], row["message"]], api_name=f"{api}_recipe_save",
                      concurrency_limit=2)
    row["upload"].upload(_load, [row["upload"]], [*outputs, row["message"]], api_name=f"{api}_recipe_load",
                         concurrency_limit=2)
    row["save_fn"], row["load_fn"] = _save, _load
