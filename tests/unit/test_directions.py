"""explorer.edit.directions: SeFa on a known spectrum, PCA on a known axis, GANSpace's PCA in z
recovering a direction planted in a generator's first layer (and PCA of w as it was), the supervised
probe recovering a planted attribute, conditional projection, difference of means, apply() on a layer
range, the store beside a checkpoint, and SeFa's weights and the early layer for every family."""

import json

import numpy as np
import pytest
import torch

from explorer.edit import directions as dirs


def _orthonormal(n, seed):
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def test_sefa_recovers_a_known_spectrum():
    # A = U diag(s) V^T: A^T A has eigenvectors V (columns) with eigenvalues s^2.
    d, out = 6, 10
    v = _orthonormal(d, 0)
    u = _orthonormal(out, 1)[:, :d]
    s = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.5], dtype=torch.float64)
    a = u @ torch.diag(s) @ v.T
    vecs, vals = dirs.sefa(a.float(), k=3, normalize=False)
    assert torch.allclose(vals, (s[:3] ** 2).float(), rtol=1e-4)
    for i in range(3):  # eigenvectors up to sign
        assert abs(float(vecs[i].double() @ v[:, i])) == pytest.approx(1.0, abs=1e-5)
        assert float(vecs[i].norm()) == pytest.approx(1.0, abs=1e-6)


def test_sefa_row_normalisation_ignores_row_scale():
    a = torch.randn(12, 5, generator=torch.Generator().manual_seed(2))
    scaled = a * torch.linspace(0.1, 10, 12)[:, None]  # rows of very different norms
    v1, e1 = dirs.sefa(a, 5)
    v2, e2 = dirs.sefa(scaled, 5)
    assert torch.allclose(e1, e2, atol=1e-4)
    assert torch.allclose((v1 * v2).sum(1).abs(), torch.ones(5), atol=1e-4)


def test_pca_finds_the_principal_axis():
    g = torch.Generator().manual_seed(3)
    axis = torch.nn.functional.normalize(torch.randn(8, generator=g), dim=0)
    x = torch.randn(4000, 8, generator=g) * 0.3 + torch.randn(4000, 1, generator=g) * 3.0 * axis + 7.0
    vecs, ratio, std = dirs.pca(x, k=2)
    assert abs(float(vecs[0] @ axis)) > 0.999
    assert float(ratio[0]) > 0.9 and float(ratio[0]) > float(ratio[1])
    assert float(std[0]) == pytest.approx((9 + 0.09) ** 0.5, rel=0.05)


