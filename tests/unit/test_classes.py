"""Class-conditional mapping (c_dim > 0) for StyleGAN2 and StyleGAN3, and the class parsing the tabs share."""

from __future__ import annotations

import pytest
import torch

from explorer.models import build_generator, stylegan, stylegan3
from explorer.models.classes import class_names, describe, map_z, one_hot, parse_label

FAMILIES = [("stylegan", stylegan.TINY), ("stylegan3", stylegan3.TINY)]


@pytest.mark.parametrize("arch,tiny", FAMILIES)
def test_an_unconditional_model_is_unchanged_by_the_option(arch, tiny):
    torch.manual_seed(0)
    a = build_generator(arch, dict(tiny))
    torch.manual_seed(0)
    b = build_generator(arch, {**tiny, "c_dim": 0})
    assert a.state_dict().keys() == b.state_dict().keys() and "mapping_net.embed.weight" not in a.state_dict()
    z = torch.randn(2, tiny["z_dim"])
    assert torch.equal(a.mapping(z), map_z(b, z))
    with pytest.raises(ValueError, match="not conditional"):
        map_z(a, z, 1)


@pytest.mark.parametrize("arch,tiny", FAMILIES)
def test_the_class_steers_w_and_indices_match_one_hot(arch, tiny):
    torch.manual_seed(0)
    G = build_generator(arch, {**tiny, "c_dim": 3}).eval()
    assert G.state_dict()["mapping_net.embed.weight"].shape == (tiny["w_dim"], 3)
    assert G.mapping_net.fcs[0].weight.shape[1] == tiny["z_dim"] + tiny["w_dim"]
    z = torch.randn(1, tiny["z_dim"]).repeat(3, 1)
    ws = G.mapping(z, torch.arange(3))
    assert (ws[0] - ws[1]).abs().max() > 1e-3 and (ws[1] - ws[2]).abs().max() > 1e-3  # same z, other class
    assert torch.equal(ws, G.mapping(z, torch.eye(3)))
    assert torch.equal(ws, G.mapping(z))                         # None: the classes in turn
    torch.testing.assert_close(map_z(G, z[:1], 2), ws[2:])      # one row: the same up to float rounding
    assert G.synthesis(ws).shape == (3, 3, 16, 16)


def test_bad_classes_are_sentences():
    G = build_generator("stylegan", {**stylegan.TINY, "c_dim": 3, "class_names": ["cat", "dog", "fox"]})
    assert parse_label(G, "dog") == 1 and parse_label(G, 2) == 2 and parse_label(G, "2") == 2 and parse_label(G, None) == 0
    assert class_names(G) == ["cat", "dog", "fox"] and describe(G, 2) == "class 2 (fox)"
    for bad, said in ((3, "out of range"), (-1, "out of range"), (1.5, "whole number"), (float("nan"), "whole"),
                      ("emu", "not one of"), (True, "whole number"), ([1], "whole number")):
        with pytest.raises(ValueError, match=said):
            parse_label(G, bad)
    with pytest.raises(ValueError, match="out of range"):
        one_hot(torch.tensor([0, 3]), 3, 2)
    with pytest.raises(ValueError, match="whole indices"):
        one_hot(torch.tensor([0.5, 1.0]), 3, 2)
    with pytest.raises(ValueError, match="one name per class"):
        build_generator("stylegan", {**stylegan.TINY, "c_dim": 3, "class_names": ["cat"]})
    with pytest.raises(ValueError, match="c_dim must be"):
        build_generator("stylegan3", {**stylegan3.TINY, "c_dim": -2})
    assert parse_label(build_generator("stylegan", dict(stylegan.TINY)), None) is None
