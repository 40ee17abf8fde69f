"""argparse types that turn a bad option into a one-line usage error."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import timedelta

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def duration(text: str) -> timedelta:
    """``90d``, ``12h`` or ``2w``."""
    found = _DURATION.match(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"expected a duration like 90d, 12h or 2w, got {text!r}")
    return float(found.group(1)) * _UNITS[found.group(2)]


def ks(text: str) -> list[int]:
    """``10`` or ``5,10,20``."""
    try:
        values = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"expected k values like 10 or 5,10,20, got {text!r}"
        ) from exc
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"k values must be positive, got {text!r}")
    return values


def number(
    kind: type[int] | type[float], low: float, high: float | None = None, *, open_low: bool = False
) -> Callable[[str], float]:
    """A number of ``kind`` in [low, high) (or (low, high) with ``open_low``)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"expected a {kind.__name__}, got {text!r}") from exc
        too_low = value <= low if open_low else value < low
        if too_low or (high is not None and value >= high):
            bounds = f"{'(' if open_low else '['}{low}, {high if high is not None else '∞'})"
            raise argparse.ArgumentTypeError(f"{text} is outside {bounds}")
        return value

    return parse


def names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    """A comma-separated list, each item one of ``allowed``."""

    def parse(text: str) -> list[str]:
        items = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [item for item in items if item not in allowed]
        if not items or unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(allowed)}"
            )
        return items

    return parse
