"""Presets that reproduce the classic failures (and two fixes), each with one sentence on what to watch.

Each preset is a config, a seed and a step budget (iterations) in which its effect shows; on a
2-core machine with one torch thread every budget trains in well under 20 s (WGAN-GP, the
slowest, about 8 s). tests/unit/test_playground.py asserts every sentence. Measured at the budget,
seeds 0 / 1 / 2 (PyTorch 2.13 CPU, one thread):

- mode-collapse:   modes covered 1 / 1 / 1 of 8 (fakes' RMS spread 0.10 / 0.15 / 0.06), while the
                   same networks and Adam under wgan-gp cover 7 / 8 / 7 (spread about 0.97).
- d-wins:          G's gradient norm 2e-5 / 2e-5 / 7e-6 (mean of the last 50 G steps), D(real) 1.0,
                   D(fake) 0.0; 20 steps after switching to the non-saturating G loss, 8.6 / 6.7 / 9.5.
- label-smoothing: D(real) 0.70 / 0.72 / 0.70, D(fake) 0.10 / 0.09 / 0.10, G's gradient norm
                   0.44 / 0.56 / 0.82, high-quality share 0.98 / 0.99 / 0.95 (on one mode).
- lr-imbalance:    modes covered 1 / 0 / 0, D's heat map spans 0.03-0.04, spread 0.06-0.08; equal
                   rates (the default config) cover 8 / 8 / 6 with a heat map spanning 0.62-0.75.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import DataConfig, ModelConfig, PlaygroundConfig, TrainConfig


@dataclass(frozen=True)
class Preset:
    config: PlaygroundConfig   # what to build the Playground from
    seed: int                  # the seed the effect was measured with
    steps: int                 # iterations (d_steps D steps + 1 G step each) in which the effect shows
    watch: str                 # one sentence for the UI: what to look at, and why it happens


RING = DataConfig(name="ring", n_samples=512)
SMALL_D = ModelConfig(d_width=32, d_depth=2)          # a D too small to carve out the clump of fakes
ADAM_WGAN = dict(beta1=0.5, beta2=0.9)                # the WGAN-GP paper's Adam betas, used on both sides
STRONG_D = dict(g_loss="minimax", d_steps=5, lr_d=5e-3, lr_g=2e-4)  # D: 5 steps per G step at 25x G's rate

PRESETS: dict[str, Preset] = {
    "mode-collapse": Preset(
        PlaygroundConfig(data=RING, model=SMALL_D, train=TrainConfig(loss="bce", **ADAM_WGAN)),
        seed=0, steps=600,
        watch="The fakes gather into one clump that hops from mode to mode: D learns to reject wherever the "
              "clump sits and G moves all of it at once, so at any moment it covers one or two of the eight modes."),
    "wgan-gp": Preset(
        PlaygroundConfig(data=RING, model=SMALL_D,
                         train=TrainConfig(loss="wgan-gp", d_steps=5, gp_lambda=0.1, **ADAM_WGAN)),
        seed=0, steps=600,
        watch="The same ring, networks and Adam as mode-collapse, trained as WGAN-GP (5 critic steps per G step, "
              "lambda 0.1 as in the paper's 2-D experiments): the critic's slope, not a probability, pulls every "
              "fake towards its nearest reals, so the fakes spread over most of the modes."),
    "d-wins": Preset(
        PlaygroundConfig(data=RING, train=TrainConfig(loss="bce", **STRONG_D)),
        seed=0, steps=300,
        watch="D takes 5 steps per G step at 25 times G's learning rate and soon rejects every fake with certainty; "
              "with the original minimax G loss log(1 - D(G(z))) the gradient each fake receives (the arrows, the "
              "G-gradient chart) falls to near zero and the fakes freeze: switch g_loss to non-saturating to revive them."),
    "label-smoothing": Preset(
        PlaygroundConfig(data=RING, train=TrainConfig(loss="bce", label_smoothing=0.2, **STRONG_D)),
        seed=0, steps=300,
        watch="The over-strong D of d-wins with one-sided label smoothing (real target 0.8): D's score on the reals "
              "levels off near 0.7 instead of 1, it stays unsure about the fakes too, and the gradient to G survives, "
              "so the fakes leave the centre for the ring."),
    "lr-imbalance": Preset(
        PlaygroundConfig(data=RING, train=TrainConfig(loss="bce", lr_g=1e-3, lr_d=1e-4)),
        seed=0, steps=1000,
        watch="D learns 10 times slower than G: its heat map stays pale, so G piles every fake onto whatever spot D "
              "likes best this moment and the clump drifts round the ring, where equal rates (the default config) "
              "cover most of the modes in the same time."),
}
