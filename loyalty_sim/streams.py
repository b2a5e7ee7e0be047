"""Seeded, random-access random streams (no global state).

Customers are cut into fixed *granules* of :data:`GRANULE` customers. Every random
number the engine uses is drawn from a PCG64 stream keyed by
``SeedSequence(seed, spawn_key=(purpose, granule))`` at a position that depends only
on the week and the customer's slot in the granule. Hence:

* the same seed gives the same numbers whatever the block size, the number of
  workers or the order in which blocks are processed;
* a baseline and a scheme run on the same seed use the *same* uniforms for the
  same customer-week (common random numbers), so their difference is not noise.
"""

from __future__ import annotations

import zlib

import numpy as np

#: Customers per random-stream granule. Block sizes are multiples of it.
GRANULE = 4096

_PURPOSE_IDS: dict[str, int] = {}


def purpose_id(purpose: str | int) -> int:
    """Stable 32-bit id of a named stream purpose (``"traits"``, ``"count"``, ...)."""
    if isinstance(purpose, (int, np.integer)):
        return int(purpose)
    pid = _PURPOSE_IDS.get(purpose)
    if pid is None:
        pid = zlib.crc32(purpose.encode("utf-8"))
        _PURPOSE_IDS[purpose] = pid
    return pid


def stream(seed: int, purpose: str | int, granule: int, *extra: int) -> np.random.PCG64:
    """A PCG64 bit generator keyed by ``(seed, purpose, granule, *extra)``."""
    return np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=(purpose_id(purpose), int(granule), *extra)))


class WeeklyUniforms:
    """Random-access uniforms: ``get(week)`` returns the granule's draws for that week.

    Each week owns ``width * GRANULE`` consecutive doubles of one PCG64 stream, so
    week ``w`` can be produced directly (the stream is advanced, never replayed).

    Parameters
    ----------
    seed : int
    purpose : str
        Stream name; different purposes are independent.
    granule : int
        Granule index.
    width : int
        Uniforms per customer per week.
    """

    __slots__ = ("_bitgen", "_gen", "_pos", "_width")

    def __init__(self, seed: int, purpose: str, granule: int, width: int = 1):
        self._bitgen = stream(seed, purpose, granule)
        self._gen = np.random.Generator(self._bitgen)
        self._pos = 0
        self._width = int(width)

    def get(self, week: int, out: np.ndarray | None = None) -> np.ndarray:
        """Uniforms on [0, 1) of shape ``(width, GRANULE)`` for ``week``."""
        start = week * self._width * GRANULE
        if start < self._pos:  # going back: rebuild the stream from its start
            self._bitgen = np.random.PCG64(self._bitgen.seed_seq)
            self._gen = np.random.Generator(self._bitgen)
            self._pos = 0
        if start > self._pos:
            self._bitgen.advance(start - self._pos)
        if out is None:
            out = np.empty((self._width, GRANULE))
        self._gen.random(out=out)
        self._pos = start + self._width * GRANULE
        return out


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, a seed or None) into a Generator, never touching global state."""
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)
