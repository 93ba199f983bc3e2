"""The 2-D GAN playground engine: real small runs on the CPU, no mocks.

The preset tests train each preset for its own budget (Preset.steps) from its own seed and
assert the effect its sentence claims; the thresholds come from seeded runs written down in
explorer/playground/presets.py. Run alone with OMP_NUM_THREADS=1 (about a minute)."""

from __future__ import annotations

import dataclasses
import json
import math
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import images
from explorer.playground import (DISTRIBUTIONS, EXTENT, LOSSES, PRESETS, DataConfig, ModelConfig, Playground,
                                 PlaygroundConfig, TrainConfig, ViewConfig, check_points, draw, image_size,
                                 mode_coverage, parse_csv, pixel_to_plane, plane_to_pixel, recipe, sample)
from explorer.playground.train import js_bits, kde_cell_mass

torch.set_num_threads(1)

SMALL = ModelConfig(g_width=16, g_depth=2, d_width=16, d_depth=2)
SMALL_VIEW = ViewConfig(heat_res=16, n_eval=64, mesh_res=5, eval_every=2, div_res=16)


def small(**train) -> PlaygroundConfig:
    return PlaygroundConfig(data=DataConfig(n_samples=64), model=SMALL, train=TrainConfig(batch_size=32, **train),
                            view=SMALL_VIEW)


def params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


def assert_same_state(a: Playground, b: Playground) -> None:
    sa, sb = a.state_tensors(), b.state_tensors()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), f"{k} differs"


# ---- data ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distribution_shapes_and_determinism(name):
    a, b, c = sample(name, 300, seed=1), sample(name, 300, seed=1), sample(name, 300, seed=2)
    assert a.shape == (300, 2) and a.dtype == np.float32
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.abs(a).max() < EXTENT


def test_sample_refuses_bad_requests():
    with pytest.raises(ValueError, match="Unknown distribution"):
        sample("donut", 100, 0)
    with pytest.raises(ValueError, match="sample count"):
        sample("ring", 3, 0)


def test_parse_csv_accepts_header_comments_and_delimiters():
    text = "x,y\n# drawn by hand\n0.1, 0.2\n\n" + "\n".join(f"{i / 10};{-i / 10}" for i in range(5)) + "\n0.5\t0.5\n1 1\n"
    pts = parse_csv(text)
    assert pts.shape == (8, 2) and pts.dtype == np.float32
    assert pts[0].tolist() == pytest.approx([0.1, 0.2])
    assert parse_csv(text.encode()).tolist() == pts.tolist()


@pytest.mark.parametrize("text, message", [
    ("0,0\n1,1\n", "Only 2 point"),
    ("0,0\n" * 7 + "1,abc\n", "Line 8: 'abc' is not a number"),
    ("0,0,0\n" * 9, "Line 1 has 3 column"),
    ("0,0\n" * 8 + "nan,1\n", "Line 9 holds a non-finite"),
    ("0,0\n" * 5001, "thin them out"),
    ("0,0\n" * 8 + "3,0\n", "outside the plane"),
    ("# nothing\n\n", "holds no points"),
])
def test_parse_csv_errors_say_what_to_do(text, message):
    with pytest.raises(ValueError, match=message):
        parse_csv(text)


def test_parse_csv_rescale_and_non_utf8():
    pts = parse_csv("\n".join(f"{10 * i},{-30 + i}" for i in range(10)), rescale=True)
    assert np.abs(pts).max() == pytest.approx(1.0) and np.abs(pts.mean(0)).max() < 1e-6
    with pytest.raises(ValueError, match="not UTF-8"):
        parse_csv(b"\xff\xfe\x00bad")


def test_check_points_errors():
    with pytest.raises(ValueError, match="pairs"):
        check_points([[0, 0, 0]] * 10)
    with pytest.raises(ValueError, match="not finite"):
        check_points([[0, 0]] * 9 + [[math.inf, 0]])


def test_drawn_points_train_and_round_trip_through_json():
    pts = [[0.1 * i, 0.05 * i * i - 0.5] for i in range(-6, 7)]
    cfg = dataclasses.replace(small(), data=DataConfig(name="drawn", points=pts))
    pg = Playground(cfg, seed=3)
    pg.step(3)
    assert np.allclose(pg.snapshot().real, np.array(pts, dtype=np.float32))
    assert pg.snapshot().coverage is None
    back = recipe.replay(recipe.from_json(recipe.to_json(pg)))
    assert_same_state(pg, back)


