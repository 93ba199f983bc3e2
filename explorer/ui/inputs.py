"""What a browser or an API client sends, parsed. The controls send numbers in range and names from
a list, but a client can send any JSON value in their place: NaN and ±inf pass Gradio's range check
of a slider, a dropdown that takes custom values passes lists and objects through, and a text box
may hold 100 kB. Each helper returns a clean value or raises gr.Error with a sentence that quotes
the value cut short (a message never echoes a whole request back)."""

from __future__ import annotations

import math

import gradio as gr

from .. import limits
from ..edit.latents import parse_seeds, parse_sources


def shown(value, limit: int = 60) -> str:
    """repr(value), at most `limit` characters."""
    r = repr(value)
    return r if len(r) <= limit else r[:limit - 1] + "…"


def _float(value) -> float:
    """float(value), or NaN when it is no number (booleans are not numbers here)."""
    if isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def number(value, what: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    """A finite number in [lo, hi]."""
    x = _float(value)
    if not (math.isfinite(x) and lo <= x <= hi):
        span = f"a number from {lo:g} to {hi:g}" if math.isfinite(lo) and math.isfinite(hi) else \
            f"a number of at least {lo:g}" if math.isfinite(lo) else \
            f"a number of at most {hi:g}" if math.isfinite(hi) else "a finite number"
        raise gr.Error(f"{what} must be {span}; {_asked(x, hi)} {shown(value)}.")
    return x


def whole(value, what: str, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] (2.0 counts; 2.5, NaN and ±inf do not)."""
    x = value if isinstance(value, int) and not isinstance(value, bool) else _float(value)
    if not (isinstance(x, int) or (math.isfinite(x) and x == int(x))) or not lo <= x <= hi:
        raise gr.Error(f"{what} must be a whole number from {lo} to {hi}; {_asked(x, hi)} {shown(value)}.")
    return int(x)


def within(value, what: str, span: limits.Range) -> float:
    """A finite number in one of limits' control ranges (the slider's own)."""
    return number(value, what, span.lo, span.hi)


def whole_within(value, what: str, span: limits.Range) -> int:
    """A whole number in one of limits' control ranges."""
    return whole(value, what, int(span.lo), int(span.hi))


def _asked(x, hi) -> str:
    return "you asked for" if x > hi else "got"  # NaN compares False: "got"


def text(value, what: str, max_chars: int = limits.TEXT_CHARS) -> str:
    """A string ("" for None) of at most max_chars characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise gr.Error(f"{what} must be text; got {shown(value)}.")
    if len(value) > max_chars:
        raise gr.Error(f"{what} is {len(value)} characters long; at most {max_chars}.")
    return value


def name(value, what: str) -> str | None:
    """A model, run or direction name as sent (None when empty); it is looked up, never used as a path."""
    return text(value, what, limits.NAME_CHARS) or None


def choice(value, what: str, choices) -> str:
    """One of `choices` (a string; lists and objects are refused before any lookup)."""
    if not isinstance(value, str) or value not in choices:
        raise gr.Error(f"{what} must be one of {', '.join(map(str, choices))}; got {shown(value)}.")
    return value


def seeds(value, what: str, max_count: int, repeats: bool = False) -> list[int]:
    """parse_seeds on a text box's value; what names the count for the limit ("images per grid")."""
    value = text(value, "The seed list", limits.SEEDS_TEXT_CHARS)
    try:
        return parse_seeds(value, max_count, what, repeats)
    except ValueError as e:  # parse_seeds says what is wrong with the list
        raise gr.Error(str(e)) from None


def sources(value, what: str, max_count: int, repeats: bool = False) -> list:
    """seeds(), where an entry may also name a projected image ("0, @my-cat, 5")."""
    value = text(value, "The seed list", limits.SEEDS_TEXT_CHARS)
    try:
        return parse_sources(value, max_count, what, repeats)
    except ValueError as e:
        raise gr.Error(str(e)) from None
