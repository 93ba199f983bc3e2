"""The recipe row every tab shares: "Save image + recipe" (a PNG carrying its recipe and the same
recipe as JSON) and "Load recipe" (a saved PNG or JSON). Each tab supplies two functions: one that
builds the ImageRecipe and picture from its controls, one that turns a checked ImageRecipe into updates of
its controls and re-rendered outputs. A bad recipe raises gr.Error before anything changes."""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import numpy as np

from .. import images
from ..edit import image_recipe as rc
from ..models import ARCHITECTURES
from ..weights import ModelEntry
from . import inputs as parse
from .services import Services


def new_recipe(services: Services, entry: ModelEntry, tab: str, seeds: list[int], **fields) -> rc.ImageRecipe:
    """A ImageRecipe for an image of `entry`, with the sha256 of its weights (cached per file version)."""
    return rc.ImageRecipe(tab=tab, model=entry.name, sha256=rc.weights_sha256(entry.path), seeds=list(seeds), **fields)


def export(services: Services, recipe: rc.ImageRecipe, picture: np.ndarray) -> list[str]:
    """Write NAME.png (the picture with the recipe in its text chunk) and NAME.json; both paths."""
    stem = f"{recipe.tab}-{recipe.model}-seed{recipe.seeds[0]}"
    png = images.save_png(services.export_path(f"{stem}.png"), picture, recipe.to_dict())
    js = services.export_path(f"{stem}.recipe.json")
    js.write_text(recipe.to_json())
    return [str(png), str(js)]


def load(services: Services, file, tab: str) -> tuple[rc.ImageRecipe, ModelEntry]:
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


def offers_psi(entry: ModelEntry | None) -> bool:
    """Whether truncation ψ means anything for the model (its family's capabilities.truncation): ProGAN and
    FastGAN normalise z, which undoes it, so no tab shows them a ψ control and their recipes store 1."""
    return entry is None or ARCHITECTURES[entry.arch].capabilities.truncation


def psi_control(services: Services, model_name) -> dict:
    """Handler: a tab's ψ slider, shown only for models whose family truncates."""
    entry = services.find_model(model_name) if isinstance(model_name, str) and model_name else None
    return gr.update(visible=offers_psi(entry))


def psi_note(r: rc.ImageRecipe, entry: ModelEntry) -> str:
    """What loading an older recipe changes: a ψ for a model that offers none is not applied."""
    if offers_psi(entry) or r.truncation_psi == 1.0:
        return ""
    return (f" Its truncation ψ {r.truncation_psi:g} is not applied: {ARCHITECTURES[entry.arch].title} normalises z, "
            "so ψ never changed its images (except at 0, where every seed was drawn alike); this tab no longer "
            "offers it.")


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
    """build(*inputs) -> (ImageRecipe, picture); restore(ImageRecipe, ModelEntry) -> updates for `outputs`."""

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


# --- the family tabs' recipes (their handlers are imported when called: the tabs import this module) ---


def _check_psi(r, lo: float, hi: float) -> None:
    if not lo <= r.truncation_psi <= hi:
        raise gr.Error(f"The recipe's truncation ψ {r.truncation_psi:g} is outside this tab's {lo:g}..{hi:g}.")


def wire_generate(row: dict, services: Services, inputs: list, outputs: list) -> None:
    """inputs [model, seeds, psi]; outputs [grid, info]."""
    from ..edit.latents import parse_seeds
    from . import generate_tab as tab

    def build(model, seeds, psi):
        picture, _ = tab.generate(services, model, seeds, psi)
        entry = services.find_model(model)
        return new_recipe(services, entry, "generate", parse_seeds(seeds, tab.MAX_SEEDS),
                          truncation_psi=float(psi) if offers_psi(entry) else 1.0), picture

    def restore(r, entry):
        _check_psi(r, 0.0, 1.5)
        seeds = ", ".join(map(str, r.seeds))
        psi = r.truncation_psi if offers_psi(entry) else 1.0
        return (entry.name, seeds, gr.update(value=psi, visible=offers_psi(entry)),
                *tab.generate(services, entry.name, seeds, psi))

    wire(row, services, "generate", build, inputs, restore, [*inputs, *outputs], "generate")


