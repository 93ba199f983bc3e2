"""The shipped faces part segmenter (explorer/attributes/parts.py): it sees the parts of faces it never
saw in training about as its card says, and a dissection of a shipped faces model finds units that draw
them, from the command line, saved beside a copy of the model."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from explorer import paths
from explorer.attributes import ClassifierError
from explorer.attributes.parts import iou_per_part, load_segmenter
from explorer.train.datasets.faces import PARTS, make_face_parts, make_faces


@pytest.fixture(scope="module")
def seg():
    return load_segmenter()


def test_the_shipped_segmenter_sees_unseen_faces_parts_as_its_card_says(seg):
    assert seg.cfg.parts == list(PARTS)
    imgs, _ = make_faces(64, 64, seed=977)                                 # seeds neither training nor its test used
    truth = torch.from_numpy(make_face_parts(64, 64, seed=977)).argmax(1)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.inference_mode():
        cov = seg.coverage(x)
    assert cov.shape == (64, len(PARTS), 64, 64)
    assert torch.allclose(cov.sum(1), torch.ones(64, 64, 64), atol=1e-4)
    iou = iou_per_part(cov.argmax(1), truth, seg.cfg.parts)
    card = seg.card["train"]["held_out"]["iou"]
    for part in ("background", "skin", "hair", "eyes", "mouth"):
        assert iou[part] > card[part] - 0.08, (part, iou[part], card[part])
    assert iou["background"] > 0.95 and iou["hair"] > 0.9 and iou["skin"] > 0.8


def test_a_32_px_picture_is_segmented_through_the_same_resize(seg):
    imgs, _ = make_faces(4, 32, seed=5)
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.inference_mode():
        cov = seg.coverage(x)
    assert cov.shape == (4, len(PARTS), 32, 32)
    truth = torch.from_numpy(make_face_parts(4, 32, seed=5)).argmax(1)
    assert (cov.argmax(1) == truth).float().mean() > 0.85


def test_a_missing_segmenter_says_how_to_train_one(tmp_path):
    with pytest.raises(ClassifierError, match="python -m explorer.attributes.parts --out"):
        load_segmenter(tmp_path / "nothing.json")


def test_dissecting_a_shipped_faces_model_from_the_command_line(tmp_path, capsys):
    from explorer.inspect.__main__ import main
    from explorer.inspect.dissect import Dissection

    for suffix in (".json", ".safetensors"):
        shutil.copy(paths.WEIGHTS / f"stylegan2-faces{suffix}", tmp_path / f"faces{suffix}")
    assert main(["dissect", "--model", str(tmp_path / "faces.json"), "--layer", "b16.conv1", "--samples", "32"]) == 0
    out = json.loads(capsys.readouterr().out)
    d = Dissection.load(tmp_path / "faces.dissect" / "b16.conv1.json")
    assert out["layer"] == "b16.conv1" and d.samples == 32 and len(d.iou) == 64
    # Some unit fires where the model draws each of hair and eyes far more than a unit firing on its top 1 %
    # of pixels at random would: chance IoU = q h / (q + h - q h) for a part covering h of the picture.
    from explorer.inspect.dissect import part_areas
    from explorer.inspect.model import seed_latents, synthesizer
    from explorer.weights import load_generator

    G, meta = load_generator(tmp_path / "faces.json")
    with torch.inference_mode():
        imgs = synthesizer(G, meta)(seed_latents(G)(list(range(16))))
    seg = load_segmenter()
    share = {p: np.mean([part_areas(seg, imgs[i:i + 1])[p] for i in range(16)]) for p in ("hair", "eyes")}
    q = 1 - d.quantile
    for part, h in share.items():
        chance = q * h / (q + h - q * h)
        assert d.best(part, 1)[0][1] > 2.5 * chance, (part, d.best(part, 1), chance)
    assert np.isfinite(np.asarray(d.iou)).all()
    with pytest.raises(SystemExit, match="no part masks"):
        main(["dissect", "--model", "dcgan-mnist", "--layer", "b4.act", "--samples", "4"])

