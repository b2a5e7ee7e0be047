"""Per-granule sums over customer positions sorted by granule, with the bits of ``np.bincount``.

The engine and the schemes add up weekly quantities per random-stream granule (see
:mod:`loyalty_sim.streams`). The positions they sum over are sorted, so each granule's
values are one contiguous run. ``np.bincount(g, weights=v)`` adds a granule's values one
after another from 0.0; :func:`sums` does the same additions in the same order, compiled
(numba, no ``fastmath``: nothing is reordered), so the results are the same to the bit. Counts and other
integer quantities are exact whatever the order (:func:`counts`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def bounds(granules: np.ndarray, n_granules: int) -> np.ndarray:
    """Start of each granule's run in the sorted ``granules`` (length ``n_granules + 1``)."""
    return np.searchsorted(granules, np.arange(n_granules + 1))


def sums(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of each run ``values[edges[g]:edges[g + 1]]``, added left to right from 0.0 (as bincount)."""
    values = np.ascontiguousarray(values, dtype=float)
    if values.ndim != 1:
        values = values.ravel()
    return _run_sums(values, np.ascontiguousarray(edges, dtype=np.int64))


def counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of each run of whole numbers (bool, integer, or integer-valued floats below 2**53), as floats.

    Such sums are exact in any order, so they need not follow bincount's.
    """
    values = np.ascontiguousarray(values)
    if values.dtype == bool:
        values = values.view(np.int8)
    return _run_sums(values, np.ascontiguousarray(edges, dtype=np.int64))


@njit(cache=True)
def _run_sums(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each run's running sum from +0.0, one addition after another (compiled, no reordering).

    A running sum from +0.0 is never -0.0, and adding a zero to it changes nothing, so the result is
    bincount's to the bit.
    """
    out = np.empty(edges.size - 1)
    for g in range(edges.size - 1):
        total = 0.0
        for j in range(edges[g], edges[g + 1]):
            total += values[j]
        out[g] = total
    return out
