"""What a scheme runtime sees of its block of customers: traits, seeded uniforms, granule sums, referrals.

The engine builds one :class:`BlockContext` per block of customers and hands it to
``scheme.start(ctx)``. Everything a runtime may use is set in the constructor; nothing
is added afterwards.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from ..behaviour import BehaviourParams
from ..granules import bounds as granule_bounds
from ..granules import counts as granule_counts
from ..granules import sums as granule_sums
from ..population import Population, Traits
from ..streams import GRANULE, WeeklyUniforms

if TYPE_CHECKING:
    from ..result import SimulationConfig


class BlockContext:
    """What a scheme runtime sees of its block of customers.

    Attributes
    ----------
    traits : Traits
        Traits of the block's customers.
    start : int
        Index of the block's first customer in the population.
    weeks, launch_week, seed : int
    params : PopulationParams
    behaviour : BehaviourParams
        How customers respond to schemes (given by the engine, the same for every block).
    writes_log : bool
        Whether the engine writes a transaction log: the settlement's per-customer fields that only the
        log reads (``points_earned``, ``points_redeemed``) may be left at 0.0 when it does not.
    stream_key : str
        The role of the scheme that uses this context: ``""`` for the scenario's scheme (and
        the first part of a combination), ``"part<i>"`` for the i-th part (see :meth:`part`).
        It qualifies every purpose of :meth:`uniforms`; a scheme's name never does.

    Parameters
    ----------
    population : Population
    traits : Traits
        Traits of the block's base customers.
    start : int
        Index of the block's first customer in the population.
    config : SimulationConfig
    behaviour : BehaviourParams
    pool : Traits, optional
        Potential referred customers of the block's granules (schemes with ``uses_referral_pool``).
    """

    def __init__(self, population: Population, traits: Traits, start: int, config: SimulationConfig, *,
                 behaviour: BehaviourParams, pool: Traits | None = None):
        if not isinstance(behaviour, BehaviourParams):
            raise TypeError(f"behaviour: expected BehaviourParams, got {type(behaviour).__name__}")
        self.population = population
        self.behaviour = behaviour
        self.stream_key = ""
        self.params = population.params
        self.weeks = config.weeks
        self.launch_week = config.launch_week
        self.seed = config.seed
        self.writes_log = config.output == "log"
        self.start = start
        self.first_granule = start // GRANULE
        n_base = len(traits)
        ng_base = -(-n_base // GRANULE)
        pos = np.arange(n_base)
        granule_of = pos // GRANULE
        slot_of = pos % GRANULE
        #: global granule id of each local granule (keys the random streams)
        self.global_granules = list(range(self.first_granule, self.first_granule + ng_base))
        self.n_base = n_base
        if pool is not None:
            ppos = np.arange(len(pool))
            granule_of = np.concatenate([granule_of, ng_base + ppos // GRANULE])
            slot_of = np.concatenate([slot_of, ppos % GRANULE])
            traits = Traits.concat([traits, pool])
            self.global_granules += [population.n_granules + g for g in self.global_granules]
        self.traits = traits
        self.n = len(traits)
        self.n_granules = len(self.global_granules)
        self.granule_of = granule_of.astype(np.int32)
        self.slot_of = slot_of.astype(np.int64)
        self._flat = self.granule_of.astype(np.int64) * GRANULE + self.slot_of
        self._streams: dict[str, list[WeeklyUniforms]] = {}
        self._pending: dict[int, list[np.ndarray]] = {}
        self._pool_next = np.zeros(self.n_granules, dtype=np.int64)  # next free pool slot per base granule
        self._sum_idx: np.ndarray | None = None
        self._sum_granules: np.ndarray | None = None
        self._sum_edges: np.ndarray | None = None
        self._all_edges = granule_bounds(self.granule_of, self.n_granules)  # granule runs of the whole block

    def resumed(self, behaviour: BehaviourParams) -> "BlockContext":
        """The block's context for a run that goes on from here with ``behaviour`` (fresh caches).

        Only a block without a referral pool is resumed (its traits are never changed by a run).
        """
        if self.has_pool:
            raise RuntimeError("a block with a referral pool cannot be resumed")
        out = copy.copy(self)
        out.behaviour = behaviour
        out._streams = {}
        out._pending = {}
        out._pool_next = np.zeros(self.n_granules, dtype=np.int64)
        out._sum_idx = out._sum_granules = out._sum_edges = None
        return out

    def part(self, position: int) -> "BlockContext":
        """The context of the part at ``position`` of a combination run in this context.

        The same block (traits, referral pool, stream cache); only :attr:`stream_key` differs, so
        the parts draw independent numbers. The first part keeps this context's key: it draws what
        the same scheme would on its own (a combination is paired with its first part).
        """
        if position == 0:
            return self
        sub = copy.copy(self)
        sub.stream_key = f"{self.stream_key}/part{position}" if self.stream_key else f"part{position}"
        return sub

    def uniforms(self, purpose: str, week: int) -> np.ndarray:
        """Seeded uniforms for every customer of the block in ``week`` (common to all scenarios).

        ``purpose`` says what the draw is for (``"enrol"``, ``"redeem"``...); the stream is keyed by
        it and :attr:`stream_key`, so schemes with the same rule draw the same numbers whatever
        they are called.
        """
        if self.stream_key:
            purpose = f"{purpose}@{self.stream_key}"
        gens = self._streams.get(purpose)
        if gens is None:
            gens = [WeeklyUniforms(self.seed, purpose, g) for g in self.global_granules]
            self._streams[purpose] = gens
        out = np.empty(self.n_granules * GRANULE)
        for g, gen in enumerate(gens):
            gen.get(week, out=out[g * GRANULE:(g + 1) * GRANULE].reshape(1, GRANULE))
        return out[self._flat]

    def granule_sum(self, idx: np.ndarray, values: np.ndarray | float) -> np.ndarray:
        """Sum ``values`` (aligned with positions ``idx``, sorted) per granule of the block.

        The same bits as ``np.bincount(granule_of[idx], weights=values)`` (see :mod:`loyalty_sim.granules`).
        """
        # schemes sum several quantities over the same positions in a row: find their granule runs once
        if idx is not self._sum_idx:
            self.prime_granule_sums(idx, self.granule_of[idx])
        if np.isscalar(values):
            return np.diff(self._sum_edges) * float(values)
        return granule_sums(values, self._sum_edges)

    def granule_count(self, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per-granule sum of whole numbers ``values`` (bool or integer, aligned with sorted ``idx``), exact."""
        if idx is not self._sum_idx:
            self.prime_granule_sums(idx, self.granule_of[idx])
        return granule_counts(values, self._sum_edges)

    def block_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-granule sum of ``values`` over every customer of the block (bincount's bits)."""
        return granule_sums(values, self._all_edges)

    def block_count(self, values: np.ndarray) -> np.ndarray:
        """Per-granule sum of whole numbers ``values`` over every customer of the block, exact."""
        return granule_counts(values, self._all_edges)

    def prime_granule_sums(self, idx: np.ndarray, granules: np.ndarray, edges: np.ndarray | None = None) -> None:
        """Remember the granules (and their runs) of positions ``idx`` for the next :meth:`granule_sum` calls."""
        self._sum_idx, self._sum_granules = idx, granules
        self._sum_edges = granule_bounds(granules, self.n_granules) if edges is None else edges

    @property
    def has_pool(self) -> bool:
        """Whether the block carries a pool of potential referred customers."""
        return self.n > self.n_base

    def refer(self, referrers: np.ndarray, counts: np.ndarray, week: int) -> tuple[np.ndarray, np.ndarray]:
        """Bring in referred customers from the pool; they arrive at the start of ``week + 1``.

        Parameters
        ----------
        referrers : positions of the referring customers (base customers)
        counts : referrals each brings

        Returns
        -------
        new_positions, lost : positions of the referred customers, and how many referrals
            found the referrer's pool granule full (per granule of the block)
        """
        if not self.has_pool:
            raise RuntimeError("this block has no referral pool; the scheme must set uses_referral_pool")
        ng_base = len(self.global_granules) // 2
        lost = np.zeros(self.n_granules)
        new: list[np.ndarray] = []
        g_ref = self.granule_of[referrers]
        want = np.bincount(g_ref, weights=counts, minlength=self.n_granules).astype(np.int64)
        for g in np.flatnonzero(want):
            free = GRANULE - self._pool_next[g]
            take = min(int(want[g]), int(free))
            lost[g] = want[g] - take
            if take:
                first = self.n_base + g * GRANULE + self._pool_next[g]
                stop = min(first + take, self.n)
                new.append(np.arange(first, stop))
                lost[g] += take - (stop - first)
                self._pool_next[g] += take
        pos = np.concatenate(new) if new else np.zeros(0, dtype=np.int64)
        if pos.size and week + 1 < self.weeks:
            self.traits.acquisition_week[pos] = week + 1
            self._pending.setdefault(week + 1, []).append(pos)
        _ = ng_base
        return pos, lost

    def pop_arrivals(self, week: int) -> np.ndarray:
        """Referred customers arriving at the start of ``week``."""
        got = self._pending.pop(week, None)
        return np.concatenate(got) if got else np.zeros(0, dtype=np.int64)
