"""The procedural faces: shapes, determinism, labels, that every factor shows, and the part masks."""

import colorsys

import numpy as np
import pytest

from explorer.train.datasets.faces import (FACTOR_NAMES, FACTORS, PARTS, make_face_parts, make_faces, part_masks, render_face,
                                           render_face_parts, sample_factors)

BINARY = [name for name in FACTOR_NAMES if FACTORS[name].kind == "binary"]
CONTINUOUS = [name for name in FACTOR_NAMES if FACTORS[name].kind == "continuous"]


def neutral(**overrides: float) -> dict[str, float]:
    """Every continuous factor mid-range and every binary one off, then the overrides."""
    f = {name: (0.0 if FACTORS[name].kind == "binary" else 0.5) for name in FACTOR_NAMES}
    f.update(overrides)
    return f


def render(res: int = 32, texture_seed: int = 0, **overrides: float) -> np.ndarray:
    return render_face(neutral(**overrides), res, texture_seed=texture_seed).astype(np.float64)


def foreground(img: np.ndarray) -> np.ndarray:
    """[H, W] mask of pixels that differ from the (flat) background, read off a corner."""
    return np.abs(img - img[0, 0]).sum(axis=-1) > 30


def test_registry_covers_the_three_scales():
    assert FACTOR_NAMES == tuple(FACTORS)
    for name, factor in FACTORS.items():
        assert factor.name == name and factor.doc
        assert factor.kind in ("binary", "continuous")
        assert factor.scale in ("coarse", "middle", "fine")
    required = {
        "coarse": {"head_size", "head_shape", "pos_x", "pos_y", "tilt", "long_hair"},
        "middle": {"eyes_open", "eye_spacing", "smile", "glasses"},
        "fine": {"skin_tone", "hair_colour", "background_hue", "lighting", "freckles"},
    }
    for scale, names in required.items():
        assert names <= {n for n, f in FACTORS.items() if f.scale == scale}


@pytest.mark.parametrize("res", [16, 32, 64])
def test_shapes_and_dtypes(res):
    images, labels = make_faces(3, res, seed=1)
    assert images.shape == (3, res, res, 3) and images.dtype == np.uint8
    assert labels.shape == (3, len(FACTORS)) and labels.dtype == np.float32
    assert images.std() > 10  # a picture, not a flat fill


def test_deterministic_and_independent_of_n():
    a, la = make_faces(5, 32, seed=3)
    b, lb = make_faces(5, 32, seed=3)
    assert a.tobytes() == b.tobytes() and la.tobytes() == lb.tobytes()
    c, lc = make_faces(2, 32, seed=3)
    np.testing.assert_array_equal(c, a[:2])
    np.testing.assert_array_equal(lc, la[:2])
    d, _ = make_faces(5, 32, seed=4)
    assert not np.array_equal(a, d)


def test_labels_match_sample_factors():
    seed = 2
    _, labels = make_faces(4, 16, seed=seed)
    for i in range(4):
        factors = sample_factors(seed * 1_000_003 + i)
        np.testing.assert_array_equal(labels[i], np.float32([factors[n] for n in FACTOR_NAMES]))


def test_sampling_is_balanced():
    samples = np.array([[sample_factors(s)[n] for n in FACTOR_NAMES] for s in range(400)])
    for j, name in enumerate(FACTOR_NAMES):
        column = samples[:, j]
        if FACTORS[name].kind == "binary":
            assert set(np.unique(column)) <= {0.0, 1.0}, name
            assert 0.4 <= column.mean() <= 0.6, name
        else:
            assert column.min() >= 0.0 and column.max() <= 1.0, name
            assert column.min() < 0.05 and column.max() > 0.95, name
            assert 0.4 <= column.mean() <= 0.6, name


@pytest.mark.parametrize("name", BINARY + CONTINUOUS)
def test_every_factor_changes_the_face(name):
    off, on = render(texture_seed=1, **{name: 0.0}), render(texture_seed=1, **{name: 1.0})
    # The face box, except for the factors that live around the face.
    crop = slice(None) if name in ("background_hue", "long_hair") else slice(8, 24)
    assert np.abs(off - on)[crop, crop].mean() > 1.0, name


def test_skin_tone_darkens_the_face_centre():
    centre = [render(64, skin_tone=t)[28:40, 24:40].mean() for t in np.linspace(0, 1, 5)]
    assert all(a > b for a, b in zip(centre, centre[1:])), centre


def test_head_size_and_shape_change_the_silhouette():
    areas = [foreground(render(64, head_size=t)).sum() for t in (0.0, 0.5, 1.0)]
    assert areas[0] < areas[1] < areas[2], areas
    aspects = []
    for t in (0.0, 1.0):
        ys, xs = np.nonzero(foreground(render(64, head_shape=t)))
        aspects.append((np.ptp(ys) + 1) / (np.ptp(xs) + 1))
    assert aspects[1] > aspects[0] + 0.1, aspects


@pytest.mark.parametrize("name, axis", [("pos_x", 1), ("pos_y", 0)])
def test_position_moves_the_head(name, axis):
    centroids = [np.nonzero(foreground(render(64, **{name: t})))[axis].mean() for t in (0.0, 0.5, 1.0)]
    assert centroids[0] + 1 < centroids[1] < centroids[2] - 1, centroids


def test_tilt_is_a_mirror_pair():
    left, right = render(64, tilt=0.0), render(64, tilt=1.0)
    assert np.abs(left - right).mean() > 2.0
    assert np.abs(left - right[:, ::-1]).mean() < 0.5  # the face is symmetric at pos_x = 0.5


