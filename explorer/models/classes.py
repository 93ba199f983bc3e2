"""Class-conditional generators (StyleGAN2-ADA's and StyleGAN3's `c_dim > 0`): one place for what a class is.

A conditional family's mapping(z, c) takes c as class indices [N] (int) or one-hot rows [N, c_dim]; c=None
means the classes in turn (row i is class i % c_dim), which is what code that draws samples for statistics
(w_avg, directions, metrics) wants. Code that draws what a person chose calls map_z(G, z, label) with the
class the page picked; an unconditional G takes no label. Names come from the checkpoint's config
(cfg.class_names), else a class is shown as its index."""

from __future__ import annotations

import math

import torch

MAX_CLASSES = 10_000   # ImageNet has 1,000; a c_dim above this is a broken file, not a dataset
MAX_NAME = 64          # characters in one class name


def check_classes(c_dim, names) -> None:
    """A config's c_dim and class_names, as a sentence when they are not a conditional model's."""
    if isinstance(c_dim, bool) or not isinstance(c_dim, int) or not 0 <= c_dim <= MAX_CLASSES:
        raise ValueError(f"c_dim must be a whole number of classes from 0 (unconditional) to {MAX_CLASSES}, "
                         f"got {c_dim!r}")
    if names is None:
        return
    if c_dim == 0 or not isinstance(names, (list, tuple)) or len(names) != c_dim:
        raise ValueError(f"class_names must list one name per class ({c_dim}), got {names!r:.80}")
    for n in names:
        if not isinstance(n, str) or not n.strip() or len(n) > MAX_NAME:
            raise ValueError(f"class name {n!r:.80} must be text of 1 to {MAX_NAME} characters")


def num_classes(G) -> int:
    """How many classes G is conditioned on (0: unconditional)."""
    return int(getattr(G, "c_dim", 0) or 0)


def class_names(G) -> list[str]:
    """Each class's name (its index as text where the checkpoint names none); [] for an unconditional G."""
    n = num_classes(G)
    names = getattr(getattr(G, "cfg", None), "class_names", None)
    return list(names) if names else [str(i) for i in range(n)]


def describe(G, label: int) -> str:
    """"class 3 (cat)" or "class 3" where the classes have no names."""
    names = getattr(getattr(G, "cfg", None), "class_names", None)
    return f"class {label} ({names[label]})" if names else f"class {label}"


def parse_label(G, value) -> int | None:
    """A class as a person or a recipe gives it (an index, or a name) -> its index; None for an unconditional G
    given none. A sentence when it is not one of G's classes."""
    n = num_classes(G)
    if n == 0:
        if value in (None, ""):
            return None
        raise ValueError("This model is not conditional: it has no classes to choose from.")
    if value in (None, ""):
        return 0
    if isinstance(value, str):
        names = class_names(G)
        if value in names:
            return names.index(value)
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"Class {value!r:.40} is not one of this model's classes; pick one from the list "
                             f"(0 to {n - 1}).") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value != int(value):
        raise ValueError(f"Class {value!r:.40} is not a whole number; pick a class from 0 to {n - 1}.")
    if not 0 <= int(value) < n:
        raise ValueError(f"Class {int(value)} is out of range: this model has {n} classes, 0 to {n - 1}.")
    return int(value)


def one_hot(c, c_dim: int, n: int) -> torch.Tensor:
    """c (None, indices [N] or one-hot [N, c_dim]) -> float one-hot rows [n, c_dim]."""
    if c is None:
        return torch.nn.functional.one_hot(torch.arange(n) % c_dim, c_dim).float()
    c = torch.as_tensor(c)
    if c.ndim == 2:
        if tuple(c.shape) != (n, c_dim):
            raise ValueError(f"one-hot classes must be [{n}, {c_dim}], got {tuple(c.shape)}")
        return c.float()
    if c.ndim != 1 or len(c) != n or c.is_floating_point():
        raise ValueError(f"classes must be {n} whole indices, got {tuple(c.shape)} {c.dtype}")
    if len(c) and not (0 <= int(c.min()) and int(c.max()) < c_dim):
        raise ValueError(f"a class is out of range: this model has {c_dim} classes, 0 to {c_dim - 1}")
    return torch.nn.functional.one_hot(c.long().cpu(), c_dim).float()


def check_label(G, label: int | None) -> None:
    """A ValueError sentence unless `label` is one of G's classes (or None)."""
    if label is None:
        return
    if num_classes(G) == 0:
        raise ValueError("This model is not conditional: it has no classes to choose from.")
    parse_label(G, label)


def map_z(G, z: torch.Tensor, label: int | None = None, **kw) -> torch.Tensor:
    """G.mapping(z, **kw), with every row of a conditional G drawn as class `label` (None: the classes in turn)."""
    check_label(G, label)
    if num_classes(G) == 0:
        return G.mapping(z, **kw)
    c = None if label is None else torch.full((len(z),), int(label), dtype=torch.long)
    return G.mapping(z, c, **kw)
