"""Per-granule sums over customer positions sorted by granule, with the bits of ``np.bincount``.

The engine and the schemes add up weekly quantities per random-stream granule (see
:mod:`loyalty_sim.streams`). The positions they sum over are sorted, so each granule's
values are one contiguous run. ``np.bincount(g, weights=v)`` adds a granule's values one
after another from 0.0; :func:`sums` does the same additions in the same order (a running
sum of each run, skipping zeros, which change no running sum that starts from +0.0), only
faster, so the results are the same to the bit. Counts and other
integer quantities are exact whatever the order (:func:`counts`).
"""

from __future__ import annotations

import numpy as np


def bounds(granules: np.ndarray, n_granules: int) -> np.ndarray:
    """Start of each granule's run in the sorted ``granules`` (length ``n_granules + 1``)."""
    return np.searchsorted(granules, np.arange(n_granules + 1))


def sums(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of each run ``values[edges[g]:edges[g + 1]]``, added left to right from 0.0 (as bincount)."""
    ng = edges.size - 1
    out = np.zeros(ng)
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return out
    nz = np.flatnonzero(values != 0)
    if nz.size < 0.5 * values.size:
        # adding a zero to a running sum that starts from +0.0 changes nothing: sum the non-zero values
        # only (rewards and discounts are mostly zero)
        if nz.size < 0.1 * values.size:
            # few of them: bincount itself over their granules, cheaper than a pass per granule
            run = np.searchsorted(edges, nz, side="right") - 1
            return np.bincount(run, weights=values[nz], minlength=ng) + 0.0
        edges = np.searchsorted(nz, edges)
        values = values[nz]
    buf = np.empty(values.size)
    for g in range(ng):
        lo, hi = edges[g], edges[g + 1]
        if hi > lo:
            out[g] = np.cumsum(values[lo:hi], out=buf[: hi - lo])[-1]
    # a run starting with -0.0 gives -0.0 where bincount (which starts from +0.0) gives +0.0
    out += 0.0
    return out


def counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Sum of each run of whole numbers (bool, integer, or integer-valued floats below 2**53), as floats.

    Such sums are exact in any order, so they need not follow bincount's.
    """
    ng = edges.size - 1
    out = np.zeros(ng)
    values = np.asarray(values)
    if values.dtype == bool:
        values = values.view(np.int8)
    full = np.flatnonzero(edges[1:] > edges[:-1])
    if full.size:
        # runs of empty granules hold no values, so each sum runs to the next non-empty run's start
        acc = np.int64 if values.dtype.kind in "iu" else None
        out[full] = np.add.reduceat(values, edges[:-1][full], dtype=acc)
    return out
