"""explorer.edit.image_recipe: JSON and PNG round trips, the cached weights hash, and bad recipes
(malformed, unknown model, other weights, out-of-range values) rejected with a sentence."""

import json

import numpy as np
import pytest

from explorer import images
from explorer.edit import image_recipe as rc
from explorer.edit.image_recipe import DirectionUse, ImageRecipe, RecipeError


def _recipe(**kw):
    base = dict(tab="edit", model="m", sha256="0" * 64, seeds=[3], truncation_psi=0.7,
                directions=[DirectionUse("smile", [0.6, 0.8], 1.5, 0.3, [0, 4])])
    base.update(kw)
    return ImageRecipe(**base)


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


# --- the family tabs: save image + recipe, load it back, identical pixels -----------------------


def _tab_dict(create, services):
    import gradio as gr

    with gr.Blocks():
        return create(services)


def _pixels(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im)


def _round_trip(tab, args):
    (png, js), _ = tab["recipe"]["save_fn"](*args)
    saved = _pixels(png)
    outs = [tab["recipe"]["load_fn"](f) for f in (png, js)]
    return saved, outs


def test_generate_tab_round_trip(app_tiny_services):
    from explorer.ui.generate_tab import create_generate_tab

    tab = _tab_dict(create_generate_tab, app_tiny_services)
    saved, outs = _round_trip(tab, ["tiny", "3, 1-2, 9", 0.65])
    for out in outs:
        assert out[:2] == ("tiny", "3, 1, 2, 9") and out[2]["value"] == 0.65 and out[2]["visible"] is True
        assert np.array_equal(out[4], saved)


def test_an_older_recipe_with_a_psi_for_a_model_that_offers_none_loads_and_says_so(app_progan_services, tmp_path):
    """ProGAN normalises z, so ψ never changed its images: a recipe saved with one loads the same image,
    ψ 1 and hidden, and the message says why; a recipe saved now stores 1."""
    from explorer.edit import image_recipe as rc
    from explorer.ui.generate_tab import create_generate_tab

    tab = _tab_dict(create_generate_tab, app_progan_services)
    entry = app_progan_services.find_model("tiny-progan")
    old = rc.ImageRecipe(tab="generate", model="tiny-progan", sha256=rc.weights_sha256(entry.path), seeds=[4, 5],
                    truncation_psi=0.5)
    (tmp_path / "old.recipe.json").write_text(old.to_json())
    *out, message = tab["recipe"]["load_fn"](str(tmp_path / "old.recipe.json"))
    assert out[2]["value"] == 1.0 and out[2]["visible"] is False
    assert "truncation ψ 0.5 is not applied" in message and "normalises z" in message
    (png, js), _ = tab["recipe"]["save_fn"]("tiny-progan", "4, 5", 0.5)
    assert rc.read(js).truncation_psi == 1.0
    assert np.array_equal(_pixels(png), out[4])


def test_progan_tab_round_trip(app_progan_services):
    from explorer.ui.progan_tab import create_progan_tab

    tab = _tab_dict(create_progan_tab, app_progan_services)
    saved, outs = _round_trip(tab, ["tiny-progan", "4-5", 2, 0.4, 7, 8, 0.3, "linear"])
    for out in outs:
        assert out[0] == "tiny-progan" and out[1] == "4, 5" and out[2]["value"] == 2 and out[3] == 0.4
        assert out[4:8] == (7, 8, 0.3, "linear")
        assert np.array_equal(out[8], saved)


def test_stylegan_tab_round_trip(app_stylegan_services):
    from explorer.ui.stylegan_tab import MAX_LAYERS, MAX_WS, create_stylegan_tab

    tab = _tab_dict(create_stylegan_tab, app_stylegan_services)
    mix = [0.0, 0.3, 1.0, 0.0, 0.5, 0.0] + [0.0] * (MAX_WS - 6)
    strengths = [1.0, 0.0, 2.0, 0.5, 1.0] + [1.0] * (MAX_LAYERS - 5)
    args = ["tiny-stylegan2", 11, 12, *mix, 0.6, 3, "random", 5, *strengths]
    saved, outs = _round_trip(tab, args)
    for out in outs:
        assert out[:6] == ("tiny-stylegan2", 11, 12, 0.6, "random", 5)
        assert [u["value"] for u in out[6:12]] == mix[:6]
        assert [u["value"] for u in out[6 + MAX_WS:11 + MAX_WS]] == strengths[:5]
        assert out[6 + MAX_WS + MAX_LAYERS]["value"] == 3
        assert np.array_equal(out[-5], saved)  # the mix (then B, the info, the record of what is shown, the message)


def test_stylegan_recipe_for_another_model_shape_is_rejected(app_stylegan_services, tmp_path):
    import gradio as gr

    from explorer.ui.stylegan_tab import MAX_LAYERS, MAX_WS, create_stylegan_tab

    tab = _tab_dict(create_stylegan_tab, app_stylegan_services)
    (png, js), _ = tab["recipe"]["save_fn"]("tiny-stylegan2", 1, 2, *[0.0] * MAX_WS, 1.0, 6, "const", 0,
                                            *[1.0] * MAX_LAYERS)
    bad = json.loads(open(js).read())
    bad["mix"] = [0.0] * 3
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(gr.Error, match="do not fit"):
        tab["recipe"]["load_fn"](str(tmp_path / "bad.json"))