def wire_progan(row: dict, services: Services, inputs: list, outputs: list) -> None:
    """inputs [model, seeds, stage, alpha, seed_a, seed_b, t, mode]; outputs [image, info, interp, interp_info]."""
    from ..edit.interp import MODES
    from ..edit.latents import MAX_SEED, parse_seeds
    from . import progan_tab as tab

    def build(model, seeds, stage, alpha, a, b, t, mode):
        picture, _ = tab.render(services, model, seeds, stage, alpha)
        extra = {"seed_a": parse.whole(a, "Seed A", 0, MAX_SEED), "seed_b": parse.whole(b, "Seed B", 0, MAX_SEED),
                 "t": parse.number(t, "t", 0.0, 1.0), "mode": parse.choice(mode, "Mode", MODES)}
        return new_recipe(services, services.find_model(model), "progan", parse_seeds(seeds, tab.MAX_SEEDS),
                          stage=int(stage), alpha=float(alpha), extra=extra), picture

    def restore(r, entry):
        if r.stage is None or r.alpha is None:
            raise gr.Error("This ProGAN recipe has no stage and alpha.")
        x = r.extra
        if x.get("mode") not in ("linear", "spherical") or not isinstance(x.get("t"), (int, float)) \
                or not 0 <= x["t"] <= 1:
            raise gr.Error("The recipe's interpolation (extra: t from 0 to 1, mode linear or spherical) is invalid.")
        stage_upd, _ = tab.select_model(services, entry.name)
        seeds = ", ".join(map(str, r.seeds))
        shown = tab.render(services, entry.name, seeds, r.stage, r.alpha)
        a, b = x.get("seed_a", 0), x.get("seed_b", 1)
        interp = tab.interpolate(services, entry.name, a, b, x["t"], x["mode"])
        stage_upd["value"] = r.stage
        return (entry.name, seeds, stage_upd, r.alpha, a, b, x["t"], x["mode"], *shown, *interp)

    wire(row, services, "progan", build, inputs, restore, [*inputs, *outputs], "progan")


def wire_stylegan(row: dict, services: Services, inputs: list, layout: list, shown: list,
                  record: Callable = lambda fn: fn) -> None:
    """inputs: the StyleGAN tab's controls; layout: its per-model slider updates; shown: [A, mix, B, info]
    and what records them (record(restore) answers for the whole of `shown`)."""
    from . import stylegan_tab as tab

    def build(*args):
        c = tab.Controls.from_args(args)
        entry, _, req = tab._request(services, c)
        picture = tab.render(services, c)[1]
        return new_recipe(services, entry, "stylegan", [req.seed_a, req.seed_b], truncation_psi=req.truncation_psi,
                          truncation_cutoff=req.truncation_cutoff, mix=list(req.mix), noise_mode=req.noise_mode,
                          noise_seed=req.noise_seed, noise_strength=list(req.noise_strength)), picture

    def restore(r, entry):
        _check_psi(r, -1.0, 1.5)
        sm = tab._describe(services, entry)
        if len(r.seeds) != 2:
            raise gr.Error("A StyleGAN recipe has two seeds: A and B.")
        mix = r.mix if r.mix is not None else [0.0] * sm.num_ws
        strengths = r.noise_strength if r.noise_strength is not None else [1.0] * sm.num_layers
        if len(mix) != sm.num_ws or len(strengths) != sm.num_layers:
            raise gr.Error(f"The recipe's mix weights or noise strengths do not fit this model's {sm.num_ws} style "
                           f"inputs and {sm.num_layers} layers.")
        cutoff = sm.num_ws if r.truncation_cutoff is None else r.truncation_cutoff
        if cutoff > sm.num_ws:
            raise gr.Error(f"The recipe's truncation cutoff {cutoff} is beyond this model's {sm.num_ws} style inputs.")
        ups = tab.select_model(services, entry.name)
        for i, v in enumerate(mix + [0.0] * (tab.MAX_WS - sm.num_ws)):
            ups[i]["value"] = v
        for i, v in enumerate(strengths + [1.0] * (tab.MAX_LAYERS - sm.num_layers)):
            ups[tab.MAX_WS + i]["value"] = v
        ups[tab.MAX_WS + tab.MAX_LAYERS]["value"] = cutoff
        c = tab.Controls(entry.name, r.seeds[0], r.seeds[1], mix, r.truncation_psi, cutoff, r.noise_mode,
                         r.noise_seed, strengths)
        a, b = r.seeds
        return (entry.name, a, b, r.truncation_psi, r.noise_mode, r.noise_seed, *ups, *tab.render(services, c))

    model, seed_a, seed_b = inputs[:3]
    psi, _, noise_mode, noise_seed = inputs[3 + tab.MAX_WS:7 + tab.MAX_WS]
    wire(row, services, "stylegan", build, inputs, record(restore),
         [model, seed_a, seed_b, psi, noise_mode, noise_seed, *layout, *shown], "style")
