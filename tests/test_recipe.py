"""explorer.edit.recipe: JSON and PNG round trips, the cached weights hash, and bad recipes
(malformed, unknown model, other weights, out-of-range values) rejected with a sentence."""

import json

import numpy as np
import pytest

from explorer import images
from explorer.edit import recipe as rc
from explorer.edit.recipe import DirectionUse, Recipe, RecipeError


def _recipe(**kw):
    base = dict(tab="edit", model="m", sha256="0" * 64, seeds=[3], truncation_psi=0.7,
                directions=[DirectionUse("smile", [0.6, 0.8], 1.5, 0.3, [0, 4])])
    base.update(kw)
    return Recipe(**base)


def test_json_and_png_round_trip():
    r = _recipe(mix=[0.0, 1.0], noise_strength=[1.0, 0.5], stage=2, alpha=0.25, extra={"t": 0.5})
    assert rc.parse(r.to_json()) == r
    png = images.encode_png(np.zeros((4, 4, 3), np.uint8), r.to_dict())
    assert rc.parse(png) == r


def test_weights_hash_is_cached_and_follows_the_file(tmp_path):
    import hashlib

    p = tmp_path / "m.safetensors"
    p.write_bytes(b"abc")
    assert rc.weights_sha256(tmp_path / "m.json") == hashlib.sha256(b"abc").hexdigest()
    p.write_bytes(b"abcd")  # another size: a new hash
    assert rc.weights_sha256(p) == hashlib.sha256(b"abcd").hexdigest()


@pytest.mark.parametrize("change,message", [
    ({"format": 2}, "format"),
    ({"tab": "nope"}, "tab"),
    ({"seeds": []}, "no seeds"),
    ({"seeds": [-1]}, "out of range"),
    ({"seeds": [1.5]}, "whole number"),
    ({"truncation_psi": 9.0}, "out of range"),
    ({"truncation_psi": "high"}, "must be a number"),
    ({"mix": [0.5, 2.0]}, "out of range"),
    ({"noise_mode": "loud"}, "noise_mode"),
    ({"sha256": "xyz"}, "sha256"),
    ({"bogus": 1}, "does not know"),
    ({"alpha": 1.5}, "out of range"),
])
def test_bad_fields_are_rejected(change, message):
    d = _recipe().to_dict()
    d.update(change)
    with pytest.raises(RecipeError, match=message):
        rc.from_dict(d)


def test_bad_direction_strength_and_malformed_files():
    d = _recipe().to_dict()
    d["directions"][0]["strength"] = 50
    with pytest.raises(RecipeError, match="strength"):
        rc.from_dict(d)
    with pytest.raises(RecipeError, match="neither a PNG nor valid JSON"):
        rc.parse(b"{oops")
    with pytest.raises(RecipeError, match="JSON object"):
        rc.parse(json.dumps([1, 2]))
    with pytest.raises(RecipeError, match="carries no recipe"):
        rc.parse(images.encode_png(np.zeros((4, 4, 3), np.uint8)))


def test_check_model(tmp_path):
    (tmp_path / "m.safetensors").write_bytes(b"weights")
    good = _recipe(sha256=rc.weights_sha256(tmp_path / "m.json"))
    rc.check_model(good, str(tmp_path / "m.json"), "edit")
    with pytest.raises(RecipeError, match="Edit tab; load it there"):
        rc.check_model(good, str(tmp_path / "m.json"), "generate")
    with pytest.raises(RecipeError, match="not installed"):
        rc.check_model(good, None, "edit")
    with pytest.raises(RecipeError, match="different weights"):
        rc.check_model(_recipe(sha256="1" * 64), str(tmp_path / "m.json"), "edit")
