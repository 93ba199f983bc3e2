"""Metrics: known answers for each formula, the sample-count guard, feature networks, the CLI and the card."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from helpers import make_tiny_checkpoint

from explorer.attributes import AttributeClassifier, ClassifierConfig
from explorer.metrics import evaluate, maths
from explorer.metrics.__main__ import main
from explorer.metrics.features import FeatureNet, FeatureNetError, load_feature_net
from explorer.weights import load_generator, read_meta


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv(evaluate.CACHE_ENV, str(tmp_path / "cache"))


# ---------------------------------------------------------------- known answers

def test_fid_of_a_set_with_itself_is_zero():
    x = np.random.default_rng(0).normal(size=(300, 20)) @ np.random.default_rng(1).normal(size=(20, 20))
    assert maths.fid(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_two_gaussians_equals_the_closed_form():
    # Diagonal covariances commute: tr(S1 + S2 - 2 (S1 S2)^1/2) = sum (sqrt a - sqrt b)^2.
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    expected = 5.0 + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert maths.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # 2 x 2 covariances that do not commute: tr (S1 S2)^1/2 = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2)).
    s1, s2 = np.array([[2.0, 0.8], [0.8, 1.0]]), np.array([[1.0, -0.3], [-0.3, 3.0]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    tr_sqrt = math.sqrt(np.trace(s1 @ s2) + 2 * math.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    expected = 1.0 + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert maths.frechet_distance(np.zeros(2), s1, np.array([1.0, 0.0]), s2) == pytest.approx(expected, rel=1e-10)


def test_kid_is_unbiased_on_two_samples_of_one_distribution():
    g = torch.Generator().manual_seed(0)
    unbiased, biased = [], []
    for _ in range(400):
        x, y = torch.randn(10, 4, generator=g, dtype=torch.float64), torch.randn(10, 4, generator=g, dtype=torch.float64)
        unbiased.append(maths.kid(x, y)[0])
        k = maths._poly_kernel
        biased.append(float(k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()))  # diagonal kept
    se = np.std(unbiased) / math.sqrt(len(unbiased))
    assert abs(np.mean(unbiased)) < 3 * se
    assert np.mean(biased) > 10 * se  # what the estimator would show without the correction


def test_kid_subsets_for_large_sets_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(600, 8)), rng.normal(size=(600, 8))
    same, std = maths.kid(x, y, subset_size=200, subsets=20)
    assert std > 0 and abs(same) < 0.05
    assert maths.kid(x, y + 1.0, subset_size=200, subsets=20)[0] > 10 * max(abs(same), 1e-3)


def test_precision_and_recall_of_identical_sets_are_one_and_of_far_apart_sets_zero():
    x = np.random.default_rng(0).normal(size=(200, 16))
    assert maths.precision_recall(x, x) == (1.0, 1.0)
    assert maths.precision_recall(x, x + 100.0) == (0.0, 0.0)
    # Fakes collapsed onto a tenth of the reals: high precision, low recall.
    precision, recall = maths.precision_recall(x, np.repeat(x[:20], 10, axis=0))
    assert precision == 1.0 and recall < 0.5


def test_separability_near_zero_for_a_planted_linear_attribute_and_near_one_for_a_random_one():
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(2000, 8, generator=g, dtype=torch.float64)
    planted = latents @ torch.linspace(-1, 1, 8, dtype=torch.float64) > 0.2
    assert maths.separability(latents, planted, keep=1.0) < 0.1
    random_labels = torch.rand(2000, generator=g) > 0.5
    assert maths.separability(latents, random_labels, keep=1.0) > 0.9  # the maximum is 1 bit
    assert maths.conditional_entropy(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1])) == pytest.approx(1.0)


def _tiny_domain_net() -> FeatureNet:
    torch.manual_seed(0)
    clf = AttributeClassifier(ClassifierConfig("faces")).eval().requires_grad_(False)
    return FeatureNet("test", clf.feature_dim, clf.features, clf.feature_maps, "test")


def test_path_length_is_zero_for_a_generator_that_ignores_its_latent(tmp_path):
    G, meta = load_generator(make_tiny_checkpoint(tmp_path / "g"))
    net = _tiny_domain_net()
    moving = evaluate.path_lengths(G, meta, net, 16, "z")
    assert (moving > 0).all()
    with torch.no_grad():
        G.net[0].weight.zero_()  # the first layer now maps every z to 0: a constant image
    for space in ("z", "w"):
        d = evaluate.path_lengths(G, meta, net, 16, space)
        assert maths.path_length(d, evaluate.PPL_EPSILON) == 0.0


def test_fid_refuses_a_singular_covariance_and_says_what_to_use():
    x = np.random.default_rng(0).normal(size=(50, 64))
    with pytest.raises(maths.SampleCountError, match=r"more than 64 samples.*KID"):
        maths.fid(x, x)


def test_run_refuses_too_few_samples_before_making_any_image(tmp_path):
    path = make_tiny_checkpoint(tmp_path / "g")
    with pytest.raises(maths.SampleCountError, match="--n .* or more, or KID"):
        evaluate.run(evaluate.Job(str(path), ("fid",), n=60, nets=("domain",)))
    assert not (tmp_path / "cache").exists()  # nothing was computed or cached


# ---------------------------------------------------------------- feature networks

def test_inception_needs_a_local_file():
    with pytest.raises(FeatureNetError, match="--inception PATH"):
        load_feature_net("inception")
    with pytest.raises(FeatureNetError, match="do not exist"):
        load_feature_net("inception", inception_path="/nonexistent/inception-2015-12-05.pt")


def test_lite0_features_and_pyramid_for_small_gray_images():
    pytest.importorskip("efficientnet_lite_pytorch")
    net = load_feature_net("lite0")
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    with torch.inference_mode():
        f = net.features(x)
        maps = net.pyramid(x)
    assert f.shape == (2, 1280) and torch.isfinite(f).all()
    assert [m.shape[-1] for m in maps] == [112, 56, 28, 14, 7]


def test_lite0_channels_last_agrees_with_the_reference_layout():
    pytest.importorskip("efficientnet_lite_pytorch")
    from explorer.metrics.features import lite0

    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.inference_mode():
        fast, ref = lite0(channels_last=True), lite0(channels_last=False)
        torch.testing.assert_close(fast.features(x), ref.features(x), atol=1e-4, rtol=1e-4)
        for a, b in zip(fast.pyramid(x), ref.pyramid(x)):
            torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_domain_net_only_for_built_in_data():
    with pytest.raises(FeatureNetError, match="--net lite0"):
        load_feature_net("domain", dataset="/some/folder")
    assert load_feature_net("domain", dataset="mnist").name == "domain:mnist"


# ---------------------------------------------------------------- CLI and card

def test_cli_appends_rows_to_the_card_and_caches_real_features(tmp_path, capsys):
    path = make_tiny_checkpoint(tmp_path / "g")
    before = read_meta(path)
    assert main(["--model", str(path), "--metric", "fid,kid,pr,ppl,sep", "--n", "120", "--net", "domain"]) == 0
    out = capsys.readouterr().out
    assert "fid" in out and "domain:faces" in out
    card = json.loads(path.read_text())
    assert {k: card[k] for k in before} == before  # every other field as it was
    rows = card["metrics"]
    assert {r["metric"] for r in rows} == {"fid", "kid", "precision", "recall", "ppl_z", "ppl_w", "sep_z", "sep_w"}
    for r in rows:
        assert r["n_fake"] == 120 and r["date"].endswith("Z") and r["kimg"] == 1 and math.isfinite(r["value"])
        assert r["net"].startswith("domain:faces")
    sep = next(r for r in rows if r["metric"] == "sep_w")["details"]
    assert set(sep["per_attribute"]) == set(sep["label_entropy"]) >= {"smile", "glasses"}
    assert all(0 <= sep["per_attribute"][k] <= sep["label_entropy"][k] + 0.05 for k in sep["per_attribute"])
    assert len(list((tmp_path / "cache" / "metrics").glob("faces-16px-3ch-domain-faces-*-n120.npy"))) == 1
    load_generator(path)  # the card still opens as a checkpoint
    # A second run adds to the history; --no-save leaves it alone.
    assert main(["--model", str(path), "--metric", "kid", "--n", "50", "--net", "domain"]) == 0
    assert main(["--model", str(path), "--metric", "kid", "--n", "50", "--net", "domain", "--no-save"]) == 0
    assert [r["metric"] for r in evaluate.history(path)][-1] == "kid" and len(evaluate.history(path)) == 9


def test_reference_compares_two_disjoint_halves_of_the_real_data(tmp_path, capsys):
    path = make_tiny_checkpoint(tmp_path / "g")
    assert main(["--model", str(path), "--metric", "kid,pr", "--n", "150", "--net", "domain", "--reference"]) == 0
    assert "one half against the other" in capsys.readouterr().out
    card = json.loads(path.read_text())
    ref = {r["metric"]: r for r in card["reference"]}
    assert set(ref) == {"kid", "precision", "recall"} and "reference" not in {r.get("against") for r in card["metrics"]}
    assert all(r["n_real"] == r["n_fake"] == 150 and r["net"] == "domain:faces" for r in ref.values())
    # Two halves of one distribution: KID near zero, far below the untrained model's; precision and
    # recall high.
    model = {r["metric"]: r["value"] for r in card["metrics"]}
    assert abs(ref["kid"]["value"]) < 0.2 * model["kid"]
    assert ref["precision"]["value"] > 0.6 and ref["recall"]["value"] > 0.6
    # The halves are disjoint: 300 real images cached, split even/odd.
    feats = np.load(next((tmp_path / "cache" / "metrics").glob("faces-16px-3ch-domain-faces-*-n300.npy")))
    assert len(feats) == 300 and len({f.tobytes() for f in feats}) == 300
    # The model's 150 real images were the cached 300's first 150, and they are what a fresh
    # computation of 150 gives (image i of the faces is the same whatever the count).
    assert not list((tmp_path / "cache" / "metrics").glob("*-n150.npy"))
    net = load_feature_net("domain", dataset="faces")
    prefix = evaluate.real_features("faces", 16, 3, net, 150)
    for f in (tmp_path / "cache" / "metrics").glob("*-n300.npy"):
        f.unlink()
    np.testing.assert_allclose(prefix, evaluate.real_features("faces", 16, 3, net, 150), atol=1e-5)


def test_cli_refusal_is_a_sentence_and_exit_code_2(tmp_path, capsys):
    path = make_tiny_checkpoint(tmp_path / "g")
    assert main(["--model", str(path), "--metric", "fid", "--n", "50", "--net", "domain"]) == 2
    assert "KID" in capsys.readouterr().err
    assert main(["--model", "no-such-model", "--weights", str(tmp_path)]) == 2
    assert main(["--model", str(path), "--metric", "bogus"]) == 2
    assert "metrics" not in json.loads(path.read_text())


def test_history_follows_a_runs_snapshots(tmp_path):
    snaps = tmp_path / "run" / "snapshots"
    for i, kimg in enumerate([1.0, 2.0]):
        p = make_tiny_checkpoint(snaps / f"snapshot-{i:06d}", train={"kimg": kimg, "data": "faces"})
        evaluate.append_to_card(p, [{"metric": "kid", "value": 0.1 / (i + 1), "net": "x", "kimg": kimg}])
    rows = evaluate.history(snaps / "snapshot-000000.json")
    assert [(r["kimg"], r["snapshot"]) for r in rows] == [(1.0, "snapshot-000000"), (2.0, "snapshot-000001")]


def test_projected_models_get_the_domain_network_beside_the_imagenet_one(monkeypatch):
    monkeypatch.delenv("GAN_EXPLORER_INCEPTION", raising=False)
    projected = {"arch": "fastgan", "train": {"recipe": "projected", "data": "faces"}}
    assert evaluate.default_nets(projected) == ["lite0", "domain"]
    assert evaluate.default_nets(projected, inception_path="/x/inception-2015-12-05.pt") == ["inception", "domain"]
    assert evaluate.default_nets({"arch": "stylegan", "train": {"recipe": "stylegan2", "data": "faces"}}) == ["lite0"]
    assert evaluate.default_nets({"arch": "fastgan", "train": {"recipe": "projected", "data": "/my/photos"}}) == ["lite0"]


def test_generated_images_are_quantized_like_real_ones():
    from explorer.images import to_uint8

    img = torch.tensor([-3.0, -1.0, -0.3, 0.0, 0.51, 1.0, 2.5]).view(1, 1, 1, 7)
    q = evaluate.quantize(img)
    assert q.min() >= -1 and q.max() <= 1
    torch.testing.assert_close(q, torch.from_numpy(to_uint8(img)).permute(0, 3, 1, 2).float() / 127.5 - 1)