def test_mode_coverage_counts_modes_and_quality():
    centers = DISTRIBUTIONS["ring"].centers
    on_three = np.repeat(centers[:3], 50, axis=0)                       # [150, 2] on 3 modes exactly
    far = np.full((50, 2), 0.0)                                           # the ring's centre: no mode within 3 std
    cov = mode_coverage(np.concatenate([on_three, far]), centers, 0.05)
    assert cov["covered"] == 3 and cov["modes"] == 8 and cov["hq_share"] == pytest.approx(0.75)
    assert cov["counts"] == [50, 50, 50, 0, 0, 0, 0, 0]


def test_divergence_ends():
    edges = torch.linspace(-EXTENT, EXTENT, 33, dtype=torch.float64)
    a = torch.from_numpy(sample("ring", 500, 0))
    assert js_bits(kde_cell_mass(a, edges, 0.1), kde_cell_mass(a, edges, 0.1)) == pytest.approx(0.0, abs=1e-12)
    far = torch.full((100, 2), 10.0)                                      # all mass off the plane
    assert js_bits(kde_cell_mass(a, edges, 0.1), kde_cell_mass(far, edges, 0.1)) == pytest.approx(1.0, abs=1e-3)
    b = torch.from_numpy(sample("ring", 500, 1))                          # same distribution, other draw
    assert js_bits(kde_cell_mass(a, edges, 0.1), kde_cell_mass(b, edges, 0.1)) < 0.03


# ---- config -------------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"train": {"loss": "wgan-gp", "label_smoothing": 0.1}}, "label_smoothing changes BCE"),
    ({"train": {"loss": "hinge", "g_loss": "minimax"}}, "minimax generator loss belongs to BCE"),
    ({"train": {"lr_d": 0.0}}, "train.lr_d must be"),
    ({"model": {"latent_dim": 3}}, "latent_dim"),
    ({"model": {"width": 3}}, "Unknown field"),
    ({"data": {"name": "drawn"}}, "needs points"),
    ({"extra": {}}, "Unknown config section"),
])
def test_config_errors_are_sentences(change, message):
    with pytest.raises(ValueError, match=message):
        PlaygroundConfig.from_dict(change)


def test_config_round_trips_through_dict():
    cfg = PRESETS["wgan-gp"].config
    assert PlaygroundConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


# ---- training -----------------------------------------------------------------------------------

@pytest.mark.parametrize("train", [
    {"loss": "bce"}, {"loss": "bce", "g_loss": "minimax"}, {"loss": "wgan-gp", "d_steps": 2},
    {"loss": "hinge"}, {"loss": "bce", "r1_gamma": 1.0}, {"loss": "hinge", "r1_gamma": 0.5},
    {"loss": "bce", "label_smoothing": 0.1, "label_noise": 0.1, "label_flip": 0.1},
])
def test_each_loss_runs_and_moves_both_networks(train):
    pg = Playground(small(**train), seed=0)
    g0, d0 = params(pg.G), params(pg.D)
    pg.step(2)
    assert not same(g0, params(pg.G)) and not same(d0, params(pg.D))
    h = pg.history()
    assert len(h.d_loss) == 2 * pg.config.train.d_steps and len(h.g_loss) == 2
    assert np.isfinite(h.d_loss).all() and np.isfinite(h.g_loss).all() and np.isfinite(h.g_grad_norm).all()
    if train.get("loss") == "wgan-gp" or train.get("r1_gamma"):
        assert (h.d_penalty > 0).all()


def test_dropout_in_d_is_seeded():
    cfg = dataclasses.replace(small(), model=dataclasses.replace(SMALL, d_dropout=0.3))
    a, b = Playground(cfg, seed=5), Playground(cfg, seed=5)
    a.step(3)
    b.step(3)
    assert_same_state(a, b)


def test_step_d_changes_only_d_and_step_g_only_g():
    pg = Playground(small(), seed=1)
    pg.step(1)
    g0, d0 = params(pg.G), params(pg.D)
    pg.step_d()
    assert same(g0, params(pg.G)) and not same(d0, params(pg.D))
    d1 = params(pg.D)
    pg.step_g()
    assert not same(g0, params(pg.G)) and same(d1, params(pg.D))
    assert (pg.d_steps, pg.g_steps) == (2, 2)


