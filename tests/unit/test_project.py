"""Projection (explorer/project): the upload's checks, the optimisation on tiny real generators, PTI,
and the latents kept beside the model."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.edit.latents import parse_sources, z_from_seed
from explorer.project import store
from explorer.project.__main__ import main as project_cli
from explorer.project.losses import noise_regularizer, pyramid_distance
from explorer.project.projector import ProjectConfig, Projection, render_latent, synthesis_kwargs_for, ws_of
from explorer.project.run import project_file
from explorer.project.target import MIN_SIDE_PX, TargetError, load_target
from explorer.weights import load_generator
from helpers import make_tiny_checkpoint, make_tiny_progan_checkpoint, make_tiny_stylegan_checkpoint


def _png(arr: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def sg2(tmp_path_factory):
    path = make_tiny_stylegan_checkpoint(tmp_path_factory.mktemp("sg2") / "tiny-sg2", seed=3)
    G, meta = load_generator(path)
    return path, G, meta


def _own_image(G, meta, seed: int) -> torch.Tensor:
    with torch.no_grad():
        return G.synthesis(G.mapping(z_from_seed(seed, G.z_dim)[None]), **synthesis_kwargs_for(G, meta))


# ----------------------------------------------------------------------------- the upload
def test_target_crops_the_centre_square_and_matches_channels():
    arr = np.zeros((40, 100, 4), dtype=np.uint8)  # wide RGBA: transparent but for a red centre square
    arr[:, 30:70] = (255, 0, 0, 255)
    t = load_target(_png(arr), 16, 3)
    assert t.image.shape == (1, 3, 16, 16) and t.crop == (30, 0, 70, 40)
    assert np.abs(t.picture.astype(int) - (255, 0, 0)).max() <= 2  # the kept square is the red one
    assert any("centre 40 × 40" in n for n in t.notes)
    full = load_target(_png(np.zeros((50, 50, 4), dtype=np.uint8)), 8, 1)  # transparent -> white, then gray
    assert full.image.shape == (1, 1, 8, 8) and float(full.image.min()) == 1.0
    assert t.preview.shape[2] == 3 and t.preview.shape[1] == 100


@pytest.mark.parametrize("data, says", [
    (b"this is text, not a picture", "not a picture"),
    (b"", "empty"),
])
def test_target_refuses_what_is_not_a_picture(data, says):
    with pytest.raises(TargetError, match=says):
        load_target(data, 16, 3)


def test_target_refuses_truncated_thin_and_enormous_pictures():
    good = _png(np.random.RandomState(0).randint(0, 255, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(TargetError, match="damaged or cut short|cannot be read"):
        load_target(good[: len(good) // 2], 16, 3)
    with pytest.raises(TargetError, match="1 × 10000 pixels.*1 pixel wide"):
        load_target(_png(np.zeros((10000, 1, 3), dtype=np.uint8)), 16, 3)
    with pytest.raises(TargetError, match=f"at least {MIN_SIDE_PX} pixels"):
        load_target(_png(np.zeros((5, 300, 3), dtype=np.uint8)), 16, 3)
    # A decompression bomb: a tiny file whose header claims 20000 x 20000 pixels.
    bomb = _png(np.zeros((1, 1), dtype=np.uint8))
    ihdr = bomb.index(b"IHDR")
    import struct
    import zlib
    header = b"IHDR" + struct.pack(">II", 20000, 20000) + bomb[ihdr + 12:ihdr + 17]
    bomb = bomb[:ihdr] + header + struct.pack(">I", zlib.crc32(header)) + bomb[ihdr + 21:]
    with pytest.raises(TargetError, match="megapixels|enormous"):
        load_target(bomb, 16, 3)


def test_target_takes_an_animation_s_first_frame_and_says_so():
    frames = [Image.fromarray(np.full((20, 20, 3), v, dtype=np.uint8)) for v in (200, 10)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    t = load_target(buf.getvalue(), 8, 3)
    assert any("first frame" in n and "2 frames" in n for n in t.notes)
    assert abs(float(t.picture.mean()) - 200) < 4


# ----------------------------------------------------------------------------- the optimisation
def test_losses_are_zero_on_the_target_and_the_regulariser_sees_correlation():
    a = [torch.randn(2, 4, 5, 5), torch.randn(2, 3, 2, 2)]
    assert float(pyramid_distance(a, a).abs().max()) == 0.0
    assert float(pyramid_distance(a, [-x for x in a]).min()) == pytest.approx(4.0)  # opposite unit vectors
    white = [torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(0))]
    smooth = [torch.nn.functional.interpolate(torch.randn(1, 1, 4, 4), size=32, mode="bilinear")]
    assert float(noise_regularizer(smooth)) > 10 * float(noise_regularizer(white))


def test_projection_lowers_the_loss_on_every_family(tmp_path):
    cases = [(make_tiny_checkpoint(tmp_path / "dc", seed=1), "z"),
             (make_tiny_progan_checkpoint(tmp_path / "pg", seed=1), "z"),
             (make_tiny_stylegan_checkpoint(tmp_path / "sg", seed=1), "w+")]
    for path, space in cases:
        G, meta = load_generator(path)
        target = _own_image(G, meta, 123)  # reachable, and not where the search starts
        p = Projection(G, meta, target, ProjectConfig(space=space, steps=40, net="none"))
        r = p.run()
        first, last = p.history[0].loss, min(h.loss for h in p.history[-5:])
        assert last < 0.5 * first, (path.stem, first, last)
        assert r.latent.dtype == np.float32 and np.isfinite(r.latent).all()
        if space == "z":  # kept on the sphere of radius sqrt(z_dim)
            assert np.linalg.norm(r.latent) == pytest.approx(math.sqrt(G.z_dim), rel=1e-4)


def test_a_planted_latent_is_recovered(sg2):
    """Project G(w*) in w with the pixel loss: the image error e bounds the latent's: |w - w*| <= |e| / s_min,
    s_min the smallest singular value of the Jacobian d img / d w at w* (the linearisation holds this close)."""
    _, G, meta = sg2
    w_true = G.mapping(z_from_seed(11, G.z_dim)[None])[:, :1]                   # [1, 1, w_dim]
    with torch.no_grad():
        target = G.synthesis(w_true.expand(1, G.num_ws, -1), **synthesis_kwargs_for(G, meta))
    cfg = ProjectConfig(space="w", steps=400, net="none", lr=0.05, initial_noise=0.02)
    r = Projection(G, meta, target, cfg).run()
    jac = torch.autograd.functional.jacobian(
        lambda w: G.synthesis(w.view(1, 1, -1).expand(1, G.num_ws, -1), **synthesis_kwargs_for(G, meta)).flatten(),
        w_true.flatten().detach())                                              # [P, w_dim]
    s_min = float(torch.linalg.svdvals(jac)[-1])
    with torch.no_grad():
        err = float((render_latent(G, meta, "w", r.latent) - target).norm())
    dist = float(np.linalg.norm(r.latent.reshape(-1) - w_true.flatten().detach().numpy()))
    spread = float(G.mapping(torch.randn(500, G.z_dim))[:, 0].std(0).norm())
    assert r.final["psnr"] > 35
    assert dist <= 2 * err / s_min + 1e-4, (dist, err, s_min)
    assert dist < 0.1 * spread  # and it is close in the latents' own units


def test_pti_improves_the_reconstruction_and_keeps_g_elsewhere(sg2):
    _, G, meta = sg2
    target = load_target(_png(np.random.RandomState(2).randint(0, 255, (16, 16, 3), dtype=np.uint8)), 16, 3).image
    base = Projection(G, meta, target, ProjectConfig(space="w+", steps=40, net="none")).run()
    with torch.no_grad():
        before = render_latent(G, meta, "w+", base.latent)
    tuned = Projection(G, meta, target, ProjectConfig(space="w+", steps=40, net="none", pti_steps=60, pti_lr=3e-3)
                       ).run()
    assert tuned.G is not None and base.G is None
    assert np.array_equal(tuned.latent, base.latent)  # the same pivot: PTI changes G, not the latent
    assert tuned.final["psnr"] > base.final["psnr"] + 1.0, (base.final, tuned.final)
    assert any(not torch.equal(a, b) for a, b in zip(G.parameters(), tuned.G.parameters()))
    with torch.no_grad():  # the original G is untouched
        assert torch.equal(render_latent(G, meta, "w+", base.latent), before)


def test_stop_keeps_the_best_so_far(sg2):
    _, G, meta = sg2
    target = _own_image(G, meta, 4)
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 12

    p = Projection(G, meta, target, ProjectConfig(space="w+", steps=200, net="none", pti_steps=50))
    r = p.run(stop)
    assert r.stopped and len(p.history) == 12 and r.G is None  # stopped before PTI began
    assert r.best_step == min(range(12), key=lambda i: p.history[i].loss) + 1


@pytest.mark.parametrize("change, says", [
    (dict(space="z"), "mapping network"),
    (dict(steps=float("nan")), "must be a number"),
    (dict(lr=-1.0), "out of range"),
    (dict(perceptual=0.0, pixel=0.0), "nothing to minimise"),
    (dict(net="vgg"), "not one of"),
])
def test_bad_settings_are_sentences(sg2, change, says):
    _, G, meta = sg2
    with pytest.raises(ValueError, match=says):
        Projection(G, meta, _own_image(G, meta, 0), ProjectConfig(**{"net": "none", **change}))


def test_a_family_without_mapping_has_no_w(tmp_path):
    G, meta = load_generator(make_tiny_checkpoint(tmp_path / "dc"))
    with pytest.raises(ValueError, match="no mapping network, so it has no w\\+ space"):
        Projection(G, meta, torch.zeros(1, 3, 16, 16), ProjectConfig(space="w+"))


# ----------------------------------------------------------------------------- kept beside the model
def test_saved_latents_list_load_and_refuse_other_weights(sg2, tmp_path):
    path, G, meta = sg2
    ckpt = make_tiny_stylegan_checkpoint(tmp_path / "model", seed=3)
    img = _png(np.random.RandomState(1).randint(0, 255, (30, 30, 3), dtype=np.uint8))
    cfg = ProjectConfig(space="w+", steps=5, net="none", noise_maps=True)
    target, result, jp = project_file(ckpt, G, meta, img, cfg, "my-cat", source_name="My Cat.png")
    assert jp == store.store_dir(ckpt) / "my-cat.json"
    meta_json = json.loads(jp.read_text())
    assert meta_json["source"]["sha256"] == target.sha256 and meta_json["space"] == "w+"
    assert meta_json["tuned"] is not None  # optimised noise maps ride in a tuned copy
    [lat] = store.list_latents(ckpt)
    assert lat.key == "my-cat" and lat.label == "@my-cat (w+, noise)"
    G2, meta2 = load_generator(lat.tuned)
    with torch.no_grad():
        again = render_latent(G2, meta2, lat.space, lat.array)
    from explorer.images import to_uint8
    assert np.array_equal(to_uint8(again)[0], result.picture)
    assert store.load(ckpt, "@my-cat").sha256 == lat.sha256
    # Other weights under the same name: the latent is not theirs.
    make_tiny_stylegan_checkpoint(tmp_path / "model", seed=4)
    assert store.list_latents(ckpt) == []
    with pytest.raises(store.LatentError, match="other weights"):
        store.load(ckpt, "@my-cat")
    with pytest.raises(store.LatentError, match="no projected image @nope"):
        store.load(ckpt, "@nope")
    with pytest.raises(store.LatentError, match="not the name"):
        store.load(ckpt, "@../etc")


def test_a_stored_latent_s_ws_follow_truncation(sg2):
    _, G, _ = sg2
    w = np.random.RandomState(0).randn(G.num_ws, G.w_dim).astype(np.float32)
    ws = ws_of(G, "w+", w)
    assert torch.equal(ws[0], torch.from_numpy(w))
    half = ws_of(G, "w+", w, truncation_psi=0.5, truncation_cutoff=2)
    assert torch.allclose(half[0, :2], G.w_avg.lerp(torch.from_numpy(w[:2]), 0.5))
    assert torch.equal(half[0, 2:], torch.from_numpy(w[2:]))


def test_sources_parse_seeds_and_projected_names():
    assert parse_sources("0-2, @my-cat, 5") == [0, 1, 2, "@my-cat", 5]
    assert parse_sources("0, @a, 0, @a", repeats=True) == [0, "@a", 0, "@a"]
    assert parse_sources("0, @a, 0, @a") == [0, "@a"]
    assert parse_sources("1-3") == [1, 2, 3]
    with pytest.raises(ValueError, match="not the name of a projected image"):
        parse_sources("@../x")


def test_cli_projects_and_writes_the_same_files(tmp_path, capsys):
    weights = tmp_path / "weights"
    weights.mkdir()
    make_tiny_stylegan_checkpoint(weights / "tiny-sg2", seed=3)
    img = tmp_path / "Holiday Photo.png"
    img.write_bytes(_png(np.random.RandomState(3).randint(0, 255, (20, 24, 3), dtype=np.uint8)))
    rc = project_cli([str(img), "--model", "tiny-sg2", "--weights", str(weights), "--runs", str(tmp_path / "r"),
                      "--steps", "8", "--net", "none", "--quiet"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    report = json.loads(out.out)
    assert report["latent"] == "@holiday-photo" and report["space"] == "w+" and report["final"]["psnr"] > 0
    assert (weights / "tiny-sg2.latents" / "holiday-photo.npy").is_file()
    assert "centre 20 × 20" in out.err
    rc = project_cli([str(tmp_path / "missing.png"), "--model", "tiny-sg2", "--weights", str(weights)])
    assert rc == 2 and "does not exist" in capsys.readouterr().err
    rc = project_cli([str(img), "--model", "tiny-sg2", "--weights", str(weights), "--space", "z"])
    assert rc == 2 and "mapping network" in capsys.readouterr().err
