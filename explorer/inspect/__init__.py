"""A look inside a generator: its layers' feature maps, their spectra, and units switched off or on.

layers.py  the model's own layers (G.feature_layers(), models/contract.py), captured while it draws, and
           unit edits (ablate: zero or mean; insert: a forced value) inside a region of the picture
views.py   pictures of one layer: every channel, one channel, mean |activation|, the first three principal
           components as RGB, and the 2-D amplitude spectrum in dB with its frequency axes"""

from .layers import Capture, Layer, UnitEdit, capture, list_layers
from .views import channel_grid, mean_abs, one_channel, pca_rgb, spectrum_db, spectrum_picture

__all__ = ["Capture", "Layer", "UnitEdit", "capture", "channel_grid", "list_layers", "mean_abs", "one_channel",
           "pca_rgb", "spectrum_db", "spectrum_picture"]
