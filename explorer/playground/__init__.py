"""A 2-D GAN playground: watch G and D train on points in the plane, and watch them fail.

The engine only (no UI). A tab drives it like this:

    from explorer.playground import PRESETS, Playground, draw, recipe
    pg = Playground(PRESETS["mode-collapse"].config, seed=PRESETS["mode-collapse"].seed)
    pg.step(20)                   # background thread: 20 iterations (d_steps D steps + 1 G step each)
    snap = pg.snapshot()          # UI thread: numpy views, safe between steps
    image = draw(snap, 480)       # PIL RGB, 480 x (480 + legend)
    png = recipe.encode_png(pg)   # the view with its recipe; recipe.load(png) replays to this state

Modules: config (dataclasses), data (distributions, drawn/CSV points, mode coverage), models
(MLP G and D), losses (registry over explorer.train.losses), train (Playground, Snapshot,
History, the divergence), draw (rendering), presets (the failure demos), recipe (JSON / PNG).
"""

from . import recipe
from .config import DataConfig, ModelConfig, PlaygroundConfig, TrainConfig, ViewConfig
from .data import DISTRIBUTIONS, EXTENT, check_points, mode_coverage, parse_csv, sample
from .draw import draw, image_size, pixel_to_plane, plane_to_pixel
from .losses import LOSSES
from .presets import PRESETS, Preset
from .train import History, Playground, Snapshot

__all__ = ["DISTRIBUTIONS", "EXTENT", "LOSSES", "PRESETS", "DataConfig", "History", "ModelConfig", "Playground",
           "PlaygroundConfig", "Preset", "Snapshot", "TrainConfig", "ViewConfig", "check_points", "draw",
           "image_size", "mode_coverage", "parse_csv", "pixel_to_plane", "plane_to_pixel", "recipe", "sample"]
