"""Model registry: architecture name -> (config class, G, D, capabilities, title, tiny config).

A family's G keeps the generator contract (models/contract.py); tests/unit/test_contract.py checks every
entry here against it, built from the family's TINY config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from torch import nn

from . import dcgan, fastgan, progan, projected, stylegan, stylegan3
from .dcgan import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from .fastgan import FastGANConfig, FastGANGenerator
from .layers import Capabilities
from .progan import ProGANConfig, ProGANDiscriminator, ProGANGenerator
from .projected import ProjectedDiscriminator, ProjectedStyleGANConfig
from .stylegan import StyleGANConfig, StyleGANDiscriminator, StyleGANGenerator
from .stylegan3 import StyleGAN3Config, StyleGAN3Generator


@dataclass(frozen=True)
class Architecture:
    config: type          # dataclass holding every constructor argument (JSON-serialisable)
    G: type               # generator class: G(config)
    D: type               # discriminator class: D(config)
    capabilities: Capabilities
    title: str            # what the UI calls it
    tiny: dict            # a tiny CPU config (the family module's TINY) that builds in milliseconds, for tests


ARCHITECTURES: dict[str, Architecture] = {
    "dcgan": Architecture(DCGANConfig, DCGANGenerator, DCGANDiscriminator,
                          DCGANGenerator.capabilities, "DCGAN", dcgan.TINY),
    "progan": Architecture(ProGANConfig, ProGANGenerator, ProGANDiscriminator,
                           ProGANGenerator.capabilities, "ProGAN", progan.TINY),
    "stylegan": Architecture(StyleGANConfig, StyleGANGenerator, StyleGANDiscriminator,
                             StyleGANGenerator.capabilities, "StyleGAN", stylegan.TINY),
    # Projected GAN (Sauer et al. 2021): FastGAN's or StyleGAN2's generator, the projected discriminator.
    "fastgan": Architecture(FastGANConfig, FastGANGenerator, ProjectedDiscriminator,
                            FastGANGenerator.capabilities, "Projected FastGAN", fastgan.TINY),
    "stylegan-projected": Architecture(ProjectedStyleGANConfig, StyleGANGenerator, ProjectedDiscriminator,
                                       StyleGANGenerator.capabilities, "Projected StyleGAN2",
                                       projected.TINY),
    # StyleGAN3 (Karras et al. 2021), -T and -R by its config; trained, as NVIDIA does, with StyleGAN2's D.
    "stylegan3": Architecture(StyleGAN3Config, StyleGAN3Generator, StyleGANDiscriminator,
                              StyleGAN3Generator.capabilities, "StyleGAN3", stylegan3.TINY),
}


def get_architecture(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"Unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None


def make_config(arch: str, config: dict):
    """Config dataclass from a JSON dict; unknown keys are an error that names them."""
    cls = get_architecture(arch).config
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ValueError(f"{arch} config has unknown fields {unknown}; known: {sorted(names)}")
    return cls(**config)


def build_generator(arch: str, config: dict) -> nn.Module:
    return get_architecture(arch).G(make_config(arch, config))


def build_discriminator(arch: str, config: dict) -> nn.Module:
    return get_architecture(arch).D(make_config(arch, config))
