"""Seeds text -> seeds -> z."""

import numpy as np
import pytest
import torch

from explorer.edit.latents import latents_for_seeds, parse_seeds, z_from_seed


def test_parse_seeds_ranges_and_lists():
    assert parse_seeds("1-8, 42") == [1, 2, 3, 4, 5, 6, 7, 8, 42]
    assert parse_seeds(" 3 ,3; 0 - 2") == [3, 0, 1, 2]


@pytest.mark.parametrize("text,msg", [("", "Type one or more"), ("abc", "not a seed"), ("8-1", "backwards"),
                                      ("0-100000", "at most"), ("-3", "not a seed"), ("1.5", "not a seed"),
                                      ("4294967296", "too large")])
def test_parse_seeds_errors_say_what_to_type(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_seeds(text)


def test_z_from_seed_is_per_seed_and_matches_numpy_convention():
    z = latents_for_seeds([7, 3, 7], 32)
    assert z.shape == (3, 32) and z.dtype == torch.float32
    assert torch.equal(z[0], z[2]) and not torch.equal(z[0], z[1])
    assert np.allclose(z_from_seed(3, 32).numpy(), np.random.RandomState(3).randn(32), atol=1e-6)


def test_parse_seeds_keeps_repeats_for_paths_and_counts_them():
    assert parse_seeds("0, 5, 0", repeats=True) == [0, 5, 0]
    assert parse_seeds("0, 5, 0") == [0, 5]
    assert parse_seeds("1-3, 2", repeats=True) == [1, 2, 3, 2]
    with pytest.raises(ValueError, match="at most 4 at once; you asked for 5"):
        parse_seeds("0-3, 0", max_count=4, repeats=True)