def test_pca_of_wide_samples_matches_the_svd():
    """More features than samples (a layer's activations) goes through the Gram matrix: the same axes."""
    x = torch.randn(40, 300, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    x = x * torch.linspace(3.0, 0.1, 300, dtype=torch.float64)
    vecs, ratio, std = dirs.pca(x, k=4)
    xc = x - x.mean(0)
    _, s, vh = torch.linalg.svd(xc, full_matrices=False)
    var = s.square() / 39
    assert torch.allclose(ratio.double(), var[:4] / var.sum(), rtol=1e-5)
    assert torch.allclose(std.double(), var[:4].sqrt(), rtol=1e-5)
    assert torch.allclose((vecs.double() * vh[:4]).sum(1).abs(), torch.ones(4, dtype=torch.float64), atol=1e-5)


def test_regression_to_latent_finds_the_gradient_of_each_coordinate():
    g = torch.Generator().manual_seed(7)
    z = torch.randn(500, 6, generator=g) @ torch.randn(6, 6, generator=g)  # correlated latents
    m = torch.randn(6, 2, generator=g)
    vecs = dirs.regress_to_latent(z, z @ m + 4.0)
    assert torch.allclose((vecs * torch.nn.functional.normalize(m.T, dim=1)).sum(1).abs(), torch.ones(2), atol=1e-5)


def _tiny(arch, **kw):
    from explorer.models import build_generator

    config = {"dcgan": {"res": 16, "channels": 3, "ngf": 8, "z_dim": 16},
              "progan": {"res": 16, "channels": 3, "z_dim": 16, "fmap_base": 64, "fmap_max": 16, "fmap_min": 8},
              "fastgan": {"res": 32, "channels": 3, "z_dim": 16, "ngf": 4},
              "stylegan": {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 8, "mapping_layers": 2,
                           "channel_base": 128, "channel_max": 16}}[arch]
    torch.manual_seed(0)
    return build_generator(arch, {**config, **kw}).eval()


def test_pca_in_z_recovers_a_direction_planted_in_the_first_layer():
    """z's component along d read 10x stronger by DCGAN's 4x4 layer dominates its activations: the first
    GANSpace direction is d, and it explains most of their variance. PCA of the sampled z themselves
    (what PCA in z was before) sees only the isotropic sampler: a flat ~1/z_dim spectrum, blind to d."""
    G = _tiny("dcgan")
    d = torch.nn.functional.normalize(torch.randn(16, generator=torch.Generator().manual_seed(8)), dim=0)
    with torch.no_grad():
        w = G.net[0].weight                                # [z_dim, C, 4, 4]
        w.add_((9.0 * torch.outer(d, d @ w.flatten(1))).view_as(w))
    found = dirs.find_pca(G, 4)
    assert [f.name for f in found] == ["pca #0", "pca #1", "pca #2", "pca #3"]
    assert all(f.method == "pca" and f.space == "z" and f.stats["layer"] == "net.2" for f in found)
    assert abs(float(torch.from_numpy(found[0].vector) @ d)) > 0.95
    ratio = [f.stats["explained_variance"] for f in found]
    assert ratio[0] > 0.5 and ratio[0] > 5 * ratio[1]
    assert found[0].std == pytest.approx(1.0, abs=0.1)     # one std of the sampled z along a unit vector
    z_axes, z_ratio, _ = dirs.pca(dirs.sample_latents(G, dirs.PCA_SAMPLES), 1)
    assert float(z_ratio[0]) < 2 / 16 and abs(float(z_axes[0] @ d)) < 0.9


def test_pca_in_w_is_the_principal_axes_of_sampled_w():
    G = _tiny("stylegan")
    found = dirs.find_pca(G, 3)
    vecs, ratio, std = dirs.pca(dirs.sample_latents(G, dirs.PCA_SAMPLES), 3)
    assert all(f.space == "w" and "layer" not in f.stats for f in found)
    assert np.array_equal(np.stack([f.vector for f in found]), vecs.numpy())
    assert [f.stats["explained_variance"] for f in found] == [float(r) for r in ratio]
    assert [f.std for f in found] == [float(s) for s in std]


@pytest.mark.parametrize("arch", ["dcgan", "progan", "fastgan"])
def test_early_activations_are_the_named_layers_and_leave_the_model_as_it_was(arch):
    from explorer.models.fastgan import glu

    G = _tiny(arch)
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        before = G(z)
        if arch == "dcgan":      # the reference path of the 4x4 transposed conv, batch norm, activation
            want = G.net[:3](z[:, :, None, None])
        elif arch == "progan":   # the 4x4 block
            want = G.conv0(G.norm(G.act(G.dense(G.norm(z))).view(5, -1, 4, 4)))
        else:                    # z on the sphere, 4x4 transposed conv, batch norm, GLU
            zs = z * (z.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()
            want = glu(G.init_bn(G.init(zs[:, :, None, None])))
    acts = dirs.early_activations(G, z)
    assert want.shape[-2:] == (4, 4) and torch.allclose(acts, want.flatten(1), atol=1e-5)
    with torch.no_grad():
        assert torch.equal(G(z), before)  # no hook left behind
    with pytest.raises(ValueError, match="eval mode"):
        dirs.early_activations(G.train(), z)


def test_supervised_probe_recovers_a_planted_attribute():
    g = torch.Generator().manual_seed(4)
    d = 16
    planted = torch.nn.functional.normalize(torch.randn(d, generator=g), dim=0)
    w = torch.randn(600, d, generator=g) * torch.linspace(0.5, 2.0, d)  # anisotropic latents
    labels = (w @ planted + 0.05 * torch.randn(600, generator=g) > 0.1).float()
    vec, stats = dirs.fit_probe(w, labels)
    # The probe's normal is in latent units; it matches the planted one (towards label 1).
    assert float(vec @ planted) > 0.95
    assert stats["accuracy"] > 0.95 and stats["n"] == 600


def test_probe_rejects_single_class_labels():
    with pytest.raises(ValueError, match="both values"):
        dirs.fit_probe(torch.randn(10, 3), torch.ones(10))


def test_condition_projects_out_other_attributes():
    g = torch.Generator().manual_seed(5)
    a, b, c = (torch.randn(10, generator=g) for _ in range(3))
    r = dirs.condition(a, [b, c])
    assert float(r.norm()) == pytest.approx(1.0, abs=1e-6)
    assert abs(float(r @ b)) < 1e-5 and abs(float(r @ c)) < 1e-5
    assert float(r @ a) > 0
    with pytest.raises(ValueError, match="span"):
        dirs.condition(b + c, [b, c])


def test_mean_difference_points_from_a_to_b():
    a = torch.zeros(4, 3)
    b = torch.tensor([[0.0, 2.0, 0.0]]).repeat(5, 1)
    assert torch.allclose(dirs.mean_difference(a, b), torch.tensor([0.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match="same mean"):
        dirs.mean_difference(a, a)


def test_apply_moves_only_the_layer_range():
    ws = torch.randn(2, 6, 4)
    d = torch.tensor([1.0, 0.0, 0.0, 0.0])
    out = dirs.apply(ws, d, 2.5, (2, 4))
    assert torch.equal(out[:, :2], ws[:, :2]) and torch.equal(out[:, 4:], ws[:, 4:])
    assert torch.allclose(out[:, 2:4] - ws[:, 2:4], torch.tensor([2.5, 0, 0, 0]).expand(2, 2, 4))
    assert torch.equal(dirs.apply(ws, d, 0.0), ws)
    with pytest.raises(ValueError, match="outside"):
        dirs.apply(ws, d, 1.0, (4, 9))


def test_store_round_trip_beside_the_checkpoint(tmp_path):
    ckpt = tmp_path / "model.json"
    ckpt.write_text("{}")
    d = dirs.Direction("Smile +", "supervised", np.array([3.0, 4.0]), 0.7, (0, 4), "w", {"accuracy": 0.9})
    path = dirs.save_direction(ckpt, d)
    assert path.parent == tmp_path / "model.directions"
    assert json.loads(path.read_text())["method"] == "supervised"
    (tmp_path / "model.directions" / "broken.json").write_text("{not json")
    [back] = dirs.load_directions(ckpt)
    assert back.name == "Smile +" and back.layers == (0, 4) and back.stats == {"accuracy": 0.9}
    assert np.allclose(back.vector, [0.6, 0.8]) and back.std == pytest.approx(0.7)
    assert dirs.load_directions(ckpt, dim=3) == []
    assert dirs.delete_direction(ckpt, "Smile +") and dirs.load_directions(ckpt) == []


@pytest.mark.parametrize("arch,config,space", [
    ("dcgan", {"res": 16, "channels": 1, "ngf": 8, "z_dim": 12}, "z"),
    ("progan", {"res": 16, "channels": 3, "z_dim": 12, "fmap_base": 32, "fmap_max": 8, "fmap_min": 4}, "z"),
    ("stylegan", {"res": 16, "channels": 3, "z_dim": 8, "w_dim": 12, "mapping_layers": 2, "channel_base": 64,
                  "channel_max": 8}, "w"),
    ("fastgan", {"res": 16, "channels": 3, "z_dim": 12, "ngf": 2}, "z"),
])
def test_sefa_weights_for_every_family(arch, config, space):
    from explorer.models import build_generator

    torch.manual_seed(0)
    G = build_generator(arch, config).eval()
    assert dirs.latent_space(G) == space
    a = dirs.first_weights(G)
    assert a.ndim == 2 and a.shape[1] == 12
    vecs, vals = dirs.sefa(a, 3)
    assert vecs.shape == (3, 12) and bool((vals[:-1] >= vals[1:]).all())
    lat = dirs.sample_latents(G, 50)
    assert lat.shape == (50, 12)
    if space == "w":  # a layer range takes only the style layers reading those ws entries
        assert dirs.first_weights(G, (0, 2)).shape[0] < a.shape[0]
