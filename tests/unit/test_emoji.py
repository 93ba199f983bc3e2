"""The built-in emoji dataset: Noto Color Emoji glyphs drawn with Pillow (explorer/train/datasets/emoji.py), shipped
as an atlas so no font is needed to train; the tests that draw from the font itself need Debian's font."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.train.datasets import emoji
from explorer.train.datasets import BUILTIN, DatasetError, load_dataset

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture
def font():
    """The installed font: skipped without it, except in CI, where it must be there."""
    if not emoji.FONT_PATH.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{emoji.FONT_PATH} is absent and CI is set: install it with `{emoji.INSTALL}`.")
        pytest.skip(f"{emoji.FONT_PATH} is absent; install it with `{emoji.INSTALL}`")
    return emoji.open_font()


@pytest.fixture(scope="module")
def emoji32():
    return load_dataset("emoji", 32)


def test_shapes_range_labels_and_licence(emoji32):
    ds = emoji32
    assert "emoji" in BUILTIN
    n = len(ds)
    assert ds.images.shape == (n, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.label_names == ("face", "animal", "food")
    assert ds.labels.shape == (n, 3) and torch.equal(ds.labels.sum(1), torch.ones(n))  # one-hot
    assert ds.licence == "Noto Color Emoji, SIL Open Font License 1.1, via Debian fonts-noto-color-emoji"
    assert ds.images.min() < 30 and ds.images.max() == 255  # dark outlines and a white background


def test_count_is_every_listed_glyph_the_font_has(emoji32, font):
    listed = emoji.emoji_codepoints()
    present = [cp for cp, _ in listed if emoji.render_glyph(font, cp) is not None]
    assert len(emoji32) == len(present)
    # Debian's font has (nearly) all of them: 333 with the 2023 font; each category keeps about a hundred.
    assert len(present) >= 0.95 * len(listed) and len(present) >= 300
    assert emoji32.labels.sum(0).min() >= 90


def test_missing_glyphs_are_detected(font):
    assert emoji.render_glyph(font, 0x1F600) is not None          # grinning face
    for cp in (0x10FFFD, 0x0378, 0x1F3FB - 0x1000):                # private use, unassigned, unassigned
        assert emoji.render_glyph(font, cp) is None


def test_images_are_centred_colourful_and_all_different(emoji32):
    x = emoji32.images.float()                                     # [N, 3, 32, 32]
    corners = torch.stack([x[:, :, 0, 0], x[:, :, 0, -1], x[:, :, -1, 0], x[:, :, -1, -1]], 1)
    assert corners.min() >= 250                                    # the margin is white on every image
    inked = (x.amin(1) < 200).float().mean((1, 2))                 # [N] share of pixels that are not near-white
    assert inked.min() > 0.05 and inked.median() > 0.4             # no blank or white image
    saturation = x.amax(1) - x.amin(1)                             # [N, 32, 32] max - min over RGB
    colourful = (saturation > 60).float().mean((1, 2))             # [N] share of strongly coloured pixels
    # Some are black and white or muted by design (panda, zebra, rice, brown animals); most are bright.
    assert (colourful > 0.05).float().mean() > 0.8 and colourful.median() > 0.25
    centre = x[:, :, 8:24, 8:24].mean((1, 2, 3))
    assert (centre < 230).float().mean() > 0.9                     # the glyph fills the middle
    flat = emoji32.images.flatten(1)
    assert torch.unique(flat, dim=0).shape[0] == len(flat)         # no two renderings alike
    gray = load_dataset("emoji", 16, channels=1, size=8)
    assert gray.images.shape == (8, 1, 16, 16)


def test_rendering_is_deterministic(emoji32):
    again = load_dataset("emoji", 32)
    assert torch.equal(again.images, emoji32.images) and torch.equal(again.labels, emoji32.labels)


def test_the_shipped_glyphs_are_exactly_what_the_font_draws(font):
    """The atlas in explorer/train/datasets/builtin is the font's glyphs, pixel for pixel, in the same order with
    the same categories, so a model trained on either saw the same data."""
    drawn, shipped = emoji.font_glyphs(), emoji.shipped_glyphs()
    assert [(cp, cat) for cp, cat, _ in drawn] == [(cp, cat) for cp, cat, _ in shipped]
    for (cp, _, a), (_, _, b) in zip(drawn, shipped):
        assert a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b)), hex(cp)
    from_font, _, _ = emoji.make_emoji(16, font_path=emoji.FONT_PATH)
    assert np.array_equal(from_font, emoji.make_emoji(16)[0])


def test_the_atlas_round_trips_and_a_damaged_one_says_how_to_restore_it(tmp_path):
    glyphs = emoji.shipped_glyphs()[:7]
    atlas = tmp_path / "atlas.png"
    emoji.write_atlas(glyphs, atlas, source="test")
    again = emoji.shipped_glyphs(atlas)
    assert [(cp, cat) for cp, cat, _ in again] == [(cp, cat) for cp, cat, _ in glyphs]
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for (_, _, a), (_, _, b) in zip(glyphs, again))
    assert not list(tmp_path.glob("*.tmp"))
    data = bytearray(atlas.read_bytes())
    data[-40] ^= 0xFF
    atlas.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="damaged.*checksum.*git checkout -- explorer/train/datasets/builtin"):
        emoji.shipped_glyphs(atlas)
    atlas.unlink()
    with pytest.raises(DatasetError, match="missing or damaged.*restore them"):
        emoji.shipped_glyphs(atlas)


def test_missing_or_broken_font_says_how_to_install(tmp_path):
    """Only the atlas script draws from the font; it names the package to install."""
    with pytest.raises(DatasetError, match="apt-get install fonts-noto-color-emoji"):
        emoji.font_glyphs(tmp_path / "NotoColorEmoji.ttf")
    (tmp_path / "NotoColorEmoji.ttf").write_bytes(b"not a font")
    with pytest.raises(DatasetError, match="cannot be read.*--reinstall fonts-noto-color-emoji"):
        emoji.font_glyphs(tmp_path / "NotoColorEmoji.ttf")


def test_cli_trains_on_emoji_and_records_the_font_licence(tmp_path):
    run = tmp_path / "run"
    res = subprocess.run([sys.executable, "-m", "explorer.train", "--recipe", "dcgan", "--data", "emoji",
                          "--data-size", "32", "--res", "16", "--ngf", "8", "--ndf", "8", "--z-dim", "16",
                          "--batch", "8", "--kimg", "0.016", "--tick-kimg", "0.016", "--num-samples", "4",
                          "--threads", "1", "--no-progress", "--out", str(run)],
                         cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    assert "emoji (32 images, 3x16x16)" in res.stdout + res.stderr
    train = json.loads(sorted((run / "snapshots").glob("*.json"))[-1].read_text())["train"]
    assert train["data"] == "emoji" and train["dataset_licence"] == emoji.LICENCE


def test_train_tab_jobs_accept_emoji(tmp_path):
    from explorer.train.jobs import JobManager, JobSpec

    cfg = JobManager(tmp_path, allow_server_paths=False).validate(JobSpec("projected", "emoji", 64, 1.0))
    assert (cfg.data, cfg.channels, cfg.res) == ("emoji", 3, 64)


def test_the_dataset_needs_no_font(tmp_path, monkeypatch):
    """A laptop or a Space with no Debian font trains on the shipped glyphs."""
    monkeypatch.setattr(emoji, "FONT_PATH", tmp_path / "NotoColorEmoji.ttf")
    ds = load_dataset("emoji", 16, size=12)
    assert ds.images.shape == (12, 3, 16, 16) and ds.labels.shape == (12, 3)
