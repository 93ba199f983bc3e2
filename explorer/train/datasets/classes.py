"""Classes for conditional training: which class each image is, and the classes' names.

MNIST's classes are its digits ("0" to "9"), emoji's its categories (face, animal, food); the procedural faces
have none (their labels are factors that every face has). A folder or .zip of images has classes only when
conditional training asks for them: one sub-folder per class, named by the sub-folder, classes in the order
of their names. An image's class is the first folder at which the images' paths part ways, so a zip of one
folder (pets/cat/..., pets/dog/...) has the classes cat and dog, as the same folder given unzipped does.
Everything here reads file names only, so a job is refused before it starts, without decoding an image."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from ...models.classes import MAX_CLASSES, MAX_NAME
from .base import IMAGE_EXTENSIONS, DatasetError
from .emoji import CATEGORIES

MIN_CLASSES = 2  # one class is an unconditional model with an extra input
BUILTIN_CLASSES = {"mnist": [str(d) for d in range(10)], "emoji": list(CATEGORIES)}  # in label order
NO_CLASSES = {"faces": "The procedural faces have no classes: their labels are factors (head shape, smile, glasses, "
                       "colours...) that every face has, not one class per image."}
HOW = ("Conditional training needs one class per image: use mnist (digits), emoji (face, animal, food) or a folder "
       "or .zip with one sub-folder of images per class; or train without the conditional option.")


def listed(name: str) -> bool:
    """Whether a folder's or zip's member is one of its images (not hidden, not macOS's __MACOSX copies)."""
    p = PurePosixPath(name.replace("\\", "/"))
    return not p.name.startswith(".") and (not p.parts or p.parts[0] != "__MACOSX")


def split_classes(names: list[str], source: str) -> tuple[list[int], list[str]]:
    """([class index per image], [class names, sorted]) from the images' paths inside `source` (relative,
    "/" or "\\" separated). DatasetError, saying what to change, when they do not make two classes or more."""
    parts = [PurePosixPath(n.replace("\\", "/")).parts for n in names]
    # A folder that holds every image (a zipped folder) is no class of its own: look inside it.
    while parts and all(len(p) > 2 for p in parts) and len({p[0] for p in parts}) == 1:
        parts = [p[1:] for p in parts]
    loose = [n for n, p in zip(names, parts) if len(p) < 2]
    if loose and len(loose) == len(names):
        raise DatasetError(f"{source} has no sub-folders, so its images have no classes. {HOW}")
    if loose:
        raise DatasetError(f"{len(loose)} image(s) in {source} lie outside any class sub-folder (e.g. {loose[0]}); "
                           "move each into the sub-folder of its class, or remove them.")
    classes = sorted({p[0] for p in parts})
    if len(classes) < MIN_CLASSES:
        raise DatasetError(f"{source} holds one class only (its images are all in {classes[0]!r}); conditional "
                           f"training needs at least {MIN_CLASSES} sub-folders, one per class, or train without the "
                           "conditional option.")
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"{source} has {len(classes)} sub-folders; a conditional model takes at most {MAX_CLASSES} "
                           "classes.")
    long = [c for c in classes if len(c) > MAX_NAME]
    if long:
        raise DatasetError(f"The sub-folder name {long[0][:40]!r}... is longer than {MAX_NAME} characters; a class "
                           "is named by its sub-folder, so rename it.")
    index = {c: i for i, c in enumerate(classes)}
    return [index[p[0]] for p in parts], classes


def image_names(path: Path) -> list[str]:
    """The images' paths inside a folder (recursively) or .zip, by name only, in the order they load."""
    if path.is_dir():
        return [str(f.relative_to(path)) for f in sorted(path.rglob("*"))
                if f.is_file() and f.suffix.lower() in IMAGE_EXTENSIONS and listed(f.name)]
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as e:
        raise DatasetError(f"{path} is not a readable .zip file ({e}); give a folder of images or a valid zip.") from None
    return [i.filename for i in infos if not i.is_dir() and listed(i.filename)
            and PurePosixPath(i.filename).suffix.lower() in IMAGE_EXTENSIONS]


def class_names_of(spec: str | Path) -> list[str]:
    """The classes a conditional run on `spec` gets ("mnist", "emoji", a folder or a .zip), from names alone;
    DatasetError with what to do where it has none (the faces, a flat folder, a folder of one class)."""
    if str(spec) in BUILTIN_CLASSES:
        return list(BUILTIN_CLASSES[str(spec)])
    if str(spec) in NO_CLASSES:
        raise DatasetError(f"{NO_CLASSES[str(spec)]} {HOW}")
    path = Path(spec)
    names = image_names(path)
    if not names:
        raise DatasetError(f"No image in {path}; put PNG, JPEG, WebP, BMP, GIF or TIFF images in one sub-folder per "
                           "class.")
    return split_classes(names, str(path))[1]