def test_eye_spacing_widens_the_gap_between_pupils():
    spreads = []
    for t in (0.0, 1.0):
        img = render(64, eyes_open=1.0, eye_spacing=t)
        dark = (img < 80).all(axis=-1)  # only the pupils are that dark in a neutral face
        spreads.append(np.nonzero(dark)[1].std())
    assert spreads[1] > spreads[0] + 2, spreads


def test_lighting_goes_from_warm_to_cool():
    images = [render(lighting=t) for t in (0.0, 0.5, 1.0)]
    warmth = [(im[..., 0] - im[..., 2]).mean() for im in images]  # red minus blue
    assert warmth[0] > warmth[1] > warmth[2], warmth


def test_background_hue_follows_the_factor():
    hues = []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        r, g, b = render(16, background_hue=t)[0, 0] / 255.0
        hues.append(colorsys.rgb_to_hsv(r, g, b)[0])
    assert all(a < b for a, b in zip(hues, hues[1:])), hues


def test_hair_colour_runs_black_to_red():
    def hair(t):  # a pixel of the fringe, above the eyes
        return render(64, hair_colour=t)[20, 32]
    black, blonde, red = hair(0.0), hair(2 / 3), hair(1.0)
    assert black.max() < 60 and blonde.mean() > 150
    assert red[0] > 2 * red[2] and red[0] > 1.5 * red[1]


def test_texture_seed_only_moves_freckles():
    assert np.array_equal(render(texture_seed=1), render(texture_seed=2))
    assert not np.array_equal(render(texture_seed=1, freckles=1.0), render(texture_seed=2, freckles=1.0))


def test_extreme_resolutions_render():
    assert render_face(sample_factors(0), 8).shape == (8, 8, 3)


@pytest.mark.parametrize("res", [0, 7, 1025, 32.0])
def test_bad_resolution_raises(res):
    with pytest.raises(ValueError, match="res must be an integer from 8 to 1024"):
        render_face(sample_factors(0), res)
    with pytest.raises(ValueError, match="res must be an integer from 8 to 1024"):
        make_faces(1, res)


def test_missing_factor_raises():
    factors = sample_factors(0)
    del factors["smile"]
    with pytest.raises(ValueError, match="smile"):
        render_face(factors, 16)


# --- part masks (for dissection): each part's coverage is exactly where that part was drawn ---


@pytest.mark.parametrize("res", [16, 64])
def test_part_coverage_is_a_partition_and_the_picture_is_render_faces(res):
    f = sample_factors(11)
    picture, cov = render_face_parts(f, res, texture_seed=11)
    assert cov.shape == (len(PARTS), res, res) and cov.dtype == np.float32
    np.testing.assert_allclose(cov.sum(0), 1.0, atol=1e-6)
    assert np.array_equal(picture, render_face(f, res, texture_seed=11))


@pytest.mark.parametrize("part,factor", [("glasses", "glasses"), ("freckles", "freckles")])
def test_a_parts_mask_covers_exactly_the_pixels_it_changes(part, factor):
    """Drawing the part or not changes a pixel only where the part covers some of it, and every
    pixel it covers at least half of changes."""
    res = 64
    for seed in range(6):
        with_it = dict(neutral(), **{factor: 1.0}, skin_tone=sample_factors(seed)["skin_tone"])
        picture, cov = render_face_parts(with_it, res, texture_seed=seed)
        without = render_face(dict(with_it, **{factor: 0.0}), res, texture_seed=seed)
        changed = (picture != without).any(-1)
        c = cov[PARTS.index(part)]
        assert c.max() == 1.0                       # the part is there, some pixels wholly
        assert not (changed & (c == 0)).any()       # nothing changed outside it
        assert (changed | (c < 0.5)).all()          # everything at least half covered changed


def test_wholly_covered_pixels_have_their_parts_colour():
    """A pixel entirely inside the mouth is the mouth's red, inside a glasses rim the rims' ink,
    after the whole-image lighting gain (neutral lighting: no gain)."""
    from explorer.train.datasets.faces import _INK, _MOUTH

    f = neutral(glasses=1.0, lighting=0.5)
    picture, cov = render_face_parts(f, 128)
    for part, colour in (("mouth", _MOUTH), ("glasses", _INK)):
        inside = cov[PARTS.index(part)] == 1.0
        assert inside.sum() > 10
        assert (picture[inside] == np.array(colour, dtype=np.uint8)).all(), part


def test_masks_follow_the_factors_that_move_parts():
    """Long hair covers more of the frame than short; the mouth is below the eyes; masks threshold coverage."""
    short = render_face_parts(neutral(long_hair=0.0), 64)[1]
    long_ = render_face_parts(neutral(long_hair=1.0), 64)[1]
    hair = PARTS.index("hair")
    assert long_[hair].sum() > 1.3 * short[hair].sum()
    m = part_masks(long_)
    assert set(m) == set(PARTS) and m["mouth"].dtype == bool
    rows = np.arange(64)[:, None]
    assert (rows * m["mouth"]).sum() / m["mouth"].sum() > (rows * m["eyes"]).sum() / m["eyes"].sum()


def test_make_face_parts_matches_make_faces_index_for_index():
    images, _ = make_faces(4, 32, seed=2)
    parts = make_face_parts(4, 32, seed=2)
    assert parts.shape == (4, len(PARTS), 32, 32)
    for i in range(4):
        s = 2 * 1_000_003 + i
        picture, cov = render_face_parts(sample_factors(s), 32, texture_seed=s)
        assert np.array_equal(picture, images[i]) and np.array_equal(cov, parts[i])
