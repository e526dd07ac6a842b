"""Wording shared by error messages and reports, so every list of offenders reads alike."""

from __future__ import annotations

from collections.abc import Callable, Iterable

NAMED = 10  # how many offenders a message names before it says "and K more"


def first_and_more(
    items: Iterable[object], total: int | None = None, *, limit: int = NAMED, show: Callable[[object], str] = repr
) -> str:
    """``'a', 'b' and 3 more``: the first ``limit`` of ``items``, then how many were left out.

    Args:
        items: The offenders, or only the first few of them.
        total: How many there were when ``items`` holds only the first few (a
            bounded sample kept while streaming); by default, ``len(items)``.
        limit: How many are named.
        show: How each is written; ``repr`` by default.

    Example:
        >>> first_and_more(["a", "b", "c"], limit=2)
        "'a', 'b' and 1 more"
        >>> first_and_more(["a"], total=40)
        "'a' and 39 more"
    """
    kept = list(items)
    count = len(kept) if total is None else total
    shown = ", ".join(show(item) for item in kept[:limit])
    left = count - min(limit, len(kept))
    return shown + (f" and {left} more" if left > 0 else "")


__all__ = ["NAMED", "first_and_more"]
