"""Attribute classifiers: shapes and input handling, save/load, and the shipped ones really classify."""

from __future__ import annotations

import json

import pytest
import torch

from explorer.attributes import (CLASSIFIER_DIR, AttributeClassifier, ClassifierConfig, ClassifierError, binarize,
                                 load_classifier, save_classifier)
from explorer.train.datasets.faces import FACTOR_NAMES, FACTORS, make_faces


def _faces(n: int, res: int, seed: int):
    imgs, labels = make_faces(n, res, seed=seed)
    return torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1, torch.from_numpy(labels)


def test_faces_classifier_shapes_at_any_size_and_channel_count():
    torch.manual_seed(0)
    clf = AttributeClassifier(ClassifierConfig("faces")).eval()
    for shape in [(2, 3, 64, 64), (2, 3, 16, 16), (2, 1, 32, 32)]:
        pred = clf.predict(torch.rand(shape) * 2 - 1)
        assert list(pred) == list(FACTOR_NAMES)
        assert all(p.shape == (2,) and ((0 <= p) & (p <= 1)).all() for p in pred.values())
    maps = clf.feature_maps(torch.zeros(3, 3, 64, 64))
    assert [tuple(m.shape) for m in maps] == [(3, 32, 16, 16), (3, 64, 8, 8), (3, 96, 4, 4)]
    assert clf.features(torch.zeros(3, 3, 64, 64)).shape == (3, clf.feature_dim)


def test_mnist_classifier_gives_class_probabilities_and_one_vs_rest_attributes():
    clf = AttributeClassifier(ClassifierConfig("mnist", channels=1)).eval()
    pred = clf.predict(torch.zeros(4, 3, 32, 32))  # RGB input is converted to gray
    assert pred["digit"].shape == (4, 10)
    torch.testing.assert_close(pred["digit"].sum(1), torch.ones(4))
    labels = binarize(pred)
    assert sorted(labels) == sorted(f"digit={k}" for k in range(10))
    label, conf = labels["digit=3"]
    assert label.dtype == torch.bool and conf.shape == (4,)


def test_binarize_splits_at_one_half_with_confidence():
    labels, conf = binarize({"smile": torch.tensor([0.1, 0.5, 0.9])})["smile"]
    assert labels.tolist() == [False, False, True]
    torch.testing.assert_close(conf, torch.tensor([0.8, 0.0, 0.8]))


def test_save_load_round_trip_keeps_predictions(tmp_path):
    torch.manual_seed(1)
    clf = AttributeClassifier(ClassifierConfig("faces")).eval()
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    path = save_classifier(tmp_path / "c", clf, {"command": "test"})
    back = load_classifier(str(path))
    assert back.card["train"]["command"] == "test"
    for name, p in clf.predict(x).items():
        torch.testing.assert_close(back.predict(x)[name], p, atol=2e-3, rtol=0)  # stored as float16


def test_missing_classifier_says_how_to_train_it(tmp_path):
    with pytest.raises(ClassifierError, match="python -m explorer.attributes --data faces"):
        load_classifier("faces", folder=tmp_path)
    (tmp_path / "x.json").write_text(json.dumps({"format": 1, "arch": "dcgan"}))
    (tmp_path / "x.safetensors").write_bytes(b"")
    with pytest.raises(ClassifierError):
        load_classifier("x", folder=tmp_path)


@pytest.mark.parametrize("name", ["faces", "mnist"])
def test_shipped_classifier_card_records_command_and_accuracy(name):
    card = json.loads((CLASSIFIER_DIR / f"{name}.json").read_text())
    assert card["train"]["command"].startswith("python -m explorer.attributes")
    assert card["train"]["held_out"]
    assert (CLASSIFIER_DIR / f"{name}.safetensors").stat().st_size < 1_000_000


def test_shipped_faces_classifier_reads_fresh_faces():
    clf = load_classifier("faces")
    x, y = _faces(200, 64, seed=123)  # seeds no classifier saw
    with torch.inference_mode():
        pred = clf.predict(x)
    for j, name in enumerate(FACTOR_NAMES):
        if FACTORS[name].kind == "binary":
            acc = ((pred[name] > 0.5).float() == y[:, j]).float().mean()
            assert acc > 0.85, (name, float(acc))
        else:
            assert (pred[name] - y[:, j]).abs().mean() < 0.12, name


def test_shipped_mnist_classifier_reads_digits():
    from explorer.train.datasets import load_mnist

    ds = load_mnist(32, 1)
    clf = load_classifier("mnist")
    with torch.inference_mode():
        pred = clf.predict(ds.batch(torch.arange(0, 5000, 25)))["digit"]  # 200 digits, train and held-out
    assert (pred.argmax(1) == ds.labels[::25, 0].long()).float().mean() > 0.95
