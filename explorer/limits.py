"""What one request may cost: every cap on the size of a request, in one place.

The controls never ask for more than these, but any client of the API can send any value, so the
services refuse a larger request before doing any work, with a message that names the limit and
what was asked ("at most 64 at once; you asked for 100000000"). Raise a cap here and the sliders
and checks that use it follow."""

from __future__ import annotations

GRID_IMAGES = 64          # Generate tab: images in one grid (64 tiny 16 px to 1024 px ones)
PROGAN_IMAGES = 16        # ProGAN tab: images in one view (a 4x4 grid in one picture)
MATRIX_SEEDS = 8          # StyleGAN style-mixing matrix: A seeds (rows) and B seeds (columns), each
VARIATIONS = 16           # StyleGAN stochastic variation: noise realisations rendered at once
KEYFRAMES = 16            # Interpolate tab: keyframe seeds of one path
FRAMES = 600              # Interpolate tab: frames of one path, previewed or exported (25 s at 24 fps)
EXPORT_PIXELS = 600 * 256 * 256  # Interpolate tab: frames x pixels of one GIF/MP4, ~120 MB held as RGB;
#                                  all 600 frames up to 256 px, fewer for larger models (37 at 1024 px)
MEANS_SEEDS = 64          # Edit tab: seeds in each group of a difference-of-means direction
DIRECTIONS_FOUND = 32     # Edit tab: directions one SeFa or PCA search returns
METRIC_SAMPLES = 20000    # Metrics tab: generated (and real) images of one measurement
SEEDS_TEXT_CHARS = 2000   # a seeds box: 64 seeds written out one by one take ~700 characters
NAME_CHARS = 200          # a model, run or direction name as sent (real ones are at most ~100)
TRAIN_KIMG = 100_000      # Train tab: length of one job (NVIDIA's longest FFHQ runs are 25,000 kimg)
TRAIN_BATCH = 1024        # Train tab: global batch of one job
TEXT_CHARS = 500          # any other typed text: a training option, architecture options, a server path
