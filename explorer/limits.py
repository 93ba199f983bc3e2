"""What one request may cost: every cap on the size of a request, in one place.

The controls never ask for more than these, but any client of the API can send any value, so the
services refuse a larger request before doing any work, with a message that names the limit and
what was asked ("at most 64 at once; you asked for 100000000"). Raise a cap here and the sliders
and checks that use it follow; each control's range (a Range, below) is likewise read by its slider
and by its check."""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Range:
    """A control's span: its slider's (or number box's) minimum, maximum and step, and what the
    handler's check accepts from any client."""

    lo: float
    hi: float
    step: float = 1


# Control ranges, each read by its slider and by the check of what a client sends.
PSI = Range(0.0, 1.5, 0.05)           # truncation ψ (Generate, Edit, Interpolate): 1 = none, 0 = the average image
STYLE_PSI = Range(-1.0, 1.5, 0.05)    # the StyleGAN tab's ψ: below 0, past the average to each seed's opposite
MIX = Range(0.0, 1.0, 0.01)           # a StyleGAN mix weight: 0 = seed A's style input, 1 = seed B's
TRANSLATE = Range(-1.0, 1.0, 0.01)    # StyleGAN3's input translation, in image widths (x right, y down)
ROTATE = Range(-180.0, 180.0, 1.0)    # StyleGAN3's input rotation, degrees counter-clockwise
STYLE_INPUTS = 18                     # StyleGAN tab: mix sliders, as many as a 1024 px model's style inputs
NOISE_LAYERS = 18                     # StyleGAN tab: noise sliders, as many as a 1024 px StyleGAN's layers
CUTOFF = Range(0, STYLE_INPUTS)       # truncation cutoff: the first N style inputs are truncated
NOISE_STRENGTH = Range(0.0, 2.0, 0.05)      # per-layer noise, times its learned scale (as render.style checks)
DIRECTION_STRENGTH = Range(-5.0, 5.0, 0.1)  # a direction's strength, in standard deviations of the latents
VARIATION_RENDERS = Range(2, VARIATIONS)    # StyleGAN stochastic variation: renders at once
FOUND = Range(1, DIRECTIONS_FOUND)    # Edit tab: directions one SeFa or PCA search returns
ALPHA = Range(0.0, 1.0, 0.01)         # ProGAN fade-in: 0 = the previous stage upsampled, 1 = the new layers
T = Range(0.0, 1.0, 0.01)             # ProGAN interpolation: 0 = seed A, 1 = seed B
PATH_FRAMES = Range(2, FRAMES)        # Interpolate tab: frames of one path
FPS = Range(1, 60)                    # Interpolate tab: frames per second of an export
METRIC_N = Range(2, METRIC_SAMPLES)   # Metrics tab: samples of one measurement
INSPECT_UNITS = Range(1, 32)          # Inspect tab: units one part edit switches (the part's best)
INSPECT_STRENGTH = Range(0.0, 1.0, 0.01)  # Inspect tab: a part edit's strength, 0 = none, 1 = the whole edit
INSPECT_REGION = Range(0.05, 1.0, 0.05)   # Inspect tab: the edit region's side, as a fraction of the picture
DISSECT_SAMPLES = Range(16, 1000)     # Inspect tab: samples of one dissection (the paper's ~1,000 would take a minute)
