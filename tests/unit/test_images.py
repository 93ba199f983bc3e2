"""Tensor -> picture helpers."""

import numpy as np
import pytest
import torch

from explorer import images


def test_to_uint8_maps_the_range_ends():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(1, 1, 2, 2)
    assert images.to_uint8(x)[0, :, :, 0].tolist() == [[0, 128], [255, 255]]


def test_grid_layout_and_padding():
    tiles = np.stack([np.full((4, 4, 1), 10 * (i + 1), np.uint8) for i in range(5)])
    grid = images.make_grid(tiles, pad=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 1)  # 5 tiles -> 3 columns, 2 rows
    assert grid[1, 1, 0] == 10 and grid[1, 6, 0] == 20 and grid[6, 1, 0] == 40
    assert grid[0].max() == 0 and grid[6, 11, 0] == 0  # padding and the empty 6th cell
    with pytest.raises(ValueError):
        images.make_grid(tiles[:0])


def test_png_carries_its_recipe(tmp_path):
    pic = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    recipe = {"model": "dcgan-mnist", "seeds": [1, 2], "truncation_psi": 0.7}
    path = images.save_png(tmp_path / "a.png", pic, recipe)
    assert images.read_recipe(path) == recipe
    assert images.read_recipe(images.encode_png(pic)) is None
    assert not list(tmp_path.glob(".*tmp"))