def test_slow_step_shows_d_then_g():
    pg = Playground(small(d_steps=2), seed=2)
    before, after_d, after_g = pg.slow_step()
    assert [s.phase for s in (before, after_d, after_g)] == ["before", "after D", "after G"]
    assert (after_d.d_steps, after_d.g_steps, after_g.g_steps) == (2, 0, 1)
    assert not np.array_equal(before.heat, after_d.heat) and np.array_equal(before.fake, after_d.fake)
    assert np.array_equal(after_d.heat, after_g.heat) and not np.array_equal(after_d.fake, after_g.fake)
    other = Playground(small(d_steps=2), seed=2)
    other.step(1)
    assert_same_state(pg, other)  # a slow step is the same iteration as step(1)


def test_snapshot_shapes_and_draws_nothing_random():
    cfg = small()
    pg = Playground(cfg, seed=4)
    pg.step(4)
    s = pg.snapshot()
    v = cfg.view
    assert s.heat.shape == (v.heat_res, v.heat_res) and s.heat_kind == "probability" and s.heat_range == (0.0, 1.0)
    assert ((s.heat >= 0) & (s.heat <= 1)).all()
    assert s.real.shape == (64, 2) and s.fake.shape == (v.n_eval, 2) and s.fake_grad.shape == (v.n_eval, 2)
    assert s.mesh.shape == (v.mesh_res, v.mesh_res, 2)
    assert s.coverage["modes"] == 8 and 0 <= s.js_bits <= 1
    assert len(s.history.g_step) == 4 and len(s.history.eval_step) == 2
    twin = Playground(cfg, seed=4)
    twin.step(4)
    pg.step(2)
    twin.step(2)
    assert_same_state(pg, twin)  # the snapshot did not disturb training
    one_d = dataclasses.replace(cfg, model=dataclasses.replace(SMALL, latent_dim=1),
                                train=TrainConfig(loss="wgan-gp", batch_size=32))
    one = Playground(one_d, seed=0)
    s1 = one.snapshot()
    assert s1.mesh.shape == (1, 5 * v.mesh_res, 2) and s1.heat_kind == "critic" and s1.heat_range[0] < s1.heat_range[1]
    assert draw(s1, 96).size == image_size(96)  # a critic scale and a one-line mesh draw too


def test_snapshot_gradients_point_downhill():
    pg = Playground(small(), seed=0)
    pg.step(5)
    s = pg.snapshot()
    x = torch.from_numpy(s.fake) + 1e-3 * torch.from_numpy(s.fake_grad)
    pg.D.eval()
    with torch.no_grad():
        before = torch.nn.functional.softplus(-pg.D(torch.from_numpy(s.fake))).sum()
        after = torch.nn.functional.softplus(-pg.D(x)).sum()
    pg.D.train()
    assert after < before


def test_configure_changes_training_live_and_refuses_model_fields():
    pg = Playground(small(), seed=0)
    pg.configure(lr_d=1e-4, d_steps=3)
    assert pg.opt_d.param_groups[0]["lr"] == 1e-4
    pg.step(1)
    assert pg.d_steps == 3
    with pytest.raises(ValueError, match="need reset"):
        pg.configure(g_width=8)
    with pytest.raises(ValueError, match="label_smoothing changes BCE"):
        pg.configure(loss="wgan-gp", label_smoothing=0.1)
    assert pg.config.train.loss == "bce"  # a refused change changes nothing


def test_reset_returns_to_the_seeded_start():
    pg = Playground(small(), seed=7)
    fresh = params(pg.G)
    pg.step(3)
    pg.reset()
    assert same(fresh, params(pg.G)) and pg.g_steps == 0 and pg.recipe()["actions"] == []
    pg.reset(seed=8)
    assert not same(fresh, params(pg.G))


def test_snapshot_between_steps_of_a_background_thread():
    pg = Playground(small(), seed=0)
    done = threading.Event()

    def train():
        for _ in range(10):
            pg.step(3)
        done.set()

    thread = threading.Thread(target=train)
    thread.start()
    seen = []
    while not done.is_set():
        s = pg.snapshot()
        assert len(s.history.g_step) == s.g_steps and len(s.history.d_step) == s.d_steps
        seen.append(s.g_steps)
    thread.join()
    assert pg.g_steps == 30 and seen == sorted(seen)


# ---- recipes ------------------------------------------------------------------------------------

