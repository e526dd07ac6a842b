"""Wording shared by error messages and reports, so every list of offenders reads alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable

NAMED = 10  # how many offenders a message names before it says "and K more"


def first_and_more(
    items: Iterable[object], total: int | None = None, *, limit: int = NAMED, show: Callable[[object], str] = repr
) -> str:
    """``'a', 'b' and 3 more``: the first ``limit`` of ``items``, then how many were left out.

    ``total`` is how many there were when ``items`` holds only the first few
    (a bounded sample kept while streaming); by default, ``len(items)``.
    """
    kept = list(items)
    count = len(kept) if total is None else total
    shown = ", ".join(show(item) for item in kept[:limit])
    left = count - min(limit, len(kept))
    return shown + (f" and {left} more" if left > 0 else "")


__all__ = ["NAMED", "first_and_more"]
