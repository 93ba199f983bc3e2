"""Images from a folder or a .zip on disk, and zips uploaded from a browser, with limits that refuse a
decompression bomb instead of loading it."""

from __future__ import annotations

import io
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
import numpy as np
from PIL import Image
import torch

from .base import BUILTIN, IMAGE_EXTENSIONS, MAX_IMAGE_PIXELS, DatasetError, ImageDataset, _fit, _to_tensor
from .classes import listed, split_classes



# Limits for untrusted folders and zips: a decompression bomb is refused, not loaded.
MAX_ZIP_MEMBERS = 200_000
MAX_MEMBER_BYTES = 64 * 1024 * 1024     # per decompressed zip member
MAX_ZIP_TOTAL_BYTES = 4 * 1024**3       # all decompressed members together
MAX_COMPRESSION_RATIO = 200             # decompressed / compressed, per member
# Zips uploaded from a browser are checked harder (extract_upload): any unsafe member refuses the whole file.
UPLOAD_MAX_MEMBERS = 50_000
UPLOAD_MAX_TOTAL_BYTES = 1024**3        # all decompressed members together


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
            if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS and listed(f.name):
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
            if PurePosixPath(info.filename).suffix.lower() not in IMAGE_EXTENSIONS or not listed(info.filename):
                continue  # not an image, or hidden (macOS's ._ and __MACOSX copies), as in a folder
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


def load_image_files(path: str | Path, res: int, channels: int = 3, classes: bool = False) -> ImageDataset:
    """Every image in a folder (recursively) or .zip, centre-cropped and resized to res; with classes, each
    image's class from its sub-folder (datasets/classes.py), DatasetError when they make fewer than two."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"Dataset path {str(path)!r} does not exist; give a folder or .zip of images, "
                           f"or one of the built-in datasets: {', '.join(BUILTIN)}.")
    if path.is_file() and path.suffix.lower() != ".zip":
        raise DatasetError(f"{path} is a file but not a .zip; give a folder or .zip of images.")
    arrays, skipped, examples, names = _read_images(path, res, channels)
    ds = ImageDataset(_to_tensor(arrays), str(path), skipped=skipped, skipped_examples=examples,
                      licence=f"images from {path} (their own licence)")
    if classes:
        index, class_names = split_classes(names, str(path))
        ds.classes, ds.class_names = torch.tensor(index, dtype=torch.int64), tuple(class_names)
    return ds


def _read_images(path: Path, res: int, channels: int, first_only: bool = False) -> tuple[list, int, list[str], list[str]]:
    """(decoded arrays, files skipped, a few "file: reason" lines, the decoded files' names) of a folder or
    .zip; first_only stops at the first image that decodes. DatasetError when none does."""
    old_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    arrays, skipped, examples, names = [], 0, [], []
    try:
        for name, data, why in _iter_sources(path):
            if data is not None:
                try:
                    arrays.append(_decode(data, res, channels))
                    names.append(name)
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
    return arrays, skipped, examples, names


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
                   max_members: int = UPLOAD_MAX_MEMBERS, max_pixels: int = MAX_IMAGE_PIXELS,
                   classes: bool = False) -> UploadReport:
    """Check an untrusted zip and write its images into the new folder `dest` as 000000.png, 000001.jpg, ...
    (with classes: dest/CLASS/000000.png, ..., CLASS the image's class sub-folder in the zip, refused as
    load_image_files refuses a zip without two classes or more).

    Refused with a DatasetError that names the problem: not a zip; a member with an absolute path,
    "..", a drive letter or a symbolic link; more than max_members members; a member or the whole
    archive decompressing past its limit or at a bomb-like ratio (the bytes actually decompressed
    are counted); an image over max_pixels; no readable image at all. Undecodable images are
    skipped and counted. Only generated names are written (and the class folders, each one part of a
    checked member path), only under `dest`, and on any error `dest` is removed: a refused upload leaves
    nothing behind."""
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
    folder_of: dict[str, str] = {}  # member name -> its class folder (with classes)
    if classes:
        names = [i.filename for i in infos if not i.is_dir() and listed(i.filename)
                 and PurePosixPath(i.filename).suffix.lower() in IMAGE_EXTENSIONS]
        index, class_names = split_classes(names, zip_path.name)
        folder_of = {n: class_names[k] for n, k in zip(names, index)}
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
                    folder = dest / folder_of[name] if classes else dest
                    folder.mkdir(exist_ok=True)
                    (folder / f"{report.images:06d}{ext}").write_bytes(data)
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
