"""The explorer's renderers: a request in, a picture out, errors as RenderError sentences.

grid.py     Renderer: checkpoints loaded and cached, grids of seeds, ProGAN stages (Generate, ProGAN, Train)
style.py    StyleRenderer: per-layer mixing and noise, incremental synthesis (StyleGAN tab)
edit.py     EditRenderer: directions applied, found and walked; interpolation paths (Edit, Interpolate)
display.py  nearest-neighbour enlargement, grids and strips for the page and for files"""

from .display import DISPLAY_PX, LIVE_PX, display_factor, display_grid, enlarge, growth_strip
from .grid import GridRequest, Growth, Renderer, RenderError, synthesis_kwargs

__all__ = ["DISPLAY_PX", "LIVE_PX", "GridRequest", "Growth", "RenderError", "Renderer", "display_factor",
           "display_grid", "enlarge", "growth_strip", "synthesis_kwargs"]