def mixed_run() -> Playground:
    pg = Playground(small(label_flip=0.05), seed=11)
    pg.step(4)
    pg.step_d()
    pg.step_d()
    pg.configure(lr_d=3e-4, d_steps=2)
    pg.step_g()
    pg.slow_step()
    pg.step(3)
    return pg


def test_recipe_is_run_length_encoded():
    actions = mixed_run().recipe()["actions"]
    assert actions == [["step", 4], ["d", 2], ["set", {"d_steps": 2, "lr_d": 3e-4}], ["g", 1], ["d", 2], ["g", 1],
                       ["step", 3]]


def test_recipe_json_round_trip_replays_bit_for_bit_and_continues_the_same():
    pg = mixed_run()
    back = recipe.replay(recipe.from_json(recipe.to_json(pg)))
    assert_same_state(pg, back)
    assert back.recipe() == pg.recipe()
    pg.step(5)
    back.step(5)
    assert_same_state(pg, back)
    assert np.array_equal(pg.snapshot().heat, back.snapshot().heat)


def test_recipe_png_round_trip(tmp_path):
    pg = mixed_run()
    path = recipe.save_png(tmp_path / "view.png", pg, size=160)
    assert Image.open(path).size == image_size(160)
    back = recipe.load(path)
    assert_same_state(pg, back)
    assert_same_state(pg, recipe.load(recipe.encode_png(pg, 128)))
    json_path = tmp_path / "r.json"
    json_path.write_text(recipe.to_json(pg))
    assert_same_state(pg, recipe.load(json_path))


def test_recipe_errors():
    with pytest.raises(ValueError, match="no recipe"):
        recipe.read_png(images.encode_png(np.zeros((8, 8, 3), np.uint8)))
    with pytest.raises(ValueError, match="not a 2-D playground"):
        recipe.read_png(images.encode_png(np.zeros((8, 8, 3), np.uint8), {"kind": "image"}))
    with pytest.raises(ValueError, match="not valid JSON"):
        recipe.from_json("{nope")
    good = mixed_run().recipe()
    with pytest.raises(ValueError, match="edited or damaged"):
        recipe.check_recipe({**good, "actions": [["jump", 1]]})
    with pytest.raises(ValueError, match="edited or damaged"):
        recipe.replay({**good, "g_steps": 999})


# ---- drawing ------------------------------------------------------------------------------------

def test_draw_size_layers_and_state():
    pg = Playground(small(), seed=0)
    a = draw(pg.snapshot(), 200)
    assert a.mode == "RGB" and a.size == image_size(200) == (200, 200 + (a.size[1] - 200))
    pg.step(5)
    b = draw(pg.snapshot(), 200)
    assert not np.array_equal(np.asarray(a), np.asarray(b))
    bare = draw(pg.snapshot(), 200, heat=False, real=False, fake=False, arrows=False, mesh=False)
    assert not np.array_equal(np.asarray(b), np.asarray(bare))
    plot = np.asarray(bare)[:200]
    assert (plot == plot[0, 0]).all()  # nothing but the background is left in the plot
    with pytest.raises(ValueError, match="at least 64"):
        draw(pg.snapshot(), 32)


def test_pixel_mapping_round_trips():
    xy = np.array([[0.3, -1.2], [-1.5, 1.5]])
    px = plane_to_pixel(xy, 480, EXTENT)
    assert px[1].tolist() == [0.0, 0.0]
    assert pixel_to_plane(*px[0], 480, EXTENT) == pytest.approx((0.3, -1.2))


def test_loss_registry_matches_config_names():
    from explorer.playground.config import LOSS_NAMES
    assert tuple(LOSSES) == LOSS_NAMES


# ---- command line -------------------------------------------------------------------------------

def test_cli_trains_writes_and_continues(tmp_path, capsys):
    from explorer.playground.__main__ import main
    out, rec = tmp_path / "view.png", tmp_path / "r.json"
    assert main(["--preset", "d-wins", "--steps", "4", "--out", str(out), "--recipe", str(rec), "--size", "128"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["g_steps"] == 4 and first["modes"] == 8 and first["watch"] == PRESETS["d-wins"].watch
    assert Image.open(out).size == image_size(128)
    assert main(["--from", str(out), "--steps", "2", "--recipe", str(tmp_path / "r2.json")]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["g_steps"] == 6 and second["d_steps"] == 30
    straight = Playground(PRESETS["d-wins"].config, seed=PRESETS["d-wins"].seed)
    straight.step(6)
    assert_same_state(straight, recipe.load(tmp_path / "r2.json"))
    assert main(["--from", str(tmp_path / "missing.json")]) == 2
    assert "error:" in capsys.readouterr().err


# ---- presets: each sentence, asserted on its own seed and budget ----------------------------------
# Thresholds leave a margin round the values measured at seeds 0, 1 and 2 (presets.py lists them).

def trained(name: str) -> Playground:
    p = PRESETS[name]
    pg = Playground(p.config, seed=p.seed)
    pg.step(p.steps)
    return pg


def spread(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(0)) ** 2).sum(1).mean()))  # RMS distance to the centroid


