"""Playground recipes: config + seed + the run-length encoded actions, as JSON or inside a PNG.

A recipe is what ``Playground.recipe()`` returns:

    {"format": 1, "kind": "playground", "seed": 0, "config": {...PlaygroundConfig...},
     "actions": [["step", 500], ["d", 3], ["set", {"lr_d": 0.0001}], ["g", 1], ...],
     "d_steps": 1503, "g_steps": 501, "torch": "2.x"}

``replay`` rebuilds the Playground from config and seed and performs the actions again, which
lands on the identical state, bit for bit (same PyTorch build and thread count), so it also
continues the same way. Replaying costs what the training cost (see bench/playground_speed.py).
The PNG carries the recipe in its text chunk (explorer.images' RECIPE_KEY), so a saved view
reopens as the run that made it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .. import images
from .config import PlaygroundConfig
from .draw import draw
from .train import ACTIONS, Playground

FORMAT = 1
KIND = "playground"


def to_json(pg: Playground) -> str:
    """The Playground's recipe as JSON text."""
    return json.dumps(pg.recipe(), indent=1, sort_keys=True)


def from_json(text: str | bytes) -> dict:
    """A validated recipe dict from JSON text (replay it with `replay`)."""
    try:
        recipe = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"The recipe is not valid JSON ({err}); load a file saved by the playground.") from None
    return check_recipe(recipe)


def check_recipe(recipe) -> dict:
    """Raise ValueError with a sentence unless `recipe` is a well-formed playground recipe; return it."""
    if not isinstance(recipe, dict):
        raise ValueError("A playground recipe is a JSON object; load a file saved by the playground.")
    if recipe.get("kind") != KIND:
        raise ValueError(f"This recipe is of kind {recipe.get('kind')!r}, not a 2-D playground's; open it where it was made.")
    if recipe.get("format") != FORMAT:
        raise ValueError(f"Recipe format {recipe.get('format')!r} is not {FORMAT}; it was saved by another version.")
    seed = recipe.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"The recipe's seed must be a whole number, got {seed!r}.")
    PlaygroundConfig.from_dict(recipe.get("config"))
    actions = recipe.get("actions")
    if not isinstance(actions, list):
        raise ValueError("The recipe's actions must be a list of [name, count] or ['set', {...}].")
    for i, a in enumerate(actions):
        ok = isinstance(a, list) and len(a) == 2 and a[0] in ACTIONS
        if ok and a[0] == "set":
            ok = isinstance(a[1], dict)
        elif ok:
            ok = isinstance(a[1], int) and not isinstance(a[1], bool) and a[1] >= 1
        if not ok:
            raise ValueError(f"Recipe action {i + 1} ({a!r}) is not [name, count] with name in {ACTIONS[:3]} "
                             "or ['set', {...}]; the file was edited or damaged.")
    return recipe


def replay(recipe: dict, progress: Callable[[int, int], None] | None = None) -> Playground:
    """A Playground in the exact state the recipe records. progress(done, total) is called after
    each action with iterations done / in all (a D or G step counts as one)."""
    check_recipe(recipe)
    pg = Playground(PlaygroundConfig.from_dict(recipe["config"]), seed=recipe["seed"])
    total = sum(n for name, n in recipe["actions"] if name != "set")
    done = 0
    for name, arg in recipe["actions"]:
        if name == "set":
            pg.configure(**arg)
            continue
        if name == "step":
            pg.step(arg)
        else:
            fn = pg.step_d if name == "d" else pg.step_g
            for _ in range(arg):
                fn()
        done += arg
        if progress is not None:
            progress(done, total)
    for key, have in (("d_steps", pg.d_steps), ("g_steps", pg.g_steps)):
        want = recipe.get(key, have)
        if want != have:
            raise ValueError(f"The recipe says {want} {key.replace('_', ' ')} but its actions make {have}; "
                             "the file was edited or damaged.")
    return pg


def encode_png(pg: Playground, size: int = 480) -> bytes:
    """PNG bytes of the current view with the recipe in its text chunk."""
    return images.encode_png(np.asarray(draw(pg.snapshot(), size)), pg.recipe())


def save_png(path: str | os.PathLike, pg: Playground, size: int = 480) -> Path:
    """Write the current view with its recipe to `path` atomically."""
    return images.save_png(path, np.asarray(draw(pg.snapshot(), size)), pg.recipe())


def read_png(src: bytes | str | os.PathLike) -> dict:
    """The playground recipe inside a PNG saved by save_png / encode_png."""
    try:
        recipe = images.read_recipe(src)
    except (OSError, SyntaxError, ValueError) as err:
        raise ValueError(f"Could not read a PNG from it ({err}); choose a PNG saved by the playground.") from None
    if recipe is None:
        raise ValueError("This PNG carries no recipe; choose a PNG saved by the playground.")
    return check_recipe(recipe)


def load(src: bytes | str | os.PathLike, progress: Callable[[int, int], None] | None = None) -> Playground:
    """Replay a recipe from a .json or .png file path, or from the bytes of either."""
    data = src if isinstance(src, (bytes, bytearray)) else Path(src).read_bytes()
    recipe = read_png(bytes(data)) if data[:8] == b"\x89PNG\r\n\x1a\n" else from_json(data)
    return replay(recipe, progress)
