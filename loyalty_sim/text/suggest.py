"""Did-you-mean for a mistyped name: the closest valid names, in one clause.

Used wherever a name is looked up in a known list: report names, report parameters,
scheme types and scheme fields.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

__all__ = ["closest", "did_you_mean"]


def closest(word: Any, options: Iterable[Any], *, n: int = 2, cutoff: float = 0.6) -> list[str]:
    """The valid names nearest to ``word`` (case ignored), best first; empty when none is close."""
    if not isinstance(word, str) or not word:
        return []
    names = [str(o) for o in options]
    lowered = {n_.lower(): n_ for n_ in names}
    hits = difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=cutoff)
    return [lowered[h] for h in hits]


def did_you_mean(word: Any, options: Iterable[Any]) -> str:
    """``" - did you mean 'points'?"`` (or ``'a' or 'b'``), or ``""`` when no name is close."""
    hits = closest(word, options)
    if not hits:
        return ""
    return " - did you mean " + " or ".join(f"'{h}'" for h in hits) + "?"
