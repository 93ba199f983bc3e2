"""What every data set is: an ImageDataset (uint8 images, optional labels, a licence), the error its loaders
raise, and the seeded epoch sampler. Imports nothing else of the package, so every loader can import it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image, ImageOps

BUILTIN = ("mnist", "faces", "emoji")  # the data sets that ship with the project (or are drawn by it)
MAX_IMAGE_PIXELS = 64 * 1024 * 1024      # per decoded image: a decompression bomb is refused, not loaded


IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}  # what a folder or zip is read for


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
    classes: torch.Tensor | None = None  # int64 [N] each image's class, for conditional training; None = no classes
    class_names: tuple[str, ...] = ()    # each class's name, in index order (MNIST "0".."9", a folder's sub-folders)

    def __post_init__(self):
        assert self.images.dtype == torch.uint8 and self.images.ndim == 4, "images must be uint8 [N, C, H, W]"
        if self.classes is not None:
            assert self.classes.dtype == torch.int64 and self.classes.shape == self.images.shape[:1], \
                "classes must be int64 [N]"
            assert len(self.class_names) > int(self.classes.max()), "every class needs a name"

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
