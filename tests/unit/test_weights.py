"""Checkpoints: save -> load round trip, clear errors for broken files, atomic writes."""

import json
import os

import pytest
import torch

from explorer import fsutil
from explorer.models import build_generator
from explorer.weights import CheckpointError, list_checkpoints, load_generator, save_generator

CFG = {"res": 16, "channels": 1, "ngf": 8, "ndf": 8, "z_dim": 16}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    G = build_generator("dcgan", CFG)
    # Non-trivial batch-norm statistics, so a lost buffer would show in the output.
    with torch.no_grad():
        G.train()(torch.randn(32, 16) * 3)
    G.eval()
    path = save_generator(tmp_path / "w" / "tiny", G, "dcgan", CFG, {"kimg": 1.5, "data": "faces"})
    return G, path


def test_round_trip_gives_identical_output(saved):
    G, path = saved
    assert path.suffix == ".json" and path.with_suffix(".safetensors").is_file()
    H, meta = load_generator(path)
    assert meta["arch"] == "dcgan" and meta["train"]["kimg"] == 1.5 and meta["format"] == 1
    assert not H.training and not any(p.requires_grad for p in H.parameters())
    z = torch.randn(4, 16)
    with torch.no_grad():
        assert torch.equal(G(z), H(z))
    # The .safetensors path and the bare stem open the same checkpoint.
    assert load_generator(path.with_suffix(".safetensors"))[1] == meta
    assert load_generator(path.with_suffix(""))[1] == meta


def _break(path, how):
    st = path.with_suffix(".safetensors")
    if how == "no_json":
        path.unlink()
    elif how == "bad_json":
        path.write_text("{not json")
    elif how == "foreign_json":
        path.write_text(json.dumps({"hello": 1}))
    elif how == "unknown_arch":
        meta = json.loads(path.read_text())
        path.write_text(json.dumps({**meta, "arch": "biggan"}))
    elif how == "bad_config":
        meta = json.loads(path.read_text())
        path.write_text(json.dumps({**meta, "config": {**meta["config"], "res": 48}}))
    elif how == "other_model":
        meta = json.loads(path.read_text())
        path.write_text(json.dumps({**meta, "config": {**meta["config"], "ngf": 16}}))
    elif how == "no_tensors":
        st.unlink()
    elif how == "garbage_tensors":
        st.write_bytes(os.urandom(256))


@pytest.mark.parametrize("how,msg", [
    ("no_json", "is missing"), ("bad_json", "not valid JSON"), ("foreign_json", "not a GAN Explorer checkpoint"),
    ("unknown_arch", "biggan"), ("bad_config", "invalid config"), ("other_model", "does not match"),
    ("no_tensors", "is missing"), ("garbage_tensors", "not a readable safetensors"),
])
def test_broken_checkpoints_raise_clear_errors(saved, how, msg):
    _, path = saved
    _break(path, how)
    with pytest.raises(CheckpointError, match=msg):
        load_generator(path)


def test_listing_skips_broken_entries_and_finds_run_snapshots(saved, tmp_path):
    _, path = saved
    wdir = path.parent
    (wdir / "broken.json").write_text("{")
    runs = tmp_path / "runs"
    G = build_generator("dcgan", CFG)
    save_generator(runs / "myrun" / "snapshots" / "snapshot-000001", G, "dcgan", CFG, {"kimg": 1})
    save_generator(runs / "myrun" / "snapshots" / "snapshot-000002", G, "dcgan", CFG, {"kimg": 2})
    entries = list_checkpoints(wdir, runs)
    assert [(e.name, e.source) for e in entries] == [("tiny", "shipped"), ("run: myrun", "run")]
    assert entries[1].path.endswith("snapshot-000002.json") and entries[1].kimg == 2
    assert entries[0].res == 16 and entries[0].channels == 1
    assert list_checkpoints(tmp_path / "nowhere", None) == []


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    fsutil.atomic_write_bytes(target, b"old")

    def crash(src, dst):
        raise KeyboardInterrupt  # a kill between the write and the rename

    monkeypatch.setattr(fsutil.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        fsutil.atomic_write_bytes(target, b"new" * 1000)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no temp file left behind
