"""A checkpoint's tensors, taken one by one into our state dict, so that whatever no layer took can be
named afterwards: a tensor we have no place for means an architecture variant we would convert wrongly."""

from __future__ import annotations

from typing import Callable

import torch

from .errors import unreadable, unsupported


class TensorSource:
    def __init__(self, tensors: dict[str, torch.Tensor], what: str):
        self.tensors, self.what = tensors, what  # what: how messages name the source, e.g. "G_ema"
        self.used: set[str] = set()

    def take(self, key: str) -> torch.Tensor:
        """The tensor as float32; ImportRefused("unreadable") if the file lacks it."""
        if key not in self.tensors:
            raise unreadable(f"{self.what} has no {key}; the file is incomplete.")
        self.used.add(key)
        return self.tensors[key].float()

    def refuse_leftovers(self, family: str, ignore: Callable[[str], bool] = lambda k: False, hint: str = "") -> None:
        """ImportRefused("unsupported") naming the tensors nothing took (other than `ignore`d ones)."""
        left = sorted(k for k in self.tensors if k not in self.used and not ignore(k))
        if left:
            raise unsupported(f"{self.what} has tensors our {family} has no place for: {left[:4]}{hint}")