def recent(values: np.ndarray, n: int = 50) -> float:
    return float(values[-n:].mean())


def test_every_preset_has_a_sentence_and_a_valid_config():
    assert set(PRESETS) == {"mode-collapse", "wgan-gp", "d-wins", "label-smoothing", "lr-imbalance"}
    for name, p in PRESETS.items():
        p.config.validate()
        assert p.watch.endswith(".") and len(p.watch) > 60, name
        assert 0 < p.steps <= 1000


def test_mode_collapse_covers_few_modes_and_wgan_gp_most_in_the_same_budget():
    collapse, fixed = PRESETS["mode-collapse"], PRESETS["wgan-gp"]
    assert collapse.steps == fixed.steps and collapse.config.model == fixed.config.model
    assert (collapse.config.train.beta1, collapse.config.train.beta2) == (fixed.config.train.beta1, fixed.config.train.beta2)
    a = trained("mode-collapse").snapshot()
    assert a.coverage["covered"] <= 2 and spread(a.fake) < 0.3   # measured 1, 1, 1 modes; spread 0.06-0.15
    b = trained("wgan-gp").snapshot()
    assert b.coverage["covered"] >= 6 and spread(b.fake) > 0.7   # measured 7, 8, 7 modes; spread about 0.97
    assert b.js_bits < a.js_bits - 0.3                          # measured 0.17-0.22 against 0.82-0.83 bit


def test_d_wins_starves_g_of_gradient_until_the_loss_is_non_saturating():
    pg = trained("d-wins")
    h = pg.history()
    assert recent(h.d_real) > 0.99 and recent(h.d_fake) < 0.01
    assert recent(h.g_grad_norm) < 1e-3                          # measured 7e-6 to 2e-5
    assert h.g_grad_norm[:10].mean() > 100 * recent(h.g_grad_norm)  # it fell, it did not start there
    assert np.abs(pg.snapshot().fake_grad).max() < 1e-2           # the arrows have vanished too
    pg.configure(g_loss="nonsaturating")
    pg.step(20)
    assert recent(pg.history().g_grad_norm, 10) > 1.0            # measured 6.7-9.5


def test_label_smoothing_keeps_d_unsure_and_g_fed():
    pg = trained("label-smoothing")
    h, s = pg.history(), pg.snapshot()
    target = 1 - PRESETS["label-smoothing"].config.train.label_smoothing
    assert 0.5 < recent(h.d_real) < target                       # measured 0.70-0.72 (target 0.8)
    assert recent(h.d_fake) > 0.03                               # measured 0.085-0.10 (d-wins: 0.0)
    assert recent(h.g_grad_norm) > 0.1                           # measured 0.44-0.82 (d-wins: 2e-5)
    assert s.coverage["hq_share"] > 0.5                          # the fakes left the centre: 0.95-0.99


def test_lr_imbalance_piles_the_fakes_up_where_equal_rates_cover_the_ring():
    p = PRESETS["lr-imbalance"]
    s = trained("lr-imbalance").snapshot()
    assert s.coverage["covered"] <= 2 and spread(s.fake) < 0.3   # measured 1, 0, 0 modes; spread 0.06-0.08
    assert s.heat.max() - s.heat.min() < 0.15                    # D's map stays pale: 0.03-0.04
    equal = dataclasses.replace(p.config, train=dataclasses.replace(p.config.train, lr_d=p.config.train.lr_g))
    assert equal == PlaygroundConfig()                           # "equal rates" is the default config
    ref = Playground(equal, seed=p.seed)
    ref.step(p.steps)
    r = ref.snapshot()
    assert r.coverage["covered"] >= 6 and r.heat.max() - r.heat.min() > 0.3   # measured 8, 8, 6 modes; span 0.62-0.75
